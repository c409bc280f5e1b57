"""ColumnMapping: construction, errors that name the problem, presets and detection."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from furima.catalog import MAPPING_PRESETS, ColumnMapping, detect_mapping, get_mapping
from furima.exceptions import SchemaError

MERCARI_TRAIN = [
    "train_id",
    "name",
    "item_condition_id",
    "category_name",
    "brand_name",
    "price",
    "shipping",
    "item_description",
]


def test_from_dict_maps_fields_and_attributes() -> None:
    mapping = ColumnMapping.from_dict(
        {"name": "product_name", "price": "retail_price", "attributes": ["gender"]}
    )
    assert mapping.name == "product_name"
    assert mapping.price == "retail_price"
    assert mapping.brand is None
    assert mapping.attributes == ("gender",)
    assert mapping.source_columns() == ["product_name", "retail_price", "gender"]


def test_unknown_keys_are_listed_with_the_valid_keys() -> None:
    with pytest.raises(SchemaError) as info:
        ColumnMapping.from_dict({"name": "title", "cost": "price", "colour": "c"})
    message = str(info.value)
    assert "unknown mapping keys ['colour', 'cost']" in message
    assert "'shipping'" in message and "'attributes'" in message


def test_mapping_without_name_is_an_error() -> None:
    with pytest.raises(SchemaError, match="'name'"):
        ColumnMapping.from_dict({"price": "retail_price"})


@pytest.mark.parametrize(
    "data",
    [{"name": 3}, {"name": ""}, {"name": "t", "attributes": "gender"}, {"name": "t", "id": []}],
)
def test_values_must_be_column_names(data: dict[str, object]) -> None:
    with pytest.raises(SchemaError, match="must be"):
        ColumnMapping.from_dict(data)


def test_attributes_may_not_shadow_canonical_columns() -> None:
    with pytest.raises(SchemaError, match=r"\['price'\] clash"):
        ColumnMapping(name="title", attributes=("price",))


def test_from_json_round_trips(tmp_path: Path) -> None:
    mapping = get_mapping("flipkart")
    path = tmp_path / "flipkart.json"
    path.write_text(json.dumps(mapping.to_dict()))
    assert ColumnMapping.from_json(path) == mapping


def test_from_json_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ')
    with pytest.raises(SchemaError, match=r"broken\.json.*JSON"):
        ColumnMapping.from_json(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"name": "t", "title": "t"}')
    with pytest.raises(SchemaError, match=r"unknown\.json.*unknown mapping keys \['title'\]"):
        ColumnMapping.from_json(unknown)
    with pytest.raises(SchemaError, match=r"absent\.json.*not found"):
        ColumnMapping.from_json(tmp_path / "absent.json")
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(SchemaError, match="one JSON object, got list"):
        ColumnMapping.from_json(listed)


def test_missing_mapped_columns_name_file_missing_and_present() -> None:
    mapping = ColumnMapping(name="product_name", price="retail_price")
    with pytest.raises(SchemaError) as info:
        mapping.check_columns(["product_name", "brand"], file="items.csv")
    message = str(info.value)
    assert "items.csv" in message
    assert "['retail_price']" in message
    assert "['product_name', 'brand']" in message


def test_apply_renames_and_selects() -> None:
    raw = pd.DataFrame({"product_name": ["a"], "retail_price": [5], "junk": [1], "gender": ["M"]})
    mapping = ColumnMapping(name="product_name", price="retail_price", attributes=("gender",))
    assert list(mapping.apply(raw).columns) == ["name", "price", "gender"]


def test_presets() -> None:
    assert set(MAPPING_PRESETS) == {"mercari", "myntra", "flipkart"}
    mercari = get_mapping("mercari")
    assert mercari.source_columns() == [
        "train_id",
        "name",
        "item_description",
        "brand_name",
        "category_name",
        "item_condition_id",
        "shipping",
        "price",
    ]
    myntra = get_mapping("Myntra")
    assert (myntra.id, myntra.attributes) == ("product_id", ("gender", "primary_color"))
    flipkart = get_mapping("flipkart")
    assert flipkart.price == "retail_price"
    assert "discounted_price" not in flipkart.source_columns()


def test_mercari_test_file_variant() -> None:
    columns = ["test_id", *MERCARI_TRAIN[1:5], *MERCARI_TRAIN[6:]]
    mapping = get_mapping("mercari", columns=columns)
    assert (mapping.id, mapping.price) == ("test_id", None)
    mapping.check_columns(columns, file="test.tsv")


def test_unknown_preset_lists_presets() -> None:
    with pytest.raises(SchemaError, match=r"'ebay'.*\['mercari', 'myntra', 'flipkart'\]"):
        get_mapping("ebay")


def test_detect_preset_headers_then_canonical_names() -> None:
    assert detect_mapping(MERCARI_TRAIN, file="t.tsv") == (
        get_mapping("mercari"),
        "preset 'mercari'",
    )
    myntra_columns = ["product_id", "name", "brand", "gender", "price", "num_images"]
    assert detect_mapping([*myntra_columns, "description", "primary_color"], file="m")[0] == (
        get_mapping("myntra")
    )
    mapping, how = detect_mapping(["name", "price", "listing_id", "colour"], file="c.csv")
    assert how == "canonical column names"
    assert mapping == ColumnMapping(id="listing_id", name="name", price="price")


def test_detect_failure_says_what_is_needed() -> None:
    with pytest.raises(SchemaError) as info:
        detect_mapping(["title", "cost"], file="shop.csv")
    message = str(info.value)
    assert "shop.csv" in message
    assert "['title', 'cost']" in message
    assert "'name' column" in message
    assert "mapping=" in message


def test_a_fitting_mapping_reads_new_listings_without_their_price(tmp_path: Path) -> None:
    from furima.catalog import read_listings

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"name": "title", "price": "sold_for"}), encoding="utf-8")
    path = tmp_path / "new.csv"
    path.write_text("title,msrp\nDenim jacket,120\n", encoding="utf-8")
    listings = read_listings(path, mapping=mapping).listings
    assert listings["name"].tolist() == ["Denim jacket"]
    assert "price" not in listings or listings["price"].isna().all()
    with pytest.raises(SchemaError, match=r"needs columns \['sold_for'\]"):
        read_listings(path, mapping=mapping, require_price=True)
