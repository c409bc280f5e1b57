"""Product matching: the matcher on real Abt-Buy pairs, its reasons, candidates and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import (
    DataError,
    EmptyDataError,
    ModelFormatError,
    NotFittedError,
    SchemaError,
)
from furima.index import VectorIndex
from furima.safety._matching import ProductMatcher

FIXTURE = Path(__file__).parents[1] / "fixtures" / "abt_buy_300.parquet"
FIXTURE_F1 = 0.86  # measured test F1 of the fixture matcher below (25 matches in 100 pairs)


def listings(pairs: pd.DataFrame, side: str) -> pd.DataFrame:
    """One side of the fixture's pairs in furima's vocabulary (split-file left-overs removed)."""
    return pd.DataFrame(
        {
            "name": pairs[f"{side}_name"].to_numpy(),
            "description": pairs[f"{side}_description"]
            .str.replace("COL price VAL", "", regex=False)
            .to_numpy(),
            "price": pd.to_numeric(pairs[f"{side}_price"], errors="coerce").to_numpy(),
        }
    )


@pytest.fixture(scope="module")
def pairs() -> dict[str, pd.DataFrame]:
    table = pd.read_parquet(FIXTURE)
    return {
        split: table[table["split"] == split].reset_index(drop=True) for split in ("train", "test")
    }


@pytest.fixture(scope="module")
def matcher(pairs: dict[str, pd.DataFrame]) -> ProductMatcher:
    train = pairs["train"]
    return ProductMatcher(embeddings=False, n_estimators=150, folds=3, threads=1).fit(
        listings(train, "left"), listings(train, "right"), train["label"].to_numpy()
    )


def test_matcher_separates_matches_from_other_pairs(
    matcher: ProductMatcher, pairs: dict[str, pd.DataFrame]
) -> None:
    from sklearn.metrics import f1_score

    test = pairs["test"]
    predicted = matcher.predict(listings(test, "left"), listings(test, "right"))
    probabilities = matcher.predict_proba(listings(test, "left"), listings(test, "right"))
    assert predicted.dtype == bool and predicted.shape == (100,)
    assert np.array_equal(predicted, probabilities >= matcher.threshold_)
    assert f1_score(test["label"], predicted) >= FIXTURE_F1 - 0.07
    matches = test["label"].to_numpy() == 1
    assert probabilities[matches].mean() > probabilities[~matches].mean() + 0.5


def test_a_different_model_number_lowers_the_probability(matcher: ProductMatcher) -> None:
    left = pd.DataFrame({"name": ["lg 24' semi integrated white dishwasher lds4821ww"]})
    same = pd.DataFrame({"name": ["lg lds4821ww 24 in. semi-integrated dishwasher white"]})
    other = pd.DataFrame({"name": ["lg ldf6920bb 24 in. semi-integrated dishwasher white"]})
    same_probability = matcher.predict_proba(left, same)[0]
    other_probability = matcher.predict_proba(left, other)[0]
    assert same_probability > other_probability + 0.3
    explanation = matcher.explain(left.iloc[0], other.iloc[0])
    assert "model numbers differ: LDF6920BB vs LDS4821WW" in explanation.disagree or (
        "model numbers differ: LDS4821WW vs LDF6920BB" in explanation.disagree
    )
    assert any(
        reason.startswith("same model number")
        for reason in matcher.explain(left.iloc[0], same.iloc[0]).agree
    )


def test_explain_names_brand_and_price_ratio(matcher: ProductMatcher) -> None:
    left = {"name": "sony bravia 40 in. lcd tv kdl40v4100", "brand": "Sony", "price": 899.0}
    right = {"name": "sony kdl-40v4100 bravia lcd hdtv", "brand": "sony", "price": 375.0}
    explanation = matcher.explain(left, right)
    assert "brand agrees: sony" in explanation.agree
    assert "price ratio 2.4 (899 vs 375)" in explanation.disagree
    assert explanation.match == (explanation.probability >= explanation.threshold)
    leading = explanation.agree if explanation.match else explanation.disagree
    assert explanation.reasons[: len(leading)] == leading


def test_write_read_gives_identical_probabilities(
    matcher: ProductMatcher, pairs: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    test = pairs["test"]
    description = matcher.write(tmp_path / "matcher")
    restored = ProductMatcher.read(tmp_path / "matcher", description)
    before = matcher.predict_proba(listings(test, "left"), listings(test, "right"))
    after = restored.predict_proba(listings(test, "left"), listings(test, "right"))
    assert np.array_equal(before, after)
    assert restored.threshold_ == matcher.threshold_
    assert sorted(path.name for path in (tmp_path / "matcher").iterdir()) == [
        "matcher_text.npz",
        "matcher_trees.txt",
    ]


def test_read_refuses_a_damaged_folder_or_a_foreign_description(
    matcher: ProductMatcher, tmp_path: Path
) -> None:
    description = matcher.write(tmp_path)
    with pytest.raises(ModelFormatError, match="not a product matcher's"):
        ProductMatcher.read(tmp_path, {"format": "furima.price_model"})
    (tmp_path / "matcher_trees.txt").write_text("tree\n")
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        ProductMatcher.read(tmp_path, description)


def test_candidate_pairs_find_a_reworded_copy_in_a_catalog(
    matcher: ProductMatcher, pairs: dict[str, pd.DataFrame]
) -> None:
    matches = pairs["test"][pairs["test"]["label"] == 1].reset_index(drop=True)
    catalog = pd.DataFrame({"name": matches["right_name"].to_numpy()}, index=np.arange(100, 125))
    new = pd.DataFrame({"name": matches["left_name"].to_numpy()[:5]}, index=list("abcde"))
    vectors = matcher.encode_listings(catalog)
    candidates = matcher.candidate_pairs(new, catalog.index.to_numpy(), vectors, k=5)
    assert list(candidates.columns) == ["listing", "candidate_id", "similarity", "rank"]
    assert len(candidates) == 25
    found = candidates.groupby("listing")["candidate_id"].apply(set)
    assert all(100 + row in found[label] for row, label in enumerate("abcde"))

    scored = matcher.candidate_pairs(new, None, _index(catalog, vectors), k=5, catalog=catalog)
    best = scored.sort_values("probability").groupby("listing").tail(1).set_index("listing")
    assert best.sort_index()["candidate_id"].tolist() == [100, 101, 102, 103, 104]
    assert best.loc[["c", "d", "e"], "match"].all()  # the three that name a model number


def _index(catalog: pd.DataFrame, vectors: np.ndarray) -> VectorIndex:
    return VectorIndex(vectors.shape[1]).add(catalog.index.to_numpy(), vectors)


def test_bad_input_raises_data_errors_that_say_what_to_do(matcher: ProductMatcher) -> None:
    good = pd.DataFrame({"name": ["sony kdl40v4100", "lg lds4821ww"]})
    with pytest.raises(SchemaError, match=r"has no .name. column .*Rename"):
        matcher.predict_proba(pd.DataFrame({"title": ["a", "b"]}), good)
    with pytest.raises(DataError, match="`left` has 2 rows and `right` has 1"):
        matcher.predict_proba(good, good.iloc[:1])
    with pytest.raises(EmptyDataError, match="`left` has no rows"):
        matcher.predict_proba(good.iloc[:0], good.iloc[:0])
    with pytest.raises(DataError, match="without a name"):
        matcher.predict_proba(pd.DataFrame({"name": ["", "x"]}), good)
    with pytest.raises(DataError, match=r"not non-negative numbers .*.ten."):
        matcher.predict_proba(good.assign(price=[10.0, "ten"]), good)
    with pytest.raises(DataError, match="labels` are all 1"):
        ProductMatcher(embeddings=False).fit(good, good, [1, 1])
    with pytest.raises(NotFittedError, match="call fit"):
        ProductMatcher().predict(good, good)
    with pytest.raises(EmptyDataError, match="catalog is empty"):
        matcher.candidate_pairs(good, np.array([], dtype=np.int64), np.empty((0, 384)))


def test_the_checker_flags_the_same_product_in_other_words(
    matcher: ProductMatcher, pairs: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    from furima.safety import SafetyChecker, parse_policies

    test = pairs["test"]
    matched = test[test["label"] == 1].head(3)
    catalog = listings(test, "right").assign(listing_id=[f"c{i}" for i in range(len(test))])
    new = listings(matched, "left").assign(listing_id=["n0", "n1", "n2"])
    policies = parse_policies(
        '[[policy]]\nname = "duplicate_listing"\nkind = "duplicate"\n', fmt="toml"
    )
    checker = SafetyChecker(policies, matcher=matcher).fit(catalog)
    checks = SafetyChecker.load(checker.save(tmp_path / "safety")).check(new)
    found = 0
    for check, row in zip(checks, matched.index, strict=True):
        evidence = [e for v in check.flagged for e in v.evidence if e.kind == "duplicate"]
        if evidence and evidence[0].listing_id == f"c{row}":
            assert "same product" in evidence[0].detail
            found += 1
    assert found >= 2  # the matcher's own recall on this fixture is about 0.9
