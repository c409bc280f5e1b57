"""SafetyChecker end to end on real fixture listings: every kind of policy, one decision per
listing, saving, labels from reviewers, the served task and bad input."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from furima.catalog import read_listings
from furima.exceptions import DataError, ImageError, NotFittedError
from furima.safety import Action, ListingCheck, ReviewQueue, SafetyChecker, parse_policies
from furima.serve._task_safety import SAFETY_TASK, CheckRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

POLICIES = """
[[policy]]
name = "counterfeit"
description = "Counterfeit or replica goods: fake branded bags, watches or shoes."
examples = ["Replica designer handbag, looks like the original", "Fake branded watch copy"]
keywords = ["super copy", "replica"]
action = "block"
threshold = 0.7

[[policy]]
name = "off_platform"
description = "Asking buyers to pay outside the marketplace or to contact the seller elsewhere."
examples = ["Pay by bank transfer only", "Contact me on LINE before buying"]
patterns = ['bank\\s+transfer', '銀行振込']
action = "review"
threshold = 0.5

[[policy]]
name = "adult_photo"
kind = "nsfw_photo"
action = "block"
threshold = 0.8

[[policy]]
name = "not_a_product_photo"
kind = "product_photo"
threshold = 0.99

[[policy]]
name = "duplicate_listing"
kind = "duplicate"

[[policy]]
name = "price_anomaly"
kind = "price"
threshold = 0.95
"""


def mirrored(jpeg: bytes) -> bytes:
    image = ImageOps.mirror(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos() -> pd.DataFrame:
    return pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")


@pytest.fixture(scope="module")
def priced() -> pd.DataFrame:
    return read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings


@pytest.fixture(scope="module")
def catalog(photos: pd.DataFrame, priced: pd.DataFrame) -> pd.DataFrame:
    with_photos = pd.DataFrame(
        {
            "listing_id": "p" + photos["id"].astype(str),
            "name": photos["title"],
            "description": photos["article_type"],
            "photo": photos["jpeg"],
        }
    ).iloc[:200]
    return pd.concat([with_photos, priced.iloc[:120]], ignore_index=True)


@pytest.fixture(scope="module")
def checker(catalog: pd.DataFrame) -> SafetyChecker:
    return SafetyChecker(parse_policies(POLICIES, fmt="toml"), currency="INR ").fit(catalog)


@pytest.fixture(scope="module")
def new_listings(photos: pd.DataFrame, priced: pd.DataFrame) -> pd.DataFrame:
    cheap = priced.iloc[130]
    return pd.DataFrame(
        [
            {
                "listing_id": "honest",
                "name": photos["title"].iloc[220],
                "description": "Worn twice.",
                "photo": photos["jpeg"].iloc[220],
            },
            {"listing_id": "fake", "name": "Rolex super copy watch", "description": "AAA."},
            {"listing_id": "offsite", "name": "Nike shoes", "description": "Bank transfer only"},
            {
                "listing_id": "relisted",
                "name": "Casual top",
                "description": "Like new.",
                "photo": mirrored(photos["jpeg"].iloc[3]),
            },
            {
                "listing_id": "cheap",
                "name": cheap["name"],
                "brand": cheap["brand"],
                "description": "Brand new.",
                "price": float(cheap["price"]) / 10,
            },
        ]
    )


@pytest.fixture(scope="module")
def checks(checker: SafetyChecker, new_listings: pd.DataFrame) -> dict[str, ListingCheck]:
    return {check.listing_id: check for check in checker.check(new_listings)}


def test_every_listing_gets_a_verdict_per_policy_in_file_order(
    checks: dict[str, ListingCheck],
) -> None:
    assert list(checks) == ["honest", "fake", "offsite", "relisted", "cheap"]
    names = [v.policy for v in checks["honest"].verdicts]
    assert names == [
        "counterfeit",
        "off_platform",
        "adult_photo",
        "not_a_product_photo",
        "duplicate_listing",
        "price_anomaly",
    ]
    assert all(0.0 <= v.score <= 1.0 for c in checks.values() for v in c.verdicts)


def test_each_check_decides_its_own_listing(checks: dict[str, ListingCheck]) -> None:
    assert checks["honest"].decision is Action.ALLOW
    fake = checks["fake"]
    assert fake.decision is Action.BLOCK and fake.flagged[0].policy == "counterfeit"
    assert 'contains "super copy"' in fake.flagged[0].reasons[0]
    assert checks["offsite"].flagged[0].policy == "off_platform"
    relisted = checks["relisted"].flagged
    assert [v.policy for v in relisted] == ["duplicate_listing"]
    assert relisted[0].evidence[0].listing_id == "p" + "{}".format(
        pd.read_parquet(FIXTURES / "myntra_photos_240.parquet")["id"].iloc[3]
    )
    cheap = {v.policy: v for v in checks["cheap"].flagged}
    assert "price_anomaly" in cheap
    assert "far below the expected INR" in cheap["price_anomaly"].reasons[0]


def test_product_photos_pass_the_photo_policies(checks: dict[str, ListingCheck]) -> None:
    honest = {v.policy: v for v in checks["honest"].verdicts}
    assert honest["adult_photo"].score < 0.05
    assert honest["not_a_product_photo"].score < 0.99
    assert honest["duplicate_listing"].score < 0.5


def test_saved_and_loaded_checker_gives_the_same_scores(
    checker: SafetyChecker, new_listings: pd.DataFrame, tmp_path: Path
) -> None:
    loaded = SafetyChecker.load(checker.save(tmp_path / "safety"))
    before = [[v.score for v in c.verdicts] for c in checker.check(new_listings)]
    after = [[v.score for v in c.verdicts] for c in loaded.check(new_listings)]
    np.testing.assert_allclose(after, before, atol=1e-5)
    assert loaded.policies.names == checker.policies.names


def test_reviewers_decisions_teach_the_text_policy(
    checker: SafetyChecker, catalog: pd.DataFrame, tmp_path: Path
) -> None:
    # the keyword "replica" flags honest listings too; reviewers approve those
    texts = [f"Genuine {name}, not a replica, receipt" for name in catalog["name"].iloc[:12]]
    fakes = [f"{name} super copy replica AAA" for name in catalog["name"].iloc[12:24]]
    listings = pd.DataFrame({"listing_id": [f"r{i}" for i in range(24)], "name": texts + fakes})
    with ReviewQueue(tmp_path / "review.duckdb") as queue:
        checks = checker.check(listings)
        queue.enqueue(checks, listings)
        for item in queue.pending(30):
            outcome = "remove" if "super copy" in (item.name or "") else "approve"
            queue.decide(item.listing_id, "ana", outcome)
        labels = queue.labels()
    assert sorted(labels["counterfeit"].value_counts().items()) == [(0.0, 12), (1.0, 12)]
    refit = SafetyChecker(checker.policies).fit(catalog.drop(columns="photo"), labels)
    assert refit.text_ is not None and refit.text_.modes_["counterfeit"] == "supervised"


def test_zero_shot_alone_never_blocks(checker: SafetyChecker) -> None:
    listing = pd.DataFrame(
        {"listing_id": ["x"], "name": ["Designer handbag, looks like the original"]}
    )
    (check,) = checker.check(listing)
    counterfeit = check.verdicts[0]
    assert counterfeit.decision is not Action.BLOCK


def test_the_served_task_answers_a_listing_with_a_photo(
    checker: SafetyChecker, photos: pd.DataFrame
) -> None:
    request = CheckRequest.model_validate(
        {
            "listing_id": "7",
            "name": "Super copy bag",
            "photo": base64.b64encode(photos["jpeg"].iloc[5]).decode(),
        }
    )
    (answer,) = SAFETY_TASK.predict(checker, [request])
    assert answer["listing_id"] == "7" and answer["decision"] == "block"
    assert answer["problems"][0]["message"].startswith("This listing cannot be posted: ")
    for smoke in SAFETY_TASK.smoke(checker):
        assert SAFETY_TASK.check is not None
        SAFETY_TASK.check(SAFETY_TASK.predict(checker, [smoke])[0])


def test_requests_without_anything_to_check_or_with_bad_base64_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a title, a description or a photo"):
        CheckRequest.model_validate({"price": 10})
    with pytest.raises(ValueError, match="base64"):
        CheckRequest.model_validate({"name": "x", "photo": "not base64!"})


def test_bad_listings_get_clear_errors(checker: SafetyChecker) -> None:
    with pytest.raises(DataError, match="neither text nor a photo"):
        checker.check(pd.DataFrame({"listing_id": ["a"], "name": [""]}))
    with pytest.raises(ImageError, match="'broken'"):
        checker.check(
            pd.DataFrame({"listing_id": ["broken"], "name": ["x"], "photo": [b"not an image"]})
        )
    with pytest.raises(NotFittedError, match="not fitted"):
        SafetyChecker(checker.policies).check(pd.DataFrame({"listing_id": ["a"], "name": ["x"]}))


def test_fitting_without_what_a_policy_needs_is_refused(catalog: pd.DataFrame) -> None:
    policies = parse_policies(POLICIES, fmt="toml")
    unpriced = catalog[catalog["price"].isna()] if "price" in catalog else catalog
    with pytest.raises(DataError, match="the price policy needs a price model"):
        SafetyChecker(policies).fit(unpriced.iloc[:30])
    duplicate_only = parse_policies('[[policy]]\nname = "dup"\nkind = "duplicate"\n', fmt="toml")
    with pytest.raises(DataError, match="no catalog to compare with"):
        SafetyChecker(duplicate_only).fit(catalog.iloc[:0])
