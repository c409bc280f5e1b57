"""AI listing benchmark: suggestions from a photo (and a title) on the Myntra 44k catalog.

20% of the items (seed 0) are held out as new listings; the assistant learns from the rest::

    python benchmarks/listing.py --data ../shared/data

One JSON line per field and metric, ``{"benchmark": "listing", "field", "metric", "furima",
"baseline", ...}``:

- top-1 / top-3 accuracy per field from the photo alone, and from photo + title. Baseline:
  logistic regression on the raw EfficientNet-Lite0 photo features, fitted in the same run.
- expected calibration error per field (photo alone), before and after temperature scaling,
  on the classifier's held-out calibration rows, and on the new listings (with the
  accuracy-against-coverage curve).
- accuracy against coverage as the confidence threshold moves (photo alone).
- fields filled at the default thresholds, and the share of them that are right.
- title token F1 against the real title (photo alone). Baseline: the title of the nearest
  catalog photo in raw feature space.
- suggestion latency p50 / p99, photo decoding included (single requests, one after another).
- photos unlike the catalog: the share of held-out catalog photos the assistant wrongly calls
  unfamiliar (it then fills nothing), and what it does with photos of other things
  (``benchmarks/_other_photos.py``: real photographs, white-background drawings, noise).

Each field is judged on the held-out items whose value the catalog knows (``judged``): brands
are read off titles (:func:`furima.datasets.with_brand`), and about 2% of titles name none.

``--photo-pooling average|multiscale``: how the assistant pools the stock photo network
(default ``auto``, the assistant's own choice: multiscale for a catalog this size);
``--photo-backbone DIR``: it encodes photos with a backbone tuned on the training split
(``benchmarks/tune_photo_backbone.py``), joined to the stock multiscale features unless
``--photo-pooling average``; ``--photo-mirror``: each photo's features are averaged with its
mirror image's. The baselines keep the raw ImageNet features (average pooled).
Encoder outputs are cached under ``--cache`` (see ``benchmarks/_myntra_photos.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _myntra_photos import (
    DATA_FILE,
    colour_features,
    held_out_split,
    photo_features,
    read_catalog,
    title_features,
)
from _other_photos import other_photos

from furima.datasets import with_brand
from furima.listing import (
    ListingAssistant,
    ListingFeatures,
    ListingFields,
    ListingSuggestion,
    expected_calibration_error,
    token_f1,
)

THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
BASELINE_FIELDS = ("article_type", "sub_category", "base_colour", "gender")
LATENCY_REQUESTS = 300


def main() -> None:
    args = _arguments()
    from furima.features._photo import cache_dir

    cache = args.cache or cache_dir() / "benchmarks"
    table, digest = read_catalog(args.data)
    table = with_brand(table)
    raw_photos = photo_features(table, digest, cache)
    assistant = ListingAssistant(
        seed=args.seed,
        photo_backbone=args.photo_backbone,
        photo_pooling=args.photo_pooling,
        photo_mirror=args.photo_mirror,
    )
    queries, catalog = held_out_split(len(table), args.seed)
    features = ListingFeatures(
        photos=photo_features(
            table,
            digest,
            cache,
            args.photo_backbone,
            assistant.pooling_for(len(catalog)),
            args.photo_mirror,
        ),
        colours=colour_features(table, digest, cache),
        titles=title_features(table, digest, cache),
        has_photo=np.ones(len(table), dtype=bool),
        has_text=np.ones(len(table), dtype=bool),
    )
    fields = ListingFields.myntra_photos()
    started = time.perf_counter()
    assistant.fit(
        table.iloc[catalog], fields=fields, features=_rows(features, catalog), progress=True
    )
    fit_s = time.perf_counter() - started
    base = {
        "benchmark": "listing",
        "data": str(DATA_FILE),
        "data_sha256": digest[:16],
        "rows": len(table),
        "queries": len(queries),
        "seed": args.seed,
        "photo_backbone": assistant.encoders.photo.name,
    }
    _emit(base, "all", "fit_seconds", furima=round(fit_s, 1))
    truth = table.iloc[queries].reset_index(drop=True)
    photo_only = assistant.suggest_batch(features=_photo_only(_rows(features, queries)))
    with_title = assistant.suggest_batch(
        texts=truth["title"].tolist(), features=_rows(features, queries)
    )
    baselines = _baselines(raw_photos, table, catalog, queries, base)
    _accuracy(base, fields, truth, photo_only, with_title, baselines)
    _calibration(base, assistant, fields)
    _coverage(base, fields, truth, photo_only)
    _titles(base, truth, photo_only, baselines["nearest_titles"])
    _latency(base, assistant, truth)
    _unfamiliar(base, assistant, features.photos[queries])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="encoder output cache folder")
    parser.add_argument(
        "--photo-backbone", type=Path, default=None, help="tuned photo backbone folder"
    )
    parser.add_argument(
        "--photo-pooling",
        choices=("auto", "average", "multiscale"),
        default="auto",
        help="how the assistant pools the photo network (multiscale: stock weights only)",
    )
    parser.add_argument(
        "--photo-mirror",
        action="store_true",
        help="average each photo's features with its mirror image's (twice the encoding)",
    )
    return parser.parse_args()


def _rows(features: ListingFeatures, rows: np.ndarray) -> ListingFeatures:
    return ListingFeatures(
        features.photos[rows],
        features.colours[rows],
        features.titles[rows],
        features.has_photo[rows],
        features.has_text[rows],
    )


def _photo_only(features: ListingFeatures) -> ListingFeatures:
    return ListingFeatures(
        features.photos,
        features.colours,
        np.zeros_like(features.titles),
        features.has_photo,
        np.zeros(len(features), dtype=bool),
    )


def _baselines(
    photos: np.ndarray,
    table: pd.DataFrame,
    catalog: np.ndarray,
    queries: np.ndarray,
    base: dict[str, Any],
) -> dict[str, Any]:
    """Logistic regression per field on raw photo features; nearest raw photo's title."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(photos[catalog])
    train, test = scaler.transform(photos[catalog]), scaler.transform(photos[queries])
    result: dict[str, Any] = {}
    for name in BASELINE_FIELDS:
        started = time.perf_counter()
        labels = table[name].fillna("?").astype(str).to_numpy()
        model = LogisticRegression(C=0.05, max_iter=1000).fit(train, labels[catalog])
        probabilities = model.predict_proba(test)
        top3 = model.classes_[np.argsort(-probabilities, axis=1)[:, :3]]
        result[name] = top3
        _emit(base, name, "baseline_fit_seconds", baseline=round(time.perf_counter() - started, 1))
    similarity = photos[queries] @ photos[catalog].T
    nearest = catalog[similarity.argmax(axis=1)]
    result["nearest_titles"] = table["title"].to_numpy()[nearest]
    return result


def _accuracy(
    base: dict[str, Any],
    fields: ListingFields,
    truth: pd.DataFrame,
    photo_only: list[ListingSuggestion],
    with_title: list[ListingSuggestion],
    baselines: dict[str, Any],
) -> None:
    for name in fields.suggested:
        judged, real = _known_truth(truth, name)
        for mode, answers in (("photo", photo_only), ("photo+title", with_title)):
            top = [[c.value for c in answers[i].field(name).top] for i in judged]
            for k in (1, 3):
                hits = np.mean([real[j] in top[j][:k] for j in range(len(real))])
                extra: dict[str, Any] = {"judged": len(judged)}
                if mode == "photo" and name in baselines:
                    guess = baselines[name][judged]
                    extra["baseline"] = round(
                        float(np.mean([real[j] in guess[j, :k] for j in range(len(real))])), 4
                    )
                    extra["baseline_name"] = "logistic regression on raw efficientnet-lite0"
                _emit(
                    base,
                    name,
                    f"top{k}_accuracy",
                    input=mode,
                    furima=round(float(hits), 4),
                    **extra,
                )


def _calibration(base: dict[str, Any], assistant: ListingAssistant, fields: ListingFields) -> None:
    for name in fields.suggested:
        held = assistant.classifier_.calibration_[name].get("photo")
        if held is None:
            continue
        _emit(
            base,
            name,
            "expected_calibration_error",
            input="photo",
            furima=round(held["ece"], 4),
            uncalibrated=round(held["ece_before"], 4),
            rows=held["rows"],
            split="classifier's held-out calibration rows",
        )


def _coverage(
    base: dict[str, Any],
    fields: ListingFields,
    truth: pd.DataFrame,
    answers: list[ListingSuggestion],
) -> None:
    filled_right: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in fields.suggested:
        judged, real = _known_truth(truth, name)
        fields_of = [answers[i].field(name) for i in judged]
        confidence = np.array([f.confidence for f in fields_of])
        correct = np.array([f.top[0].value == real[j] for j, f in enumerate(fields_of)])
        _emit(
            base, name, "accuracy_vs_coverage", input="photo", furima=_curve(confidence, correct),
            expected_calibration_error=round(expected_calibration_error(confidence, correct), 4),
        )  # fmt: skip
        filled = np.array([f.filled for f in fields_of])
        right = filled & np.array([f.value == real[j] for j, f in enumerate(fields_of)])
        filled_right[name] = filled, right
        _emit(
            base, name, "default_threshold", input="photo", judged=len(judged),
            **_fill_rate(filled, right),
        )  # fmt: skip
    groups = {
        "all": list(fields.suggested),
        "all_but_brand": [name for name in fields.suggested if name != fields.brand],
    }
    for group, names in groups.items():
        filled = np.concatenate([filled_right[name][0] for name in names])
        right = np.concatenate([filled_right[name][1] for name in names])
        _emit(
            base, group, "default_threshold", input="photo", fields=names,
            target={"filled": 0.8, "precision": 0.95}, **_fill_rate(filled, right),
        )  # fmt: skip


def _curve(confidence: np.ndarray, correct: np.ndarray) -> list[dict[str, Any]]:
    """Coverage and accuracy of the top candidate as the confidence threshold moves."""
    curve = []
    for threshold in THRESHOLDS:
        kept = confidence >= threshold
        accuracy = round(float(correct[kept].mean()), 4) if kept.any() else None
        coverage = round(float(kept.mean()), 4)
        curve.append({"threshold": threshold, "coverage": coverage, "accuracy": accuracy})
    return curve


def _known_truth(truth: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Queries whose ``name`` is known, and those values: a field whose true value the
    catalog lacks (a title without a recognisable brand) can be judged neither filled nor
    right, so it is left out of that field's figures."""
    values = truth[name].astype("string")
    judged = np.flatnonzero(values.notna().to_numpy())
    return judged, values.to_numpy()[judged]


def _fill_rate(filled: np.ndarray, right: np.ndarray) -> dict[str, float | int]:
    """Shares filled and right among filled, rounded, and the counts (a share rounded to 0.95
    may still fall short of it)."""
    precision = right.sum() / max(filled.sum(), 1)
    return {
        "filled": round(float(filled.mean()), 4),
        "precision": round(float(precision), 4),
        "fields_filled": int(filled.sum()),
        "fields_right": int(right.sum()),
        "fields_judged": len(filled),
    }


def _titles(
    base: dict[str, Any],
    truth: pd.DataFrame,
    answers: list[ListingSuggestion],
    nearest_titles: np.ndarray,
) -> None:
    real = truth["title"].tolist()
    titles = [a.title.value if a.title else "" for a in answers]
    ours = [token_f1(title, t) for title, t in zip(titles, real, strict=True)]
    theirs = [token_f1(n, t) for n, t in zip(nearest_titles, real, strict=True)]
    _emit(
        base,
        "title",
        "token_f1",
        input="photo",
        furima=round(float(np.mean(ours)), 4),
        baseline=round(float(np.mean(theirs)), 4),
        baseline_name="title of the nearest catalog photo (raw features)",
        examples=[{"real": real[i], "furima": titles[i]} for i in range(3)],
    )


def _latency(base: dict[str, Any], assistant: ListingAssistant, truth: pd.DataFrame) -> None:
    photos = truth["jpeg"].tolist()[:LATENCY_REQUESTS]
    for photo in photos[:5]:
        assistant.suggest(photo=photo)  # warm up the encoders
    times = []
    for photo in photos:
        started = time.perf_counter()
        assistant.suggest(photo=photo)
        times.append((time.perf_counter() - started) * 1000)
    _emit(
        base,
        "all",
        "suggest_latency_ms",
        input="photo bytes (60x80 JPEG)",
        p50=round(float(np.percentile(times, 50)), 1),
        p99=round(float(np.percentile(times, 99)), 1),
        requests=len(times),
        target_p99=300,
    )


def _unfamiliar(base: dict[str, Any], assistant: ListingAssistant, photos: np.ndarray) -> None:
    """How often a new catalog photo is wrongly called unfamiliar, and whether photos of other
    things get any field filled (they should get none)."""
    familiarity = assistant.familiarity_
    others = other_photos()
    scores = familiarity.scores(assistant.encoders.photo.encode(list(others.values())))
    with_a_field = sum(
        any(f.filled for f in assistant.suggest(photo=photo).fields) for photo in others.values()
    )
    _emit(
        base,
        "all",
        "unfamiliar_photos",
        input="photo",
        threshold=round(familiarity.threshold, 4),
        catalog_photos_flagged=round(float(1 - familiarity.familiar(photos).mean()), 4),
        other_photos_flagged=round(float(np.mean(scores < familiarity.threshold)), 4),
        other_photos_with_a_field_filled=with_a_field,
        other_photos={name: round(float(s), 4) for name, s in zip(others, scores, strict=True)},
    )


def _emit(base: dict[str, Any], field: str, metric: str, **values: Any) -> None:
    print(json.dumps({**base, "field": field, "metric": metric, **values}), flush=True)


if __name__ == "__main__":
    main()
