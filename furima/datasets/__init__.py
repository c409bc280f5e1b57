"""Small real datasets that ship with furima, for the demo and for trying things out."""

from __future__ import annotations

from pathlib import Path

from furima.datasets._myntra import with_brand

__all__ = ["demo_listings_path", "demo_photos_path", "with_brand"]


def demo_listings_path() -> Path:
    """3,000 real Myntra listings with prices (see PROVENANCE.md beside this file)."""
    return Path(__file__).with_name("myntra_sample.parquet")


def demo_photos_path() -> Path:
    """2,000 real Myntra product photos with titles and labels (see PROVENANCE.md)."""
    return Path(__file__).with_name("myntra_photos_sample.parquet")
