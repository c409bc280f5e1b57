"""Typed attributes: numeric columns, condition words, and what bad values say."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import (
    MERCARI_CONDITIONS,
    MERCARI_JP_CONDITIONS,
    CatalogStore,
    ColumnMapping,
    ConditionScale,
    ListingSchema,
    categorical_attribute_columns,
    numeric_attribute_columns,
    read_listings,
)
from furima.exceptions import SchemaError, ValidationError

RESALE_CSV = """title,price,condition,msrp,size,zip
Denim jacket,25,used,120,M,02134
Silk scarf,40,Like new,89.5,,10001
Leather boots,80,New with tags,,42,94105
Wool coat,55,3,310.25,L,60601
"""
RESALE_MAPPING = {
    "name": "title",
    "price": "price",
    "condition": "condition",
    "numeric": ["msrp"],
    "attributes": ["size"],
}


@pytest.fixture
def resale(tmp_path: Path) -> Path:
    path = tmp_path / "resale.csv"
    path.write_text(RESALE_CSV, encoding="utf-8")
    return path


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_resale_file_reads_numeric_msrp_and_condition_words(resale: Path, tmp_path: Path) -> None:
    mapping = write_json(tmp_path / "resale.json", RESALE_MAPPING)
    result = read_listings(resale, mapping=mapping)
    listings = result.listings
    assert listings["msrp"].dtype == np.float64
    np.testing.assert_array_equal(listings["msrp"].to_numpy(), [120.0, 89.5, np.nan, 310.25])
    assert str(listings["condition"].dtype) == "Int64"
    assert listings["condition"].tolist() == [3, 2, 1, 3]
    assert isinstance(listings["size"].dtype, pd.StringDtype)
    assert numeric_attribute_columns(listings) == ["msrp"]
    assert categorical_attribute_columns(listings) == ["size"]
    assert result.inferred_numeric == ()
    assert result.ignored_columns == ("zip",)


def test_canonical_file_infers_numeric_columns_and_reports_them(tmp_path: Path) -> None:
    path = tmp_path / "canonical.csv"
    path.write_text(
        "name,price,condition,msrp,weight_g,zip,seller_id,colour\n"
        "Jacket,25,good,120,850,02134,17,blue\n"
        "Scarf,40,1,89.5,,10001,18,red\n",
        encoding="utf-8",
    )
    result = read_listings(path)
    assert result.inferred_numeric == ("msrp", "weight_g")
    assert numeric_attribute_columns(result.listings) == ["msrp", "weight_g"]
    assert result.listings["weight_g"].tolist()[0] == 850.0
    assert result.listings["condition"].tolist() == [3, 1]
    assert result.ignored_columns == ("zip", "seller_id", "colour")
    plain = read_listings(path, infer_numeric=False)
    assert plain.inferred_numeric == ()
    assert list(plain.listings.columns)[-1] == "price"


def test_a_column_of_photo_bytes_is_never_inferred_numeric(tmp_path: Path) -> None:
    path = tmp_path / "photos.parquet"
    pd.DataFrame(
        {"name": ["Jacket", "Scarf"], "price": [25.0, 40.0], "msrp": [120.0, None]}
        | {"jpeg": [b"\xff\xd8\xff\xe0 not utf-8 \x9c", b"\x89PNG\r\n"]}
    ).to_parquet(path)
    result = read_listings(path)
    assert result.inferred_numeric == ("msrp",)
    assert "jpeg" in result.ignored_columns


def test_japanese_condition_table_in_a_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "mercari_jp.csv"
    path.write_text(
        "商品名,価格,状態\nバッグ,3000,新品、未使用\n財布,1200, 目立った傷や汚れなし \n靴,800,2\n",
        encoding="utf-8",
    )
    mapping = {
        "name": "商品名",
        "price": "価格",
        "condition": "状態",
        "conditions": {"新品、未使用": 1, "未使用に近い": 2, "目立った傷や汚れなし": 3},
    }
    result = read_listings(path, mapping=write_json(tmp_path / "jp.json", mapping))
    assert result.listings["condition"].tolist() == [1, 3, 2]
    assert result.mapping.condition_scale.level("未使用に近い") == 2
    named = read_listings(path, mapping={**mapping, "conditions": "mercari_jp"})
    assert named.listings["condition"].tolist() == [1, 3, 2]


def test_unknown_condition_word_names_the_word_and_the_known_words(tmp_path: Path) -> None:
    path = tmp_path / "words.csv"
    path.write_text("name,condition\nJacket,used\nScarf,barely worn\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_listings(path)
    assert caught.value.problems[0][:2] == (2, "condition")
    reason = caught.value.problems[0][2]
    assert "'barely worn'" in reason
    assert "1 'New', 2 'Like new', 3 'Good', 4 'Fair', 5 'Poor'" in reason
    assert '"conditions"' in reason
    jp = ListingSchema(conditions=MERCARI_JP_CONDITIONS)
    problems = jp.validate(pd.DataFrame({"name": ["a"], "condition": ["used"]}))
    assert "'mercari_jp'" in problems[0].reason and "1 '新品、未使用'" in problems[0].reason


def test_condition_words_are_trimmed_case_and_separator_insensitive() -> None:
    words = ["  LIKE-NEW ", "nwt", "Pre-Owned", "for_parts", "used", "NWOT", "Fair", None]
    out, problems = ListingSchema().conform(pd.DataFrame({"name": ["x"] * 8, "condition": words}))
    assert problems == []
    assert out["condition"].tolist()[:7] == [2, 1, 3, 5, 3, 2, 4]
    assert out["condition"].isna().tolist()[7]
    assert MERCARI_CONDITIONS.level("new with tags") == 1
    assert MERCARI_CONDITIONS.level("so-so") is None


def test_condition_tables_refuse_bad_levels() -> None:
    with pytest.raises(SchemaError, match=r"'mint' must map to an integer level 1\.\.5"):
        ConditionScale.from_dict({"mint": 0})
    with pytest.raises(SchemaError, match="given two levels"):
        ConditionScale.from_dict({"Good": 3, "good ": 4})
    with pytest.raises(SchemaError, match="unknown condition table 'ebay'"):
        ColumnMapping.from_dict({"name": "title", "conditions": "ebay"})


def test_a_column_both_numeric_and_categorical_is_refused(tmp_path: Path) -> None:
    data = {"name": "title", "numeric": ["msrp", "size"], "attributes": ["size"]}
    with pytest.raises(SchemaError, match=r"columns \['size'\] are declared both numeric"):
        ColumnMapping.from_dict(data)
    with pytest.raises(SchemaError, match="both numeric") as caught:
        ColumnMapping.from_json(write_json(tmp_path / "both.json", data))
    assert caught.value.file == str(tmp_path / "both.json")
    with pytest.raises(SchemaError, match="clash with canonical"):
        ColumnMapping(name="title", numeric=("price",))
    with pytest.raises(SchemaError, match=r"numeric columns \['retail'\] already feed \['price'\]"):
        ColumnMapping.from_dict({"name": "title", "price": "retail", "numeric": ["retail"]})


def test_text_and_infinity_in_a_numeric_column_are_row_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "title,price,msrp,size\nA,10,$120,M\nB,12,inf,S\nC,14,-5,L\nD,9,n/a,XL\n", encoding="utf-8"
    )
    mapping = {"name": "title", "price": "price", "numeric": ["msrp"], "attributes": ["size"]}
    with pytest.raises(ValidationError) as caught:
        read_listings(path, mapping=mapping)
    assert [p[:2] for p in caught.value.problems] == [(1, "msrp"), (2, "msrp"), (4, "msrp")]
    assert "msrp is a numeric attribute but '$120' is not a number" in str(caught.value)
    assert "msrp must be a finite number, got 'inf'" in str(caught.value)
    rejects = tmp_path / "rejects.csv"
    result = read_listings(path, mapping=mapping, on_error="skip", rejects_path=rejects)
    assert result.listings["name"].tolist() == ["C"]
    assert result.listings["msrp"].tolist() == [-5.0]  # negative: pricing decides
    written = pd.read_csv(rejects, keep_default_na=False)
    assert written["row"].tolist() == [1, 2, 4]
    assert written["msrp"].tolist() == ["$120", "inf", "n/a"]


def test_frames_keep_float_columns_numeric_unless_told() -> None:
    frame = pd.DataFrame(
        {"name": ["a", "b"], "msrp": [12.5, np.inf], "rating": [4.0, 5.0], "size": ["M", "L"]}
    )
    out, problems = ListingSchema().conform(frame)
    assert [(p.row, p.column) for p in problems] == [(2, "msrp")]
    assert numeric_attribute_columns(out) == ["msrp", "rating"]
    told, _ = ListingSchema(numeric=("msrp",)).conform(frame.assign(msrp=["12.5", "3"]))
    assert told["msrp"].tolist() == [12.5, 3.0]
    assert told["rating"].tolist() == ["4", "5"]  # not declared numeric: text, as before
    one, none = ListingSchema().conform(frame.iloc[:1])  # the few-rows path
    assert none == [] and one["msrp"].dtype == np.float64 and one["msrp"].iloc[0] == 12.5
    _, bad = ListingSchema(numeric=("msrp",)).conform(pd.DataFrame({"name": ["a"], "msrp": [True]}))
    assert [(p.row, p.column) for p in bad] == [(1, "msrp")]


def test_old_mappings_read_the_same_frame(resale: Path, tmp_path: Path) -> None:
    old = {"name": "title", "price": "price", "condition": "condition", "attributes": ["msrp"]}
    mapping = ColumnMapping.from_json(write_json(tmp_path / "old.json", old))
    assert mapping.to_dict() == {**old, "attributes": ["msrp"]}
    listings = read_listings(resale, mapping=mapping).listings
    assert list(listings.columns)[-1] == "msrp"
    assert isinstance(listings["msrp"].dtype, pd.StringDtype)
    assert listings["msrp"].tolist()[:2] == ["120", "89.5"]
    assert numeric_attribute_columns(listings) == []
    assert read_listings(resale, mapping=old).listings.equals(listings)


def test_store_round_trips_numeric_attributes(resale: Path) -> None:
    listings = read_listings(resale, mapping=RESALE_MAPPING).listings
    with CatalogStore(":memory:") as store:
        store.add(listings)
        back = store.get(listings["listing_id"])
    assert back["msrp"].dtype == np.float64
    np.testing.assert_array_equal(back["msrp"].to_numpy(), listings["msrp"].to_numpy())


def test_numeric_option_amends_any_mapping(resale: Path, tmp_path: Path) -> None:
    old = {"name": "title", "price": "price", "attributes": ["msrp", "size"]}
    result = read_listings(resale, mapping=old, numeric=["msrp"])
    assert result.mapping.attributes == ("size",) and result.mapping.numeric == ("msrp",)
    assert result.listings["msrp"].tolist()[:2] == [120.0, 89.5]
    with pytest.raises(SchemaError, match=r"needs columns \['weight'\]"):
        read_listings(resale, mapping=old, numeric=["weight"])
    canonical = tmp_path / "canonical.csv"
    canonical.write_text("name,msrp,score\nA,12,0.5\nB,15,x\n", encoding="utf-8")
    both = read_listings(canonical, numeric=["msrp"])
    assert both.inferred_numeric == () and numeric_attribute_columns(both.listings) == ["msrp"]
