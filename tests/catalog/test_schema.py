"""ListingSchema: every rule, checked on in-memory frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import LISTING_COLUMNS, ListingSchema, Problem, attribute_columns
from furima.exceptions import SchemaError


def frame(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {"name": ["Blouse"] * len(next(iter(columns.values())))}
    return pd.DataFrame({**base, **columns})


def test_listing_columns_are_the_canonical_eight() -> None:
    assert LISTING_COLUMNS == (
        "listing_id",
        "name",
        "description",
        "brand",
        "category",
        "condition",
        "shipping",
        "price",
    )


def test_conform_gives_canonical_dtypes_and_order() -> None:
    raw = pd.DataFrame(
        {
            "gender": ["Women", None],
            "price": ["12.5", None],
            "name": [" Blouse ", "Shirt"],
            "condition": ["3", 1],
            "shipping": [1, "0"],
            "brand": ["", "Zara"],
            "description": ["No description yet", None],
            "category": ["Women/Tops & Blouses/Blouse", ""],
        }
    )
    out, problems = ListingSchema().conform(raw)
    assert problems == []
    assert list(out.columns) == [*LISTING_COLUMNS[1:], "gender"]
    assert attribute_columns(out) == ["gender"]
    assert out["name"].tolist() == ["Blouse", "Shirt"]
    assert out["description"].tolist() == ["", ""]
    assert out["brand"].isna().tolist() == [True, False]
    assert out["category"].isna().tolist() == [False, True]
    assert out["condition"].tolist() == [3, 1]
    assert str(out["condition"].dtype) == "Int64"
    assert str(out["shipping"].dtype) == "Int64"
    assert out["price"].dtype == np.float64
    assert out["price"].iloc[0] == 12.5
    assert np.isnan(out["price"].iloc[1])
    assert isinstance(out["gender"].dtype, pd.StringDtype)


def test_missing_name_column_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"'name' column.*\['title'\]"):
        ListingSchema().validate(pd.DataFrame({"title": ["x"]}))


@pytest.mark.parametrize("name", ["", "   ", None])
def test_empty_name_is_a_problem(name: object) -> None:
    problems = ListingSchema().validate(pd.DataFrame({"name": ["ok", name]}))
    assert problems == [Problem(2, "name", "name is required but empty or missing")]


@pytest.mark.parametrize(
    ("price", "expected"),
    [("abc", "got 'abc'"), (0, "got '0.0'"), (-3.5, "got '-3.5'"), ("inf", "got 'inf'")],
)
def test_bad_price_names_row_column_and_value(price: object, expected: str) -> None:
    problems = ListingSchema().validate(frame(price=[10.0, price]))
    assert len(problems) == 1
    assert problems[0].row == 2
    assert problems[0].column == "price"
    assert "finite number > 0" in problems[0].reason
    assert expected in problems[0].reason


def test_missing_price_is_fine_unless_required() -> None:
    data = frame(price=[10.0, None])
    assert ListingSchema().validate(data) == []
    problems = ListingSchema(require_price=True).validate(data)
    assert [(p.row, p.column) for p in problems] == [(2, "price")]
    assert "price is missing" in problems[0].reason


@pytest.mark.parametrize("condition", [0, 6, 2.5, "so-so"])  # "new" is a Mercari word now
def test_condition_must_be_integer_1_to_5(condition: object) -> None:
    problems = ListingSchema().validate(frame(condition=[1, condition]))
    assert [(p.row, p.column) for p in problems] == [(2, "condition")]
    assert "integer 1..5" in problems[0].reason


@pytest.mark.parametrize("shipping", [2, -1, "yes"])
def test_shipping_must_be_0_or_1(shipping: object) -> None:
    problems = ListingSchema().validate(frame(shipping=[0, shipping]))
    assert [(p.row, p.column) for p in problems] == [(2, "shipping")]
    assert "integer 0..1" in problems[0].reason


@pytest.mark.parametrize("category", ["Women//Blouse", "/Women", "Women/", "/"])
def test_category_with_empty_level_is_a_problem(category: str) -> None:
    problems = ListingSchema().validate(frame(category=["Women/Tops", category]))
    assert [(p.row, p.column) for p in problems] == [(2, "category")]
    assert "empty level" in problems[0].reason
    assert repr(category) in problems[0].reason


def test_text_with_undecodable_bytes_is_a_problem() -> None:
    raw = pd.DataFrame({"name": ["ok", b"caf\xe9 au lait"]})
    problems = ListingSchema().validate(raw)
    assert [(p.row, p.column) for p in problems] == [(2, "name")]
    assert "not valid UTF-8" in problems[0].reason
    assert "\\xe9" in problems[0].reason


def test_lone_surrogates_count_as_undecodable() -> None:
    text = b"bad \xff".decode("utf-8", "surrogateescape")
    names = pd.Series(["ok", text], dtype=object)
    problems = ListingSchema().validate(pd.DataFrame({"name": names}))
    assert [(p.row, p.column) for p in problems] == [(2, "name")]
    assert "\\xff" in problems[0].reason


def test_non_text_objects_in_text_columns_are_problems() -> None:
    problems = ListingSchema().validate(pd.DataFrame({"name": ["ok", ["a", "list"]]}))
    assert problems == [Problem(2, "name", "name must be text, got list")]


def test_numbers_in_text_columns_become_text() -> None:
    names = pd.Series([1984, 2.0, 2.5], dtype=object)
    out, problems = ListingSchema().conform(pd.DataFrame({"name": names}))
    assert problems == []
    assert out["name"].tolist() == ["1984", "2", "2.5"]


def test_listing_ids_must_be_present_and_unique() -> None:
    raw = pd.DataFrame({"listing_id": ["a", "b", "a", None], "name": ["x"] * 4})
    problems = ListingSchema().validate(raw)
    assert [(p.row, p.column) for p in problems] == [(3, "listing_id"), (4, "listing_id")]
    assert "duplicate listing_id 'a' (first in row 1)" in problems[0].reason
    assert "missing" in problems[1].reason


def test_problems_sorted_by_row_then_column_order() -> None:
    raw = pd.DataFrame({"name": ["", "ok"], "price": [-1, -2], "condition": [9, 1]})
    problems = ListingSchema().validate(raw)
    assert [(p.row, p.column) for p in problems] == [
        (1, "name"),
        (1, "condition"),
        (1, "price"),
        (2, "price"),
    ]


def test_bad_cells_become_missing_in_the_conformed_frame() -> None:
    out, _ = ListingSchema().conform(frame(price=["abc", 5], condition=[7, 2]))
    assert np.isnan(out["price"].iloc[0])
    assert out["condition"].isna().tolist() == [True, False]


@pytest.mark.parametrize("source", ["mercari_format_150.tsv", "myntra_150.parquet"])
def test_a_few_plain_rows_conform_like_the_vectorised_path(
    source: str, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from furima.catalog import _schema
    from furima.catalog._mapping import get_mapping

    path = fixtures / source
    raw = pd.read_csv(path, sep="\t") if source.endswith(".tsv") else pd.read_parquet(path)
    mapping = get_mapping("mercari" if source.endswith(".tsv") else "myntra")
    rows = mapping.apply(raw).head(40)
    rows.loc[rows.index[0], "description"] = "No description yet"
    rows.loc[rows.index[1], "name"] = "  padded name  "
    fast, fast_problems = ListingSchema().conform(rows)
    monkeypatch.setattr(_schema, "SMALL_ROWS", 0)
    slow, slow_problems = ListingSchema().conform(rows)
    assert fast_problems == slow_problems == []
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.loc[rows.index[0], "description"] == ""
    assert fast.loc[rows.index[1], "name"] == "padded name"
