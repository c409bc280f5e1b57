"""Cut the demo sample that ships inside the package from the real Myntra catalog.

Usage: python tools/make_demo_sample.py ../shared/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROWS, PHOTO_ROWS, BEHAVIOUR_USERS = 3000, 2000, 200
SEED = 0
DATASETS = Path(__file__).resolve().parents[1] / "furima" / "datasets"


def main(data: Path) -> None:
    catalog = pd.read_parquet(data / "listings" / "myntra_catalog.parquet")
    sample = catalog.sample(n=ROWS, random_state=SEED).sort_values("product_id")
    sample.to_parquet(DATASETS / "myntra_sample.parquet", index=False, compression="zstd")
    photos = pd.read_parquet(data / "images" / "myntra_fashion_44k.parquet")
    photos = photos.sample(n=PHOTO_ROWS, random_state=SEED).sort_values("id")
    photos.to_parquet(DATASETS / "myntra_photos_sample.parquet", index=False)
    log = pd.read_parquet(data / "interactions" / "taobao_userbehavior_sample.parquet")
    users = log["user_id"].drop_duplicates().sample(n=BEHAVIOUR_USERS, random_state=SEED)
    behaviour = log[log["user_id"].isin(users)].sort_values(["user_id", "timestamp"])
    behaviour.to_parquet(DATASETS / "taobao_behaviour_sample.parquet", index=False)
    print(
        f"wrote {len(sample)} listings, {len(photos)} photo listings and {len(behaviour)} "
        f"behaviour events to {DATASETS}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
