"""ListingTextVectorizer: shapes, empty views, the fitted-state contract and its array
round trip, on the real Myntra fixture and on tiny hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import NotFittedError
from furima.features import ListingTextVectorizer, listing_tokens

ALL_VIEWS = ["name", "name_chars", "description", "tags", "brand_x_name", "context_x_name"]


def test_fit_transform_and_transform_shapes(myntra_listings: pd.DataFrame) -> None:
    train, new = myntra_listings.iloc[:100], myntra_listings.iloc[100:]
    vectorizer = ListingTextVectorizer()
    x_train = vectorizer.fit_transform(train)
    assert list(vectorizer.vectorizers_) == ALL_VIEWS
    widths = {name: len(v.vocabulary_) for name, v in vectorizer.vectorizers_.items()}
    assert all(width > 0 for width in widths.values()), widths
    assert vectorizer.n_features == sum(widths.values())
    assert x_train.shape == (100, vectorizer.n_features)
    assert x_train.format == "csr" and x_train.dtype == np.float32
    x_new = vectorizer.transform(new)
    assert x_new.shape == (50, vectorizer.n_features)
    assert x_new.dtype == np.float32
    # Each view block is L2-normalised TF-IDF: a row's squared norm is the number of views
    # in which it has at least one known term, never more.
    squared_norms = np.asarray(x_train.multiply(x_train).sum(axis=1)).ravel()
    assert squared_norms.max() == pytest.approx(len(ALL_VIEWS), abs=1e-4)
    assert np.all(squared_norms <= len(ALL_VIEWS) + 1e-4)


def test_fit_then_transform_equals_fit_transform(myntra_listings: pd.DataFrame) -> None:
    fitted = ListingTextVectorizer().fit(myntra_listings)
    again = ListingTextVectorizer().fit_transform(myntra_listings)
    transformed = fitted.transform(myntra_listings)
    again.sort_indices()
    # transform() is furima's lean re-implementation: same cells, values to float32 rounding.
    assert np.array_equal(transformed.indptr, again.indptr)
    assert np.array_equal(transformed.indices, again.indices)
    assert np.abs(transformed.data - again.data).max() < 1e-6


def test_unknown_words_are_ignored(myntra_listings: pd.DataFrame) -> None:
    vectorizer = ListingTextVectorizer(views=("name",)).fit(myntra_listings)
    unseen = pd.DataFrame({"name": ["zzqx wvvy"], "description": [""], "brand": [pd.NA]})
    assert vectorizer.transform(unseen).nnz == 0


def test_to_arrays_from_arrays_round_trips_to_identical_matrices(
    myntra_listings: pd.DataFrame,
) -> None:
    train, new = myntra_listings.iloc[:100], myntra_listings.iloc[100:]
    vectorizer = ListingTextVectorizer()
    vectorizer.fit(train)
    meta, arrays = vectorizer.to_arrays()
    assert meta == {"views": ALL_VIEWS}
    assert sorted(arrays) == sorted(f"{v}.{part}" for v in ALL_VIEWS for part in ("terms", "idf"))
    for view in ALL_VIEWS:
        assert arrays[f"{view}.terms"].dtype.kind == "U"  # plain strings: no pickles needed
        assert len(arrays[f"{view}.terms"]) == len(arrays[f"{view}.idf"])
    rebuilt = ListingTextVectorizer.from_arrays(meta, arrays)
    assert rebuilt.n_features == vectorizer.n_features
    for frame in (train, new):
        expected, got = vectorizer.transform(frame), rebuilt.transform(frame)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_array_equal(got.data, expected.data)


def test_empty_views_are_dropped(myntra_listings: pd.DataFrame) -> None:
    no_text = myntra_listings.assign(description="")
    vectorizer = ListingTextVectorizer()
    x = vectorizer.fit_transform(no_text)
    assert "description" not in vectorizer.vectorizers_
    assert list(vectorizer.vectorizers_) == [v for v in ALL_VIEWS if v != "description"]
    assert x.shape == (150, vectorizer.n_features)
    assert vectorizer.to_arrays()[0]["views"] == list(vectorizer.vectorizers_)
    # New listings that do have a description still map onto the same columns.
    assert vectorizer.transform(myntra_listings).shape == x.shape


def test_view_pruned_to_nothing_by_min_df_is_dropped() -> None:
    # context_x_name keeps crosses seen in >= 2 listings; here every cross is unique.
    listings = pd.DataFrame(
        {
            "name": ["Red Shirt", "Blue Jeans"],
            "description": ["", ""],
            "brand": ["Roadster", pd.NA],
            "category": ["Men/Shirts", "Women/Jeans"],
        }
    )
    vectorizer = ListingTextVectorizer(views=("name", "context_x_name"))
    x = vectorizer.fit_transform(listings)
    assert list(vectorizer.vectorizers_) == ["name"]
    assert x.shape == (2, 6)  # red, shirt, blue, jeans and the bigrams red shirt, blue jeans
    assert sorted(vectorizer.vectorizers_["name"].vocabulary_) == [
        "blue",
        "blue jeans",
        "jeans",
        "red",
        "red shirt",
        "shirt",
    ]


def test_only_empty_views_is_a_clear_error(myntra_listings: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="description"):
        ListingTextVectorizer(views=("description",)).fit(myntra_listings.assign(description=""))


def test_unknown_view_is_named() -> None:
    frame = pd.DataFrame({"name": ["a b"], "description": [""], "brand": [pd.NA]})
    with pytest.raises(ValueError, match=r"Unknown view 'title'; known views: \['brand_x_name'"):
        ListingTextVectorizer(views=("name", "title")).fit(frame)


def test_not_fitted_errors(myntra_listings: pd.DataFrame) -> None:
    vectorizer = ListingTextVectorizer()
    message = "This ListingTextVectorizer is not fitted yet; call fit first."
    with pytest.raises(NotFittedError, match=message):
        vectorizer.transform(myntra_listings)
    with pytest.raises(NotFittedError, match=message):
        vectorizer.to_arrays()
    with pytest.raises(NotFittedError, match=message):
        _ = vectorizer.n_features


def test_listing_tokens_are_lowercase_unicode_words() -> None:
    names = pd.Series(["Puma Men's RUNNING Shoes", "ナイキ スニーカー 27cm", None, pd.NA])
    assert listing_tokens(names) == [
        ["puma", "men", "s", "running", "shoes"],
        ["ナイキ", "スニーカー", "27cm"],
        [],
        [],
    ]


@pytest.mark.parametrize(
    ("view", "token"),
    [
        ("tags", "brand=puma"),
        ("tags", "cat1=men/shoes"),
        ("tags", "type1=shoes"),
        ("brand_x_name", "h&m__top"),
        ("context_x_name", "men/shoes__shoes"),
    ],
)
def test_compound_tokens_survive_as_one_feature(view: str, token: str) -> None:
    listings = pd.DataFrame(
        {
            "name": ["Puma Running Shoes", "Puma Walking Shoes", "H&M Top", "H&M Top"],
            "description": ["", "", "", ""],
            "brand": ["Puma", "Puma", "H&M", "H&M"],
            "category": ["Men/Shoes", "Men/Shoes", "Women/Tops", "Women/Tops"],
        }
    )
    vectorizer = ListingTextVectorizer(views=(view,)).fit(listings)
    assert token in vectorizer.vectorizers_[view].vocabulary_
