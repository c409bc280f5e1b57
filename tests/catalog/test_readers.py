"""read_listings on the committed real-data fixtures: formats, mappings and ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import LISTING_COLUMNS, ColumnMapping, get_mapping, read_listings
from furima.exceptions import DataError, SchemaError


def test_mercari_tsv_is_detected_and_read(fixtures: Path, myntra: pd.DataFrame) -> None:
    result = read_listings(fixtures / "mercari_format_150.tsv")
    listings = result.listings
    assert (result.n_read, result.n_rejected, len(listings)) == (150, 0, 150)
    assert result.mapping == get_mapping("mercari")
    assert list(listings.columns) == list(LISTING_COLUMNS)
    assert listings["listing_id"].tolist() == [str(i) for i in range(150)]
    assert listings["name"].tolist() == myntra["name"].str.strip().tolist()
    assert listings["price"].tolist() == myntra["price"].astype(float).tolist()
    assert listings["condition"].tolist() == (myntra["product_id"] % 5 + 1).tolist()
    assert listings["category"].iloc[0] == "Unisex/Doormat"
    # descriptions with tabs or newlines survive the TSV quoting
    assert listings["description"].tolist() == myntra["description"].str.strip().tolist()


@pytest.mark.parametrize("name", ["myntra_150.parquet", "myntra_150.csv"])
def test_myntra_files_use_the_preset(fixtures: Path, myntra: pd.DataFrame, name: str) -> None:
    result = read_listings(fixtures / name)
    listings = result.listings
    assert result.mapping == get_mapping("myntra")
    assert result.ignored_columns == ("num_images",)
    assert list(listings.columns) == [*LISTING_COLUMNS, "gender", "primary_color"]
    assert listings["listing_id"].tolist() == myntra["product_id"].astype(str).tolist()
    assert listings["gender"].tolist() == myntra["gender"].tolist()
    expected_colour = myntra["primary_color"].str.strip().fillna("<NA>").tolist()
    assert listings["primary_color"].fillna("<NA>").tolist() == expected_colour
    assert listings["category"].isna().all()
    assert (listings["description"] != "").all()


def test_parquet_and_csv_give_the_same_listings(fixtures: Path) -> None:
    parquet = read_listings(fixtures / "myntra_150.parquet").listings
    csv = read_listings(fixtures / "myntra_150.csv").listings
    pd.testing.assert_frame_equal(parquet, csv)


@pytest.mark.parametrize("name", ["flipkart_150.parquet", "flipkart_150.jsonl"])
def test_flipkart_files(fixtures: Path, name: str) -> None:
    native = pd.read_parquet(fixtures / "flipkart_150.parquet")
    result = read_listings(fixtures / name)
    listings = result.listings
    assert result.mapping == get_mapping("flipkart")
    assert set(result.ignored_columns) == {"pid", "discounted_price"}
    assert listings["listing_id"].tolist() == native["uniq_id"].tolist()
    assert listings["name"].tolist() == native["product_name"].str.strip().tolist()
    np.testing.assert_array_equal(listings["price"], native["retail_price"])
    assert listings["is_FK_Advantage_product"].isin(["True", "False"]).all()


def test_explicit_mapping_forms(fixtures: Path, tmp_path: Path) -> None:
    source = fixtures / "myntra_150.parquet"
    mapping = ColumnMapping(name="name", price="price", attributes=("gender",))
    as_object = read_listings(source, mapping=mapping).listings
    spec = tmp_path / "map.json"
    spec.write_text(json.dumps({"name": "name", "price": "price", "attributes": ["gender"]}))
    as_json = read_listings(source, mapping=str(spec)).listings
    pd.testing.assert_frame_equal(as_object, as_json)
    assert list(as_object.columns) == [*LISTING_COLUMNS, "gender"]
    assert as_object["brand"].isna().all()
    by_name = read_listings(source, mapping="myntra").listings
    assert by_name["listing_id"].iloc[0] != as_object["listing_id"].iloc[0]


def canonical(myntra: pd.DataFrame) -> pd.DataFrame:
    return myntra.drop(columns=["product_id", "num_images", "primary_color"])


def test_canonical_file_gets_stable_content_ids(myntra: pd.DataFrame, tmp_path: Path) -> None:
    frame = canonical(myntra)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    first = read_listings(tmp_path / "a.csv")
    again = read_listings(tmp_path / "a.csv")
    as_json = read_listings(tmp_path / "a.jsonl")
    ids = first.listings["listing_id"]
    assert ids.str.fullmatch(r"[0-9a-f]{16}").all()
    assert ids.is_unique
    assert ids.tolist() == again.listings["listing_id"].tolist()
    assert ids.tolist() == as_json.listings["listing_id"].tolist()
    assert first.ignored_columns == ("gender",)


def test_content_ids_ignore_price_and_number_repeats(myntra: pd.DataFrame, tmp_path: Path) -> None:
    frame = canonical(myntra).head(3)
    repeated = pd.concat([frame, frame.iloc[[0]], frame.iloc[[0]]], ignore_index=True)
    repeated.to_csv(tmp_path / "r.csv", index=False)
    ids = read_listings(tmp_path / "r.csv").listings["listing_id"].tolist()
    assert ids[3:] == [f"{ids[0]}-2", f"{ids[0]}-3"]
    repriced = frame.assign(price=frame["price"] * 2)
    repriced.to_csv(tmp_path / "p.csv", index=False)
    assert read_listings(tmp_path / "p.csv").listings["listing_id"].tolist() == ids[:3]


def test_no_description_yet_means_empty(fixtures: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(fixtures / "mercari_format_150.tsv", sep="\t")
    raw.loc[1, "item_description"] = "No description yet"
    raw.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    assert read_listings(tmp_path / "m.tsv").listings["description"].iloc[1] == ""


def test_format_argument_overrides_extension(fixtures: Path, tmp_path: Path) -> None:
    odd = tmp_path / "listings.txt"
    odd.write_bytes((fixtures / "mercari_format_150.tsv").read_bytes())
    with pytest.raises(DataError, match=r"listings\.txt.*extension '\.txt'.*format="):
        read_listings(odd)
    assert len(read_listings(odd, format="tsv").listings) == 150
    with pytest.raises(DataError, match="unknown format 'xlsx'"):
        read_listings(odd, format="xlsx")


def test_json_array_file(fixtures: Path, tmp_path: Path) -> None:
    records = pd.read_parquet(fixtures / "flipkart_150.parquet").head(5)
    records.to_json(tmp_path / "items.json", orient="records")
    assert len(read_listings(tmp_path / "items.json").listings) == 5


def test_progress_bar_only_when_asked(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    read_listings(fixtures / "myntra_150.csv")
    assert capsys.readouterr().err == ""
    read_listings(fixtures / "myntra_150.csv", progress=True)
    assert "reading myntra_150.csv" in capsys.readouterr().err


def test_bad_on_error_value() -> None:
    with pytest.raises(ValueError, match="'fail' or 'skip'"):
        read_listings("x.csv", on_error="ignore")  # type: ignore[arg-type]


def test_mapping_without_required_columns(myntra: pd.DataFrame, tmp_path: Path) -> None:
    myntra.rename(columns={"name": "title"}).drop(columns="num_images").to_csv(
        tmp_path / "t.csv", index=False
    )
    with pytest.raises(SchemaError) as info:
        read_listings(tmp_path / "t.csv")
    message = str(info.value)
    assert "t.csv" in message and "'title'" in message and "'name' column" in message
