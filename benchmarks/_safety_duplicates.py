"""Safety benchmark, duplicate photos: Myntra photos against their own edited copies.

Data: ``images/myntra_fashion_44k.parquet`` (60x80 product photos)::

    python benchmarks/_safety_duplicates.py --data ../shared/data

A seeded sample of ``catalog_size`` photos, after dropping photos whose decoded pixels equal
an earlier one's (the count is printed), is the catalog. ``copies`` of them, seeded, are
edited (a quarter each: JPEG re-encoded at quality 50-75; resized 0.5-1.5x; each border
cropped by 5-10%; mirrored) and saved as JPEG (the re-encoded ones at their low quality, the
others at quality 90, as a photo editor saves), then added to the catalog as new listings.
Queries: the copies, and as many catalog photos that were not copied (untouched). A flagged
pair is a pair the method reports; it is right when it joins a copy and its original.

- ``recall``: share of copies whose original is flagged (per edit: ``recall_<edit>``);
- ``precision``: share of flagged pairs that are right;
- ``look_alike_pairs``: wrong pairs whose two photos differ less than the most changed JPEG
  re-save differs from its original (different products photographed identically, such as
  shades of one lipstick; an eye cannot tell them apart at 60x80 either);
- ``ms_per_listing``: one listing checked at a time against the catalog (furima only).

furima: :class:`furima.safety.DuplicateFinder` at its defaults, given the catalog's photos
and their :class:`~furima.features.PhotoEncoder` vectors (what the safety checker gives it).
Baseline, in the same run: ``imagehash.phash`` alone, pairs within Hamming distance 8 (no
mirror images, no vectors, no pixel check). ``seconds``: furima's fit and search (photo
fingerprints included, vector encoding not: ``encode_seconds``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA_FILE = Path("images") / "myntra_fashion_44k.parquet"
EDITS = ("reencode", "resize", "crop", "mirror")
BASELINE_RADIUS = 8
EDITOR_QUALITY = 90


def log(message: str) -> None:
    print(f"[duplicates {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Case:
    """The catalog (originals then copies), the queries and the truth."""

    ids: list[str]
    photos: list[bytes]
    copy_of: dict[str, str]  # copy id -> original id
    edit: dict[str, str]  # copy id -> edit
    untouched: list[str]  # catalog ids queried that were not copied
    removed: int  # exact pixel duplicates dropped from the sample


def duplicate_photo_cases(
    data_dir: Path, seed: int = 0, catalog_size: int = 5000, copies: int = 500
) -> list[dict[str, Any]]:
    """The ``duplicate_photos`` JSON lines (see the module docstring)."""
    case = build_case(data_dir, seed, catalog_size, copies)
    log(f"catalog {len(case.ids)} photos; {case.removed} exact pixel duplicates dropped")
    started = time.perf_counter()
    vectors = _photo_vectors(case.photos)
    encode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    finder = fitted_finder(case, vectors)
    flagged = furima_pairs(case, vectors, finder)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    baseline = baseline_pairs(case)
    baseline_seconds = time.perf_counter() - started
    ours, theirs = score(case, flagged), score(case, baseline)
    limit = look_alike_limit(case)
    ours["look_alike_pairs"] = float(look_alikes(case, flagged, limit))
    theirs["look_alike_pairs"] = float(look_alikes(case, baseline, limit))
    ours["ms_per_listing"] = round(single_listing_ms(case, vectors, finder), 2)
    common = {
        "benchmark": "safety",
        "task": "duplicate_photos",
        "data": str(DATA_FILE),
        "rows": len(case.ids),
        "seconds": round(seconds, 1),
        "encode_seconds": round(encode_seconds, 1),
        "baseline_seconds": round(baseline_seconds, 1),
        "seed": seed,
        "removed_duplicates": case.removed,
    }
    return [
        {**common, "metric": metric, "furima": ours[metric], "baseline": theirs.get(metric)}
        for metric in ours
    ]


def build_case(data_dir: Path, seed: int, catalog_size: int, copies: int) -> Case:
    """Sample, drop exact pixel duplicates, and add the edited copies (see the docstring)."""
    import pandas as pd

    file = data_dir / DATA_FILE
    if not file.is_file():
        raise SystemExit(f"{file} not found: pass --data pointing at the shared data folder.")
    table = pd.read_parquet(file, columns=["id", "jpeg"])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(table))[: int(catalog_size * 1.05) + 100]
    ids, photos, removed = _unique_photos(table.iloc[np.sort(order)], catalog_size)
    chosen = rng.choice(len(ids), copies * 2, replace=False)
    originals, untouched = chosen[:copies], chosen[copies:]
    copy_ids, copy_photos, copy_of, edit = [], [], {}, {}
    for i, row in enumerate(originals):
        kind = EDITS[i % len(EDITS)]
        copy_id = f"copy-{i}"
        copy_ids.append(copy_id)
        copy_photos.append(edited(photos[row], kind, rng))
        copy_of[copy_id], edit[copy_id] = ids[row], kind
    return Case(
        ids + copy_ids, photos + copy_photos, copy_of, edit, [ids[i] for i in untouched], removed
    )


def _unique_photos(table: Any, size: int) -> tuple[list[str], list[bytes], int]:
    """The first ``size`` photos whose decoded pixels differ from every earlier one's."""
    from PIL import Image

    seen: set[str] = set()
    ids: list[str] = []
    photos: list[bytes] = []
    removed = 0
    for listing, photo in zip(table["id"], table["jpeg"], strict=True):
        pixels = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
        digest = hashlib.sha256(pixels.tobytes() + str(pixels.shape).encode()).hexdigest()
        if digest in seen:
            removed += 1
            continue
        seen.add(digest)
        ids.append(str(listing))
        photos.append(bytes(photo))
        if len(ids) == size:
            break
    return ids, photos, removed


def edited(photo: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One edited copy of ``photo``, saved as JPEG."""
    from PIL import Image, ImageOps

    picture = Image.open(io.BytesIO(photo)).convert("RGB")
    quality = EDITOR_QUALITY
    if kind == "reencode":
        quality = int(rng.integers(50, 76))
    elif kind == "resize":
        scale = rng.uniform(0.5, 1.5)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.BICUBIC)
    elif kind == "crop":
        left, top, right, bottom = rng.uniform(0.05, 0.10, 4)
        width, height = picture.size
        box = (
            round(width * left),
            round(height * top),
            width - round(width * right),
            height - round(height * bottom),
        )
        picture = picture.crop(box)
    else:
        picture = ImageOps.mirror(picture)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _photo_vectors(photos: list[bytes]) -> np.ndarray:
    from furima.features import PhotoEncoder

    return PhotoEncoder().encode(photos)


def fitted_finder(case: Case, vectors: np.ndarray | None, **params: Any) -> Any:
    """The duplicate finder fitted on the whole catalog (originals and copies)."""
    from furima.safety._duplicates import DuplicateFinder

    return DuplicateFinder(**params).fit(case.ids, [None] * len(case.ids), case.photos, vectors)


def furima_pairs(case: Case, vectors: np.ndarray | None, finder: Any) -> set[tuple[str, str]]:
    """Pairs (query id, catalog id) the duplicate finder flags for the queries."""
    rows = _query_rows(case)
    found = finder.pairs(
        [case.ids[row] for row in rows],
        [None] * len(rows),
        [case.photos[row] for row in rows],
        None if vectors is None else vectors[rows],
    )
    return set(zip(found["left_id"], found["right_id"], strict=True))


def single_listing_ms(
    case: Case, vectors: np.ndarray | None, finder: Any, listings: int = 100
) -> float:
    """Mean ms of one ``find`` call for one listing (photo decoding included)."""
    rows = _query_rows(case)[:listings]
    started = time.perf_counter()
    for row in rows:
        finder.find(
            [case.ids[row]],
            [None],
            [case.photos[row]],
            None if vectors is None else vectors[row : row + 1],
        )
    return (time.perf_counter() - started) / len(rows) * 1000


def look_alike_limit(case: Case) -> float:
    """The largest thumbnail difference between a JPEG re-encoded copy and its original:
    two different photos closer than that look more alike than a photo and its re-save."""
    pairs = [(copy, original) for copy, original in case.copy_of.items()]
    pairs = [pair for pair in pairs if case.edit[pair[0]] == "reencode"]
    return float(_differences(case, pairs).max())


def look_alikes(case: Case, flagged: set[tuple[str, str]], limit: float) -> int:
    """Wrong flagged pairs whose photos are closer than ``limit`` (see look_alike_limit)."""
    wrong = [(left, right) for left, right in flagged if case.copy_of.get(left) != right]
    return int((_differences(case, wrong) <= limit).sum()) if wrong else 0


def _differences(case: Case, pairs: list[tuple[str, str]]) -> np.ndarray:
    from furima.safety._photo_alignment import thumbnail_distance
    from furima.safety._photo_hashes import photo_prints

    position = {listing: row for row, listing in enumerate(case.ids)}
    left = photo_prints([case.photos[position[a]] for a, _ in pairs], [a for a, _ in pairs])
    right = photo_prints([case.photos[position[b]] for _, b in pairs], [b for _, b in pairs])
    difference, _ = thumbnail_distance(left.thumbnails, right.thumbnails)
    return difference


def baseline_pairs(case: Case) -> set[tuple[str, str]]:
    """Pairs within ``BASELINE_RADIUS`` bits of ``imagehash.phash`` (no mirror images)."""
    import imagehash
    from PIL import Image

    hashes = np.array(
        [
            int(str(imagehash.phash(Image.open(io.BytesIO(photo)).convert("RGB"))), 16)
            for photo in case.photos
        ],
        dtype=np.uint64,
    )
    pairs: set[tuple[str, str]] = set()
    for row in _query_rows(case):
        near = np.flatnonzero(np.bitwise_count(hashes ^ hashes[row]) <= BASELINE_RADIUS)
        pairs.update((case.ids[row], case.ids[other]) for other in near if other != row)
    return pairs


def _query_rows(case: Case) -> list[int]:
    position = {listing: row for row, listing in enumerate(case.ids)}
    return [position[listing] for listing in [*case.copy_of, *case.untouched]]


def score(case: Case, flagged: set[tuple[str, str]]) -> dict[str, float]:
    """Recall (overall and per edit) and precision of flagged pairs."""
    found = {copy for copy, original in case.copy_of.items() if (copy, original) in flagged}
    right = sum(case.copy_of.get(left) == right for left, right in flagged)
    metrics = {
        "recall": len(found) / len(case.copy_of),
        "precision": right / len(flagged) if flagged else 1.0,
        "flagged_pairs": float(len(flagged)),
        "wrong_pairs": float(len(flagged) - right),
    }
    for kind in EDITS:
        copies = [copy for copy, edit in case.edit.items() if edit == kind]
        metrics[f"recall_{kind}"] = sum(copy in found for copy in copies) / len(copies)
    return {name: round(value, 4) for name, value in metrics.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--catalog-size", type=int, default=5000)
    parser.add_argument("--copies", type=int, default=500)
    args = parser.parse_args(argv)
    for line in duplicate_photo_cases(args.data, args.seed, args.catalog_size, args.copies):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
