"""Small real datasets that ship with furima, for the demo and for trying things out.

The buyer's page of the demo is fed by :func:`simulate_browsing`: made-up buyers browsing the
real photo catalog (see its docstring); quality is only ever measured on the real log,
:func:`demo_interactions_path`.
"""

from __future__ import annotations

from pathlib import Path

from furima.datasets._myntra import with_brand
from furima.datasets._sessions import simulate_browsing

__all__ = [
    "demo_bandit_paths",
    "demo_behaviour_path",
    "demo_credit_path",
    "demo_experiment_path",
    "demo_interactions_path",
    "demo_listings_path",
    "demo_photos_path",
    "demo_resale_path",
    "simulate_browsing",
    "with_brand",
]


def demo_listings_path() -> Path:
    """3,000 real Myntra listings with prices (see PROVENANCE.md beside this file)."""
    return Path(__file__).with_name("myntra_sample.parquet")


def demo_photos_path() -> Path:
    """2,000 real Myntra product photos with titles and labels (see PROVENANCE.md)."""
    return Path(__file__).with_name("myntra_photos_sample.parquet")


def demo_interactions_path() -> Path:
    """Real purchase sequences from Amazon Beauty over its 500 most bought items (2,646 users),
    one user a line: ``user item item ...`` in time order (see PROVENANCE.md); read with
    :func:`furima.catalog.read_sequences`."""
    return Path(__file__).with_name("amazon_beauty_top500.txt")


def demo_behaviour_path() -> Path:
    """Real shopping behaviour with four event types (page view, cart, favourite, buy) of 200
    Taobao users over nine days, 21,352 events (see PROVENANCE.md); read with
    ``furima.catalog.read_interactions(path, mapping="taobao")``."""
    return Path(__file__).with_name("taobao_behaviour_sample.parquet")


def demo_experiment_path() -> Path:
    """A real randomised field experiment: 1,410 households offered weather insurance after a
    simple or an intensive information session (treatment ``intensive``, outcome
    ``takeup_survey``, pre-treatment covariates; see PROVENANCE.md)."""
    return Path(__file__).with_name("cai2015_insurance.parquet")


def demo_resale_path() -> Path:
    """3,000 real Flipkart listings with their retail and selling (discounted) prices
    (``uniq_id``, ``product_name``, ``brand``, ``retail_price``, ``discounted_price``; see
    PROVENANCE.md)."""
    return Path(__file__).with_name("flipkart_resale_sample.parquet")


def demo_credit_path() -> Path:
    """1,000 real credit applications (300 bad): 20 applicant attributes and ``creditability``
    (``"good"`` or ``"bad"``), the UCI Statlog German Credit data (see PROVENANCE.md)."""
    return Path(__file__).with_name("german_credit.parquet")


def demo_bandit_paths(policy: str) -> tuple[Path, Path]:
    """The Open Bandit Dataset sample logged by ``policy`` (``"random"`` or ``"bts"``):
    10,000 impressions with clicks and propensities, and the items table (see PROVENANCE.md)."""
    if policy not in ("random", "bts"):
        raise ValueError(f"policy must be 'random' or 'bts', not {policy!r}.")
    log = Path(__file__).with_name(f"obd_{policy}_all.parquet")
    return log, log.with_name(f"obd_{policy}_all_items.parquet")
