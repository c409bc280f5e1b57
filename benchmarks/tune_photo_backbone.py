"""Fine-tune the photo backbone on the Myntra 44k catalog split that the benchmarks learn from.

The benchmarks' held-out 20% (seed 0, the split of benchmarks/search.py and
benchmarks/listing.py) is not used at all. Of the other 80%, ``--validation-share`` (10%,
seeded) is held out of tuning too: it measures each head's top-1 accuracy, and the listing
assistant calibrates its confidences on exactly those photos (their digests are in the
manifest). Prints one JSON line and writes the backbone folder to ``--out``; pass that folder
to the search and listing benchmarks as ``--photo-backbone``. Minutes on a GPU (at 224 px);
on a CPU the photos are tuned near their own size, 96 px, since ``--image-size 224`` takes
hours there. Measured times and accuracies: ``docs/benchmarks.md``::

    python benchmarks/tune_photo_backbone.py --data ../shared/data --out tuned-backbone --epochs 8
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _myntra_photos import DATA_FILE, held_out_split, read_catalog

from furima.features import PhotoTuning, tune_photo_backbone

DEFAULTS = PhotoTuning()
LABELS = ["article_type", "base_colour", "sub_category", "gender", "usage"]


def main() -> None:
    args = _arguments()
    table, digest = read_catalog(args.data, ["jpeg", *LABELS])
    _, catalog = held_out_split(len(table), args.seed)
    if args.rows:
        catalog = catalog[: args.rows]
    rng = np.random.default_rng(args.seed)
    validation = np.sort(rng.choice(catalog, int(len(catalog) * args.validation_share), False))
    catalog = np.setdiff1d(catalog, validation)
    photos = table["jpeg"].tolist()
    settings = PhotoTuning(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        image_size=args.image_size,
        device=args.device,
        seed=args.seed,
    )
    manifest = tune_photo_backbone(
        [photos[i] for i in catalog],
        {name: table[name].iloc[catalog].tolist() for name in LABELS},
        args.out,
        settings=settings,
        validation=(
            [photos[i] for i in validation],
            {name: table[name].iloc[validation].tolist() for name in LABELS},
        ),
        progress=sys.stderr.isatty(),
    )
    print(
        json.dumps(
            {
                "benchmark": "tune_photo_backbone",
                "data": str(DATA_FILE),
                "data_sha256": digest[:16],
                "metric": "held-out top-1 per head",
                "furima": manifest["validation_top1"],
                "rows": len(catalog),
                "validation_rows": len(validation),
                "fit_s": manifest["fit_s"],
                "device": manifest["device"],
                "settings": manifest["settings"],
                "seed": args.seed,
            }
        ),
        flush=True,
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, required=True, help="backbone folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    parser.add_argument(
        "--image-size", type=int, default=DEFAULTS.image_size, help="default: by device"
    )
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if seen)")
    parser.add_argument("--validation-share", type=float, default=0.1)
    parser.add_argument("--rows", type=int, default=0, help="use this many rows (smoke)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
