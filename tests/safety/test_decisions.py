"""From findings to decisions, the listings a check accepts, and price anomalies."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import read_listings
from furima.exceptions import DataError, SchemaError
from furima.pricing import PriceSuggester
from furima.safety import Action, Finding, Policy, PolicyKind
from furima.safety._checker import closeness, listing_check
from furima.safety._listings import safety_listings
from furima.safety._price_check import PriceAnomalyCheck, tail_distance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

POLICIES = (
    Policy("counterfeit", "Fake branded goods.", action=Action.BLOCK, threshold=0.6),
    Policy("spam", "Spam and scams.", action=Action.REVIEW, threshold=0.5),
    Policy("cheap", "Odd prices.", kind=PolicyKind.PRICE, action=Action.ALLOW, threshold=0.9),
)


def test_the_most_severe_verdict_decides_and_risk_ignores_allow_policies() -> None:
    check = listing_check(
        "7",
        POLICIES,
        [Finding(0.7, ("says replica",)), Finding(0.55, ("spammy",)), Finding(0.99)],
    )
    assert check.decision is Action.BLOCK
    assert [v.decision for v in check.verdicts] == [Action.BLOCK, Action.REVIEW, Action.ALLOW]
    assert [v.policy for v in check.flagged] == ["counterfeit", "spam"]  # not allow-only cheap
    assert check.risk == pytest.approx(0.7)  # the allow-only price policy does not count
    assert check.uncertainty == pytest.approx(0.9)  # spam: 0.55 is 0.05 above 0.5 of 0.5
    assert check.to_dict()["policies"][0]["reasons"] == ["says replica"]


def test_a_listing_under_every_threshold_is_allowed_without_reasons() -> None:
    check = listing_check("8", POLICIES, [Finding(0.1, ("x",)), Finding(0.0), Finding(0.2)])
    assert check.decision is Action.ALLOW
    assert check.flagged == ()
    assert all(v.reasons == () for v in check.verdicts)
    assert check.risk == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [(0.5, 0.5, 1.0), (0.0, 0.5, 0.0), (1.0, 0.5, 0.0), (0.9, 0.8, 0.5), (0.4, 0.8, 0.5)],
)
def test_closeness_to_the_threshold(score: float, threshold: float, expected: float) -> None:
    assert closeness(score, threshold) == pytest.approx(expected)


def test_listings_get_string_ids_joined_texts_and_photo_flags() -> None:
    batch = safety_listings(
        pd.DataFrame(
            {
                "listing_id": [1, 2],
                "name": ["Red shoes", None],
                "description": [" size 40 ", None],
                "photo": [None, b"\xff\xd8jpeg"],
            }
        ),
        role="listings",
    )
    assert batch.ids == ["1", "2"]
    assert batch.texts == ["Red shoes\nsize 40", ""]
    assert batch.has_photo.tolist() == [False, True]


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (pd.DataFrame({"name": ["a"]}), SchemaError, "no `listing_id` column"),
        (pd.DataFrame({"listing_id": ["1"], "price": [3]}), SchemaError, "nothing to check"),
        (
            pd.DataFrame({"listing_id": ["1", "1"], "name": ["a", "b"]}),
            DataError,
            "repeat listing ids '1'",
        ),
        (
            pd.DataFrame({"listing_id": ["1", "2"], "name": ["a", " "], "photo": [None, b""]}),
            DataError,
            "have neither text nor a photo (listing ids '2')",
        ),
        (
            pd.DataFrame({"listing_id": ["1"], "name": ["a"], "photo": ["x.jpg"]}),
            DataError,
            "listings '1' hold something else",
        ),
        (pd.DataFrame({"listing_id": [None], "name": ["a"]}), DataError, "empty listing ids"),
    ],
)
def test_listings_that_cannot_be_checked_are_refused(
    frame: pd.DataFrame, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=None) as raised:
        safety_listings(frame, role="listings")
    assert message in str(raised.value)


def test_tail_distance_uses_the_side_of_the_range_the_price_is_on() -> None:
    z_end = 1.2815515655446004  # the 80% range's ends
    assert tail_distance(50, 100, 50, 400, 0.8) == pytest.approx(-z_end)
    assert tail_distance(400, 100, 50, 400, 0.8) == pytest.approx(z_end)
    far = tail_distance(10, 100, 50, 400, 0.8)
    assert far == pytest.approx(-z_end * math.log(101 / 11) / math.log(101 / 51))


@pytest.fixture(scope="module")
def price_check() -> PriceAnomalyCheck:
    listings = read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings
    return PriceAnomalyCheck(PriceSuggester(random_state=0).fit(listings), currency="INR ")


def test_a_tenth_of_the_price_is_flagged_with_the_expected_range(
    price_check: PriceAnomalyCheck,
) -> None:
    listings = read_listings(FIXTURES / "myntra_150.parquet", require_price=True).listings
    sample = listings.iloc[:20].reset_index(drop=True)
    honest = np.array([f.score for f in price_check.findings(sample)])
    cheap = price_check.findings(sample.assign(price=sample["price"] * 0.1))
    scores = np.array([f.score for f in cheap])
    assert np.median(scores) > 0.95 > np.median(honest)
    assert (scores > honest).mean() >= 0.9
    reason = cheap[int(scores.argmax())].reasons[0]
    assert reason.startswith("priced at INR ") and "far below the expected INR " in reason
    assert "scam" in reason
    kinds = [e.kind for e in cheap[0].evidence]
    assert kinds[0] == "price_range" and "similar_listing" in kinds


def test_listings_without_a_price_are_not_scored(price_check: PriceAnomalyCheck) -> None:
    frame = pd.DataFrame({"listing_id": ["1"], "name": ["Red shoes"], "price": [np.nan]})
    (finding,) = price_check.findings(frame)
    assert finding.score == 0.0 and finding.reasons == ("no price to check",)
