"""Cut the demo sample that ships inside the package from the real Myntra catalog.

Usage: python tools/make_demo_sample.py ../shared/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROWS, PHOTO_ROWS = 3000, 2000
SEED = 0
DATASETS = Path(__file__).resolve().parents[1] / "furima" / "datasets"


def main(data: Path) -> None:
    catalog = pd.read_parquet(data / "listings" / "myntra_catalog.parquet")
    sample = catalog.sample(n=ROWS, random_state=SEED).sort_values("product_id")
    sample.to_parquet(DATASETS / "myntra_sample.parquet", index=False, compression="zstd")
    photos = pd.read_parquet(data / "images" / "myntra_fashion_44k.parquet")
    photos = photos.sample(n=PHOTO_ROWS, random_state=SEED).sort_values("id")
    photos.to_parquet(DATASETS / "myntra_photos_sample.parquet", index=False)
    print(f"wrote {len(sample)} listings and {len(photos)} photo listings to {DATASETS}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
