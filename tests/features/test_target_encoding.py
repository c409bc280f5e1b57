"""listing_keys and TargetEncoder on hand-made frames whose answers are computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import NotFittedError
from furima.features import TargetEncoder, listing_keys

# -- listing_keys ---------------------------------------------------------------------------


@pytest.fixture
def shoes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "listing_id": ["a", "b"],
            "name": ["Puma Men Black Running Shoes", "ナイキ スニーカー 27cm"],
            "description": ["Lightweight", ""],
            "brand": ["PUMA", pd.NA],
            "gender": ["Men", pd.NA],
            "price": [2999.0, 8000.0],
        }
    )


def test_listing_keys_without_category(shoes: pd.DataFrame) -> None:
    keys = listing_keys(shoes)
    assert list(keys) == [
        "brand",
        "lead1",
        "lead2",
        "type1",
        "type2",
        "name",
        "name_no_digits",
        "brand|type1",
        "brand|type2",
        "lead1|type1",
        "lead2|type2",
        "gender",
        "gender|type2",
    ]
    assert {name: values[0] for name, values in keys.items()} == {
        "brand": "puma",
        "lead1": "puma",
        "lead2": "puma_men",
        "type1": "shoes",
        "type2": "running_shoes",
        "name": "puma_men_black_running_shoes",
        "name_no_digits": "puma_men_black_running_shoes",
        "brand|type1": "puma|shoes",
        "brand|type2": "puma|running_shoes",
        "lead1|type1": "puma|shoes",
        "lead2|type2": "puma_men|running_shoes",
        "gender": "men",
        "gender|type2": "men|running_shoes",
    }
    # Unicode words survive; words with digits leave name_no_digits; missing is "".
    assert {name: values[1] for name, values in keys.items()} == {
        "brand": "",
        "lead1": "ナイキ",
        "lead2": "ナイキ_スニーカー",
        "type1": "27cm",
        "type2": "スニーカー_27cm",
        "name": "ナイキ_スニーカー_27cm",
        "name_no_digits": "ナイキ_スニーカー",
        "brand|type1": "|27cm",
        "brand|type2": "|スニーカー_27cm",
        "lead1|type1": "ナイキ|27cm",
        "lead2|type2": "ナイキ_スニーカー|スニーカー_27cm",
        "gender": "",
        "gender|type2": "|スニーカー_27cm",
    }
    assert all(len(values) == 2 for values in keys.values())


def test_listing_keys_with_category_and_one_word_name(shoes: pd.DataFrame) -> None:
    frame = shoes.assign(
        name=["Sneakers", "Nike Air Max 90"],
        category=pd.array(["Men/Shoes/Sneakers", None], dtype="string"),
    ).set_index(pd.Index([10, 20]))
    keys = listing_keys(frame)
    assert list(keys)[7:10] == ["category", "category|type2", "brand|type1"]
    first = {name: values[0] for name, values in keys.items()}  # in row order, whatever the index
    second = {name: values[1] for name, values in keys.items()}
    assert (first["lead1"], first["lead2"], first["type1"], first["type2"]) == (
        "sneakers",
        "sneakers",
        "sneakers",
        "sneakers",
    )
    assert first["category"] == "men/shoes/sneakers"
    assert first["category|type2"] == "men/shoes/sneakers|sneakers"
    assert (second["type2"], second["name_no_digits"]) == ("max_90", "nike_air_max")
    assert (second["category"], second["category|type2"]) == ("", "|max_90")


def test_listing_keys_skip_an_all_missing_category(shoes: pd.DataFrame) -> None:
    keys = listing_keys(shoes.assign(category=None))
    assert "category" not in keys
    assert "category|type2" not in keys


# -- TargetEncoder --------------------------------------------------------------------------

# brand: a, a, b, c with targets 1, 3, 5, 7: prior 4; with smoothing 2,
#   a -> (1 + 3 + 2 * 4) / (2 + 2) = 3
#   b -> (5 + 2 * 4) / (1 + 2) = 13 / 3
#   c -> (7 + 2 * 4) / (1 + 2) = 5
#   unseen -> 4 (the prior), with count 0
KEYS = pd.DataFrame({"brand": ["a", "a", "b", "c"], "type": ["x", "y", "x", "x"]})
Y = np.array([1.0, 3.0, 5.0, 7.0])


def test_target_encoder_smoothing_by_hand() -> None:
    encoder = TargetEncoder(smoothing=2.0).fit(KEYS, Y)
    assert encoder.prior_ == 4.0
    assert encoder.feature_names == ["brand:mean", "brand:log_count", "type:mean", "type:log_count"]
    new = pd.DataFrame({"brand": ["a", "b", "c", "zzz"], "type": ["x", "y", "nope", "x"]})
    out = encoder.transform(new)
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[:, 0], [3.0, 13 / 3, 5.0, 4.0])
    np.testing.assert_allclose(out[:, 1], np.log1p([2, 1, 1, 0]))
    # type: x has 1, 5, 7 (sum 13, count 3) -> (13 + 8) / 5 = 4.2; y has 3 -> (3 + 8) / 3
    np.testing.assert_allclose(out[:, 2], [4.2, 11 / 3, 4.0, 4.2])
    np.testing.assert_allclose(out[:, 3], np.log1p([3, 1, 0, 3]))


def test_target_encoder_zero_smoothing_is_the_plain_mean() -> None:
    out = TargetEncoder(smoothing=0.0).fit(KEYS, Y).transform(KEYS)
    np.testing.assert_allclose(out[:, 0], [2.0, 2.0, 5.0, 7.0])
    np.testing.assert_allclose(out[:, 2], [13 / 3, 3.0, 13 / 3, 13 / 3])


def test_target_encoder_missing_column_reads_as_empty_key() -> None:
    keys = KEYS.assign(brand=["a", "", "", "c"])
    encoder = TargetEncoder(smoothing=2.0).fit(keys, Y)
    out = encoder.transform(pd.DataFrame({"type": ["x", "y"]}))
    # "" was seen twice (targets 3 and 5): (8 + 8) / 4 = 4 with count 2.
    np.testing.assert_allclose(out[:, 0], [4.0, 4.0])
    np.testing.assert_allclose(out[:, 1], np.log1p([2, 2]))


def test_target_encoder_ignores_the_frame_index() -> None:
    shuffled = KEYS.set_index(pd.Index([7, 3, 9, 1]))
    encoder = TargetEncoder(smoothing=2.0).fit(shuffled, Y)
    np.testing.assert_allclose(encoder.transform(KEYS)[:, 0], [3.0, 3.0, 13 / 3, 5.0])


def test_target_encoder_round_trips_through_arrays() -> None:
    encoder = TargetEncoder(smoothing=2.0).fit(KEYS, Y)
    meta, arrays = encoder.to_arrays()
    assert meta == {"smoothing": 2.0, "prior": 4.0, "columns": ["brand", "type"]}
    assert arrays["brand.values"].tolist() == ["a", "b", "c"]
    assert arrays["brand.counts"].tolist() == [2.0, 1.0, 1.0]
    assert arrays["brand.sums"].tolist() == [4.0, 5.0, 7.0]
    rebuilt = TargetEncoder.from_arrays(meta, arrays)
    new = pd.DataFrame({"brand": ["c", "q", "a"], "type": ["y", "x", "q"]})
    np.testing.assert_array_equal(rebuilt.transform(new), encoder.transform(new))


def test_target_encoder_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="TargetEncoder is not fitted yet; call fit first"):
        TargetEncoder().transform(KEYS)
