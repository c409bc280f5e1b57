"""read_listings on broken files: every error names the file, row and column, and skip mode
drops exactly the bad rows into an atomic rejects file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from furima.catalog import read_listings
from furima.exceptions import DataError, EmptyDataError, SchemaError, ValidationError


def write_tsv(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` tab-separated, as Mercari ships it."""
    frame.to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture
def mercari(fixtures: Path) -> pd.DataFrame:
    """The Mercari-format fixture as raw text columns, ready to be broken."""
    return pd.read_csv(fixtures / "mercari_format_150.tsv", sep="\t", dtype=str)


def problems_of(path: Path, **options: object) -> list[tuple[int, str, str]]:
    with pytest.raises(ValidationError) as info:
        read_listings(path, **options)  # type: ignore[arg-type]
    assert str(path) in str(info.value)
    return info.value.problems


# -- files that cannot be read at all ---------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.tsv.*no such file"):
        read_listings(tmp_path / "nope.tsv")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="not a file"):
        read_listings(folder)


@pytest.mark.parametrize("name", ["e.tsv", "e.csv", "e.parquet", "e.jsonl"])
def test_zero_byte_files(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(EmptyDataError, match=rf"{name}.*empty \(0 bytes\)"):
        read_listings(tmp_path / name)


@pytest.mark.parametrize("name", ["h.tsv", "h.csv"])
def test_header_only_files(mercari: pd.DataFrame, tmp_path: Path, name: str) -> None:
    sep = "\t" if name.endswith("tsv") else ","
    (tmp_path / name).write_text(sep.join(mercari.columns) + "\n")
    with pytest.raises(EmptyDataError, match=rf"{name}.*no data rows"):
        read_listings(tmp_path / name)


def test_parquet_without_rows(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.head(0).to_parquet(tmp_path / "z.parquet")
    with pytest.raises(EmptyDataError, match=r"z\.parquet.*no data rows"):
        read_listings(tmp_path / "z.parquet")


def test_blank_jsonl(tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_text("\n  \n\n")
    with pytest.raises(EmptyDataError, match=r"b\.jsonl.*blank lines"):
        read_listings(tmp_path / "b.jsonl")


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "c.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"c\.parquet.*cannot read the file as Parquet"):
        read_listings(tmp_path / "c.parquet")


# -- columns ----------------------------------------------------------------------------------


def test_mapped_columns_absent(mercari: pd.DataFrame, tmp_path: Path) -> None:
    path = write_tsv(tmp_path / "m.tsv", mercari.drop(columns=["price", "shipping"]))
    with pytest.raises(SchemaError) as info:
        read_listings(path, mapping="mercari", require_price=True)
    message = str(info.value)
    assert "m.tsv" in message
    assert "['shipping', 'price']" in message
    with pytest.raises(SchemaError, match=r"needs columns \['shipping'\] that"):
        read_listings(path, mapping="mercari")  # listings to price may lack the price
    assert "'item_description'" in message  # the columns that do exist


def test_no_usable_columns(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("title,cost\nshirt,5\n")
    with pytest.raises(SchemaError, match=r"x\.csv.*\['title', 'cost'\].*'name' column"):
        read_listings(tmp_path / "x.csv")


# -- rows -------------------------------------------------------------------------------------


def test_wrong_type_names_row_column_and_value(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.loc[2, "price"] = "abc"
    path = write_tsv(tmp_path / "m.tsv", mercari)
    with pytest.raises(ValidationError) as info:
        read_listings(path)
    message = str(info.value)
    assert "1 of 150 rows" in message
    assert "row 3, column 'price': price must be a finite number > 0, got 'abc'" in message
    assert "on_error='skip'" in message
    assert info.value.problems == [(3, "price", "price must be a finite number > 0, got 'abc'")]


def test_zero_and_negative_prices(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.loc[0, "price"] = "0"
    mercari.loc[4, "price"] = "-12.5"
    mercari.loc[5, "price"] = None
    path = write_tsv(tmp_path / "m.tsv", mercari)
    assert [p[:2] for p in problems_of(path)] == [(1, "price"), (5, "price")]
    problems = problems_of(path, require_price=True)
    assert [p[:2] for p in problems] == [(1, "price"), (5, "price"), (6, "price")]
    assert "price is missing" in problems[2][2]


def test_category_with_empty_levels(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.loc[[3, 7, 9], "category_name"] = ["Women//Blouse", "/Women", "Women/"]
    problems = problems_of(write_tsv(tmp_path / "m.tsv", mercari))
    assert [p[:2] for p in problems] == [
        (4, "category_name"),
        (8, "category_name"),
        (10, "category_name"),
    ]
    assert "'Women//Blouse' has an empty level" in problems[0][2]


def test_condition_and_shipping_out_of_range(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.loc[0, "item_condition_id"] = "7"
    mercari.loc[1, "shipping"] = "2"
    problems = problems_of(write_tsv(tmp_path / "m.tsv", mercari))
    assert [p[:2] for p in problems] == [(1, "item_condition_id"), (2, "shipping")]


def test_failure_message_lists_the_first_problems(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari["price"] = "-1"
    with pytest.raises(ValidationError) as info:
        read_listings(write_tsv(tmp_path / "m.tsv", mercari))
    assert "150 of 150 rows" in str(info.value)
    assert "... and 145 more problems" in str(info.value)
    assert len(info.value.problems) == 150


def corrupt(path: Path, row: int, good: bytes, bad: bytes) -> None:
    """Replace ``good`` with ``bad`` bytes in data row ``row`` of a one-line-per-row file."""
    lines = path.read_bytes().split(b"\n")
    assert good in lines[row]
    lines[row] = lines[row].replace(good, bad, 1)
    path.write_bytes(b"\n".join(lines))


def test_non_utf8_bytes_in_tsv(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari = mercari[~mercari["item_description"].str.contains("\n|\t")].head(20)
    path = write_tsv(tmp_path / "latin1.tsv", mercari.reset_index(drop=True))
    name = mercari["name"].iloc[6].encode()
    corrupt(path, 7, name, name + b" caf\xe9")
    problems = problems_of(path)
    assert [p[:2] for p in problems] == [(7, "name")]
    assert "not valid UTF-8 (undecodable bytes \\xe9)" in problems[0][2]


def test_non_utf8_bytes_in_csv_and_jsonl(fixtures: Path, tmp_path: Path) -> None:
    native = pd.read_parquet(fixtures / "flipkart_150.parquet").head(10)
    native.to_csv(tmp_path / "f.csv", index=False)
    native.to_json(tmp_path / "f.jsonl", orient="records", lines=True)
    rating = native["product_rating"].iloc[2].encode()  # the first of the two rating columns
    corrupt(tmp_path / "f.csv", 3, rating, b"\xff\xfe" + rating)
    corrupt(tmp_path / "f.jsonl", 2, rating, b"\x80" + rating)
    assert [p[:2] for p in problems_of(tmp_path / "f.csv")] == [(3, "product_rating")]
    assert [p[:2] for p in problems_of(tmp_path / "f.jsonl")] == [(3, "product_rating")]


def test_non_utf8_bytes_in_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pa.array([b"ok", b"bad \xe9", b"fine"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"name": names, "price": [1.0, 2.0, 3.0]}), tmp_path / "u.parquet")
    problems = problems_of(tmp_path / "u.parquet")
    assert [p[:2] for p in problems] == [(2, "name")]


def test_unsplittable_row(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari = mercari[~mercari["item_description"].str.contains("\n|\t")].head(10)
    path = write_tsv(tmp_path / "m.tsv", mercari.reset_index(drop=True))
    corrupt(path, 4, b"\t", b"\textra\t")
    problems = problems_of(path)
    assert [p[:2] for p in problems] == [(4, "")]
    assert "cannot be split into columns: expected 8 fields, saw 9" in problems[0][2]
    result = read_listings(path, on_error="skip")
    assert (result.n_read, result.n_rejected, len(result.listings)) == (10, 1, 9)
    ids = mercari["train_id"].tolist()
    assert result.listings["listing_id"].tolist() == ids[:3] + ids[4:]


def test_row_numbers_count_blank_lines_and_multiline_records(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text('name,price,description\na,1,"two\nlines"\n\nb,2,x\nc,3,x,extra\nd,abc,x\n')
    problems = problems_of(path)
    assert [p[:2] for p in problems] == [(4, ""), (5, "price")]
    result = read_listings(path, on_error="skip")
    assert result.listings["name"].tolist() == ["a", "b"]
    assert result.listings["description"].iloc[0] == "two\nlines"


def test_broken_json_line_names_the_line(fixtures: Path, tmp_path: Path) -> None:
    lines = (fixtures / "flipkart_150.jsonl").read_text().splitlines()[:5]
    lines[3] = lines[3][:20]
    (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n")
    problems = problems_of(tmp_path / "f.jsonl")
    assert [p[:2] for p in problems] == [(4, "")]
    assert "not valid JSON" in problems[0][2]


# -- skip mode --------------------------------------------------------------------------------


def test_skip_drops_bad_rows_and_writes_rejects(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari.loc[2, "price"] = "abc"
    mercari.loc[9, ["name", "item_condition_id"]] = [None, "9"]
    mercari.loc[20, "category_name"] = "Men//Shirt"
    path = write_tsv(tmp_path / "m.tsv", mercari)
    rejects = tmp_path / "out" / "rejects.csv"
    result = read_listings(path, on_error="skip", rejects_path=rejects)
    assert (result.n_read, result.n_rejected, len(result.listings)) == (150, 3, 147)
    assert result.rejects_path == rejects
    assert not {"2", "9", "20"} & set(result.listings["listing_id"])
    written = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert written[["row", "column"]].values.tolist() == [
        ["3", "price"],
        ["10", "name"],
        ["10", "item_condition_id"],
        ["21", "category_name"],
    ]
    assert written["reason"].iloc[0] == "price must be a finite number > 0, got 'abc'"
    assert list(written.columns[3:]) == list(mercari.columns)
    assert written["train_id"].tolist() == ["2", "9", "9", "20"]
    assert written["price"].iloc[0] == "abc"
    assert [p.name for p in rejects.parent.iterdir()] == ["rejects.csv"]  # no temp file left


def test_skip_without_rejects_path_keeps_rejects_in_memory(
    mercari: pd.DataFrame, tmp_path: Path
) -> None:
    mercari.loc[0, "price"] = "-5"
    result = read_listings(write_tsv(tmp_path / "m.tsv", mercari), on_error="skip")
    assert result.rejects_path is None
    assert result.rejects["row"].tolist() == [1]
    assert list(tmp_path.iterdir()) == [tmp_path / "m.tsv"]


def test_skip_shows_undecodable_bytes_in_rejects(mercari: pd.DataFrame, tmp_path: Path) -> None:
    mercari = mercari[~mercari["item_description"].str.contains("\n|\t")].head(5)
    path = write_tsv(tmp_path / "m.tsv", mercari.reset_index(drop=True))
    corrupt(path, 2, b"\t", b"\xe9\t")
    result = read_listings(path, on_error="skip", rejects_path=tmp_path / "r.csv")
    assert result.n_rejected == 1
    written = pd.read_csv(tmp_path / "r.csv", dtype=str)
    assert written["train_id"].iloc[0].endswith("\\xe9")


def test_vectorised_on_many_rows(mercari: pd.DataFrame, tmp_path: Path) -> None:
    big = pd.concat([mercari] * 400, ignore_index=True)  # 60,000 rows
    big["train_id"] = range(len(big))
    big.loc[::1000, "price"] = "0"
    result = read_listings(write_tsv(tmp_path / "big.tsv", big), on_error="skip")
    assert (result.n_read, result.n_rejected) == (60_000, 60)
    assert result.listings["listing_id"].is_unique
