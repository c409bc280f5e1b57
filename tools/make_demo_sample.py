"""Cut the demo sample that ships inside the package from the real Myntra catalog.

Usage: python tools/make_demo_sample.py ../shared/data/listings/myntra_catalog.parquet
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROWS = 3000
SEED = 0
OUT = Path(__file__).resolve().parents[1] / "furima" / "datasets" / "myntra_sample.parquet"


def main(source: str) -> None:
    catalog = pd.read_parquet(source)
    sample = catalog.sample(n=ROWS, random_state=SEED).sort_values("product_id")
    sample.to_parquet(OUT, index=False, compression="zstd")
    print(f"wrote {len(sample)} rows to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
