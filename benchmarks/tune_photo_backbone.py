"""Fine-tune the photo backbone on the Myntra 44k catalog split that the benchmarks learn from.

The held-out 20% (seed 0, the same split as benchmarks/search.py and benchmarks/listing.py) is
never trained on; it only measures each head's top-1 accuracy. Prints one JSON line and
writes the backbone folder to ``--out``; pass that folder to the search and listing benchmarks
as ``--photo-backbone``. Takes minutes on a GPU, hours on 2 CPU cores::

    python benchmarks/tune_photo_backbone.py --data ../shared/data --out tuned-backbone
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _myntra_photos import DATA_FILE, held_out_split, read_catalog

from furima.features import PhotoTuning, tune_photo_backbone

DEFAULTS = PhotoTuning()
LABELS = ["article_type", "base_colour", "sub_category", "gender", "usage"]


def main() -> None:
    args = _arguments()
    table, digest = read_catalog(args.data, ["jpeg", *LABELS])
    queries, catalog = held_out_split(len(table), args.seed)
    if args.rows:
        catalog, queries = catalog[: args.rows], queries[: max(2, args.rows // 4)]
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
            [photos[i] for i in queries],
            {name: table[name].iloc[queries].tolist() for name in LABELS},
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
                "queries": len(queries),
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
    parser.add_argument("--image-size", type=int, default=DEFAULTS.image_size)
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if seen)")
    parser.add_argument("--rows", type=int, default=0, help="train on this many rows (smoke)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
