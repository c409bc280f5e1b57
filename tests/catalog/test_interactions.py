"""Interaction logs: reading (formats, mappings, timestamps, event weights), bad rows, the
catalog check, sequence files, id maps, and splits that never leak the future."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.catalog import (
    IdMap,
    InteractionMapping,
    Interactions,
    get_interaction_mapping,
    leave_last_out,
    read_interactions,
    read_sequences,
    time_cut,
)
from furima.datasets import demo_interactions_path
from furima.exceptions import DataError, EmptyDataError, SchemaError, ValidationError

TAOBAO_TYPES = {"pv": "view", "cart": "cart", "fav": "like", "buy": "purchase"}


@pytest.fixture
def taobao(fixtures: Path) -> pd.DataFrame:
    """Every event of 20 real Taobao users, native columns."""
    return pd.read_parquet(fixtures / "taobao_20_users.parquet")


def write_csv(path: Path, rows: list[dict[str, object]] | pd.DataFrame) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def events_of(result_frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    columns = (result_frame["user"], result_frame["item"], result_frame["timestamp"])
    return list(zip(*columns, strict=True))


# -- reading ----------------------------------------------------------------------------------


def test_taobao_fixture_uses_the_preset(fixtures: Path, taobao: pd.DataFrame) -> None:
    result = read_interactions(fixtures / "taobao_20_users.parquet")
    data = result.interactions
    assert result.mapping == get_interaction_mapping("taobao")
    assert (result.n_read, result.n_rejected, result.n_duplicates) == (2554, 0, 0)
    assert result.ignored_columns == ("category_id",)
    assert (len(data), data.n_users) == (2554, 20)
    assert data.n_items == taobao["item_id"].nunique()
    counts = pd.Series(np.asarray(data.event_types)[data.event]).value_counts().to_dict()
    native = taobao["behavior_type"].astype(str).map(TAOBAO_TYPES).value_counts().to_dict()
    assert counts == native == {"view": 2296, "cart": 153, "purchase": 56, "like": 49}
    assert dict(zip(data.event_types, data.event_weights.tolist(), strict=True)) == {
        "view": 1.0,
        "cart": 3.0,
        "like": 2.0,
        "purchase": 5.0,
    }
    frame = data.to_frame()
    expected = taobao.assign(user=taobao["user_id"].astype(str), item=taobao["item_id"].astype(str))
    expected = expected.sort_values(["user", "timestamp"], kind="stable")
    assert sorted(events_of(frame)) == sorted(events_of(expected))
    assert data.validate() is data


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "tsv"])
def test_every_format_reads_the_same(taobao: pd.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"log.{suffix}"
    native = taobao.assign(behavior_type=taobao["behavior_type"].astype(str))
    if suffix == "jsonl":
        native.to_json(path, orient="records", lines=True)
    else:
        native.to_csv(path, sep="\t" if suffix == "tsv" else ",", index=False)
    expected = Interactions.from_frame(
        native.rename(columns={"user_id": "user", "item_id": "item", "behavior_type": "event"})
        .assign(event=lambda f: f["event"].map(TAOBAO_TYPES))
        .drop(columns="category_id")
    )
    got = read_interactions(path, mapping="taobao").interactions
    pd.testing.assert_frame_equal(got.to_frame(), expected.to_frame())


def test_mapping_as_dict_json_file_and_object(taobao: pd.DataFrame, tmp_path: Path) -> None:
    renamed = taobao.head(300).rename(
        columns={"user_id": "buyer", "item_id": "listing", "timestamp": "at"}
    )
    renamed["action"] = renamed["behavior_type"].astype(str)
    path = write_csv(tmp_path / "log.csv", renamed.drop(columns="behavior_type"))
    spec = {"user": "buyer", "item": "listing", "timestamp": "at", "event": "action"}
    spec_with_events = {**spec, "events": TAOBAO_TYPES}
    (tmp_path / "mapping.json").write_text(json.dumps(spec_with_events))
    results = [
        read_interactions(path, mapping=spec_with_events),
        read_interactions(path, mapping=str(tmp_path / "mapping.json")),
        read_interactions(path, mapping=tmp_path / "mapping.json"),
        read_interactions(path, mapping=InteractionMapping(**spec, events=TAOBAO_TYPES)),
    ]
    frames = [result.interactions.to_frame() for result in results]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert set(frames[0]["event"]) <= set(TAOBAO_TYPES.values())
    assert results[0].ignored_columns == ("category_id",)
    # without the renaming, the log's own names are the event types
    raw_names = read_interactions(path, mapping=spec).interactions
    assert set(raw_names.event_types) <= set(TAOBAO_TYPES)


def test_canonical_columns_need_no_mapping(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [
            {"user": "u1", "item": "a", "timestamp": 10, "event": "view", "value": 1},
            {"user": "u1", "item": "b", "timestamp": 20, "event": "purchase", "value": 2},
            {"user": "u2", "item": "a", "timestamp": 15, "event": "view", "value": ""},
        ],
    )
    data = read_interactions(path).interactions
    assert data.to_frame().to_dict("list") == {
        "user": ["u1", "u1", "u2"],
        "item": ["a", "b", "a"],
        "timestamp": [10, 20, 15],
        "event": ["view", "purchase", "view"],
        "value": [1.0, 2.0, 1.0],  # a missing value is 1
    }
    assert data.weight.tolist() == [1.0, 10.0, 1.0]  # purchase 5.0 x value 2


def test_unmappable_columns_and_bad_mappings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", [{"who": "u", "what": "a", "when": 1}])
    with pytest.raises(SchemaError, match=r"cannot tell which columns.*\['user', 'item'"):
        read_interactions(path)
    with pytest.raises(SchemaError, match=r"needs columns \['user_id'\]"):
        read_interactions(path, mapping={"user": "user_id", "item": "what", "timestamp": "when"})
    with pytest.raises(SchemaError, match="unknown mapping keys"):
        read_interactions(path, mapping={"buyer": "who"})
    with pytest.raises(SchemaError, match="unknown interaction mapping preset 'nope'"):
        read_interactions(path, mapping="nope")
    with pytest.raises(SchemaError, match="names no 'event' column"):
        InteractionMapping(user="who", item="what", timestamp="when", events={"pv": "view"})


def test_timestamps_in_every_form_become_seconds(tmp_path: Path) -> None:
    seconds = [1511544070, 1511561733, 1511572885]
    forms = {
        "seconds": seconds,
        "milliseconds": [s * 1000 + 999 for s in seconds],
        "iso": ["2017-11-24T17:21:10Z", "2017-11-25T07:15:33+09:00", "2017-11-25 01:21:25"],
    }
    for name, stamps in forms.items():
        frame = pd.DataFrame({"user": "u", "item": ["a", "b", "c"], "timestamp": stamps})
        data = read_interactions(write_csv(tmp_path / f"{name}.csv", frame)).interactions
        assert data.timestamp.tolist() == seconds, name
    typed = pd.DataFrame(
        {"user": "u", "item": ["a", "b", "c"], "timestamp": pd.to_datetime(seconds, unit="s")}
    )
    typed.to_parquet(tmp_path / "typed.parquet")
    assert read_interactions(tmp_path / "typed.parquet").interactions.timestamp.tolist() == seconds


def test_event_weights_are_the_marketplaces_own(taobao: pd.DataFrame, fixtures: Path) -> None:
    weights = {"view": 0.5, "like": 4.0, "cart": 2.0, "purchase": 10.0, "offer": 6.0}
    data = read_interactions(fixtures / "taobao_20_users.parquet", event_weights=weights)
    assert data.interactions.event_types == tuple(weights)
    assert data.interactions.weights_by_event == weights
    purchases = data.interactions.event == data.interactions.event_types.index("purchase")
    assert (data.interactions.weight[purchases] == 10.0).all()


def test_unknown_event_types_are_row_errors(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "log.csv",
        [
            {"user": "u", "item": "a", "timestamp": 1, "event": "view"},
            {"user": "u", "item": "b", "timestamp": 2, "event": "share"},
        ],
    )
    with pytest.raises(ValidationError) as info:
        read_interactions(path, event_weights={"view": 1.0, "purchase": 5.0})
    assert info.value.problems == [
        (
            2,
            "event",
            "event 'share' is not an event type of this log; the allowed types are "
            "['view', 'purchase'] (give it a weight in event_weights, or rename it with the "
            "mapping's 'events')",
        )
    ]
    assert "1 of 2 rows are not valid events" in str(info.value)
    renamed = {"user": "user", "item": "item", "timestamp": "timestamp", "event": "event"}
    with pytest.raises(ValidationError, match=r"event 'share' \(read as 'like'\) is not an"):
        read_interactions(
            path, mapping={**renamed, "events": {"share": "like"}}, event_weights={"view": 1.0}
        )
    no_event = write_csv(tmp_path / "plain.csv", [{"user": "u", "item": "a", "timestamp": 1}])
    with pytest.raises(SchemaError, match="no event column"):
        read_interactions(no_event, event_weights={"view": 1.0})
    with pytest.raises(ValueError, match="finite weight >= 0"):
        read_interactions(no_event, event_weights={"view": -1.0})


BAD_ROWS: list[dict[str, object]] = [
    {"user_id": "u1", "item_id": "a", "ts": 100, "kind": "view"},
    {"user_id": "", "item_id": "b", "ts": 101, "kind": "view"},  # row 2: no user
    {"user_id": "u1", "item_id": "c", "ts": "yesterday", "kind": "view"},  # row 3
    {"user_id": "u2", "item_id": "", "ts": -5, "kind": "view"},  # row 4: no item, ts < 0
    {"user_id": "u2", "item_id": "d", "ts": 104, "kind": "like"},
]
BAD_MAPPING = {"user": "user_id", "item": "item_id", "timestamp": "ts", "event": "kind"}


def test_bad_rows_fail_with_row_numbers_in_file_terms(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", BAD_ROWS)
    with pytest.raises(ValidationError) as info:
        read_interactions(path, mapping=BAD_MAPPING)
    assert [(row, column) for row, column, _ in info.value.problems] == [
        (2, "user_id"),
        (3, "ts"),
        (4, "item_id"),
        (4, "ts"),
    ]
    assert info.value.problems[0][2] == "user is missing"
    assert "got 'yesterday'" in info.value.problems[1][2]
    message = str(info.value)
    assert str(path) in message and "3 of 5 rows are not valid events" in message
    assert "on_error='skip'" in message


def test_skip_drops_bad_rows_into_rejects(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", BAD_ROWS)
    rejects_path = tmp_path / "out" / "rejects.csv"
    result = read_interactions(
        path, mapping=BAD_MAPPING, on_error="skip", rejects_path=rejects_path
    )
    assert (result.n_read, result.n_rejected, len(result.interactions)) == (5, 3, 2)
    assert result.interactions.to_frame()["item"].tolist() == ["a", "d"]
    assert result.rejects_path == rejects_path
    written = pd.read_csv(rejects_path, dtype=str, keep_default_na=False)
    assert written["row"].tolist() == ["2", "3", "4", "4"]
    assert written["column"].tolist() == ["user_id", "ts", "item_id", "ts"]
    assert written["ts"].tolist() == ["101", "yesterday", "-5", "-5"]  # the raw row follows


def test_nothing_valid_left_is_a_clear_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "log.csv", BAD_ROWS[1:4])
    with pytest.raises(EmptyDataError, match="no valid events: all 3 rows were rejected"):
        read_interactions(path, mapping=BAD_MAPPING, on_error="skip")
    (tmp_path / "header.csv").write_text("user,item,timestamp\n")
    with pytest.raises(EmptyDataError, match="no data rows"):
        read_interactions(tmp_path / "header.csv")
    (tmp_path / "seq.txt").write_text("u1 a b\n")
    with pytest.raises(DataError, match="read_sequences"):
        read_interactions(tmp_path / "seq.txt")


def test_duplicates_are_dropped_and_counted(tmp_path: Path) -> None:
    row = {"user": "u", "item": "a", "timestamp": 5, "event": "view", "value": 1}
    rows = [row, {**row, "item": "b"}, row, {**row, "event": "like"}, {**row, "value": 2}, row]
    result = read_interactions(write_csv(tmp_path / "log.csv", rows))
    assert (result.n_read, result.n_duplicates, len(result.interactions)) == (6, 2, 4)
    frame = result.interactions.to_frame()
    assert list(zip(frame["item"], frame["event"], frame["value"], strict=True)) == [
        ("a", "view", 1.0),
        ("b", "view", 1.0),
        ("a", "like", 1.0),
        ("a", "view", 2.0),
    ]


def test_events_out_of_time_order_are_sorted_stably(tmp_path: Path) -> None:
    rows = [
        {"user": "u1", "item": "c", "timestamp": 30},
        {"user": "u2", "item": "x", "timestamp": 5},
        {"user": "u1", "item": "a", "timestamp": 10},  # late: u1 had 30 already
        {"user": "u1", "item": "b1", "timestamp": 20},  # late
        {"user": "u1", "item": "b2", "timestamp": 20},  # late; tie with b1 keeps file order
        {"user": "u1", "item": "d", "timestamp": 40},
    ]
    result = read_interactions(write_csv(tmp_path / "log.csv", rows))
    assert result.n_out_of_order == 3
    data = result.interactions
    histories = [data.items.external(h).tolist() for h in data.histories()]
    assert histories == [["a", "b1", "b2", "c", "d"], ["x"]]
    assert data.users.to_list() == ["u1", "u2"]


# -- the catalog ------------------------------------------------------------------------------


def test_items_not_in_the_catalog_are_row_errors(fixtures: Path, taobao: pd.DataFrame) -> None:
    items = taobao["item_id"].astype(str)
    gone = items.iloc[7]
    catalog = IdMap.of(["other-1", *sorted(set(items) - {gone}), "other-2"])
    path = fixtures / "taobao_20_users.parquet"
    with pytest.raises(ValidationError) as info:
        read_interactions(path, known_items=catalog)
    rows = [row for row, _, _ in info.value.problems]
    assert rows == (np.flatnonzero(items == gone) + 1).tolist()
    assert info.value.problems[0][1:] == (
        "item_id",
        f"item '{gone}' is not in the catalog; events must name its listings (sold ones included)",
    )
    result = read_interactions(path, known_items=catalog, on_error="skip")
    assert result.n_rejected == len(rows)
    data = result.interactions
    assert data.items is catalog and data.n_items == len(catalog)  # catalog indices kept
    assert data.items.external(data.item).tolist() == data.to_frame()["item"].tolist()
    as_list = read_interactions(path, known_items=pd.Series(catalog.ids), on_error="skip")
    pd.testing.assert_frame_equal(as_list.interactions.to_frame(), data.to_frame())


def test_a_log_from_another_catalog_is_one_clear_error(
    fixtures: Path, taobao: pd.DataFrame
) -> None:
    catalog = [f"m{i}" for i in range(100)] + taobao["item_id"].astype(str).head(5).tolist()
    with pytest.raises(DataError) as info:
        read_interactions(
            fixtures / "taobao_20_users.parquet", known_items=catalog, on_error="skip"
        )
    assert not isinstance(info.value, ValidationError)  # one error, not 2,500 row errors
    message = str(info.value)
    unknown = int((~taobao["item_id"].astype(str).isin(catalog)).sum())
    assert unknown == 2547  # the 5 catalog items account for 7 events
    assert f"the log's item ids do not match the catalog: {unknown} of 2554 events" in message
    log_ids = taobao["item_id"].astype(str).iloc[5:8].tolist()
    assert f"The log has ids such as {log_ids}, the catalog ['m0', 'm1', 'm2']" in message


# -- sequence files ---------------------------------------------------------------------------


def test_read_sequences_on_the_real_fixture() -> None:
    path = demo_interactions_path()
    lines = [line.split() for line in path.read_text().splitlines()]
    data = read_sequences(path)
    assert (data.n_users, len(data)) == (2646, 26726)
    histories = data.histories()
    for user in (0, 1, 2645):
        assert data.users.external([user])[0] == lines[user][0]
        assert data.items.external(histories[user]).tolist() == lines[user][1:]


def test_bad_sequence_files_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "seq.txt"
    path.write_text("u1 a b c\n\nu2\nu3 a\nu1 d e\nu4 b\n\n\n")
    with pytest.raises(ValidationError) as info:
        read_sequences(path)
    assert [(row, reason.split(";")[0]) for row, _, reason in info.value.problems] == [
        (2, "line is blank"),
        (3, "user 'u2' has no items"),
        (5, "user 'u1' already has a line (line 1)"),
    ]
    assert "3 of 6 lines are not 'user item item ...'" in str(info.value)
    path.write_text("u1 a b\nu2 c\n\n")  # blank lines at the end are fine
    assert read_sequences(path).n_users == 2
    path.write_text("\n\n")
    with pytest.raises(EmptyDataError, match="only blank lines"):
        read_sequences(path)
    path.write_bytes(b"u1 caf\xe9 b\n")
    with pytest.raises(ValidationError, match=r"line 1: line is not valid UTF-8 \(bytes \\xe9\)"):
        read_sequences(path)


# -- id maps ----------------------------------------------------------------------------------


def test_id_maps_round_trip_through_json_and_numpy(fixtures: Path, tmp_path: Path) -> None:
    items = read_interactions(fixtures / "taobao_20_users.parquet").interactions.items
    again = IdMap(json.loads(json.dumps(items.to_list())))
    assert again.to_list() == items.to_list()
    np.save(tmp_path / "items.npy", items.ids.astype(str))
    loaded = IdMap(np.load(tmp_path / "items.npy", allow_pickle=False))
    assert loaded.to_list() == items.to_list()
    indices = np.array([0, 5, len(items) - 1])
    assert loaded.index(items.external(indices)).tolist() == indices.tolist()
    assert loaded.index(["no-such-item"]).tolist() == [-1]


def test_frames_round_trip_and_validate_catches_corruption(fixtures: Path) -> None:
    data = read_interactions(fixtures / "taobao_20_users.parquet").interactions
    again = Interactions.from_frame(
        data.to_frame(), event_weights=data.weights_by_event, items=data.items
    )
    for name in ("user", "item", "timestamp", "event", "value"):
        assert np.array_equal(getattr(again, name), getattr(data, name)), name
    assert again.users.to_list() == data.users.to_list()
    shuffled = data.subset(np.ones(len(data), dtype=bool))
    object.__setattr__(shuffled, "timestamp", data.timestamp[::-1].copy())
    with pytest.raises(DataError, match="sorted by user, then time"):
        shuffled.validate()
    broken = data.subset(np.ones(len(data), dtype=bool))
    object.__setattr__(broken, "item", np.full(len(data), data.n_items, dtype=np.int32))
    with pytest.raises(DataError, match="item indices outside"):
        broken.validate()


def test_from_frame_is_strict() -> None:
    good = pd.DataFrame({"user": ["u"], "item": ["a"], "timestamp": [1]})
    with pytest.raises(SchemaError, match="needs a 'timestamp' column"):
        Interactions.from_frame(good.drop(columns="timestamp"))
    with pytest.raises(DataError, match="missing values"):
        Interactions.from_frame(good.assign(user=pd.Series([None], dtype=object)))
    with pytest.raises(DataError, match="integer Unix seconds"):
        Interactions.from_frame(good.assign(timestamp=["2017-11-25"]))
    with pytest.raises(DataError, match="not in the item map"):
        Interactions.from_frame(good, items=IdMap.of(["b"]))
    with pytest.raises(DataError, match=r"event types \['view'\] are not in event_weights"):
        Interactions.from_frame(good.assign(event="view"), event_weights={"like": 2.0})


# -- splits -----------------------------------------------------------------------------------


@pytest.fixture
def log(fixtures: Path) -> Interactions:
    return read_interactions(fixtures / "taobao_20_users.parquet").interactions


def test_leave_last_out_never_trains_on_the_last_two_events(log: Interactions) -> None:
    split = leave_last_out(log)
    histories = log.histories()
    assert len(split.valid) == len(split.test) == log.n_users  # every user has >= 3 events
    train = split.train.histories()
    for q, user in enumerate(split.valid.users):
        full = histories[user]
        assert train[user].tolist() == full[:-2].tolist()
        assert split.valid.histories[q].tolist() == full[:-2].tolist()
        assert split.valid.targets[q] == full[-2]
        assert split.test.histories[q].tolist() == [*split.valid.histories[q], full[-2]]
        assert split.test.targets[q] == full[-1]
    offsets = log.offsets()
    last_two = np.concatenate([offsets[1:] - 1, offsets[1:] - 2])
    kept = np.ones(len(log), dtype=bool)
    kept[last_two] = False
    assert len(split.train) == kept.sum()
    assert np.array_equal(split.train.timestamp, log.timestamp[kept])


def test_time_cut_keeps_the_future_out(log: Interactions) -> None:
    at = int(np.median(log.timestamp))
    split = time_cut(log, at)
    assert (split.train.timestamp < at).all() and (split.test.timestamp >= at).all()
    assert len(split.train) + len(split.test) == len(log)
    train = split.train.histories()
    test = split.test.histories()
    users = [u for u in range(log.n_users) if len(test[u])]
    assert split.queries.users.tolist() == users
    for q, user in enumerate(users):
        assert split.queries.histories[q].tolist() == train[user].tolist()
        assert split.queries.targets[q] == test[user][0]
    same = time_cut(log, pd.Timestamp(at, unit="s").isoformat() + "Z")
    assert same.queries.targets.tolist() == split.queries.targets.tolist()


def test_time_cut_queries_new_users_with_empty_histories() -> None:
    frame = pd.DataFrame(
        {
            "user": ["old", "old", "old", "new", "gone"],
            "item": ["a", "b", "c", "a", "b"],
            "timestamp": [1, 5, 9, 6, 2],
        }
    )
    split = time_cut(Interactions.from_frame(frame), 5)  # an event at 5 is after the cut
    items = split.train.items
    assert split.queries.users.tolist() == [0, 1]
    assert [items.external(h).tolist() for h in split.queries.histories] == [["a"], []]
    assert items.external(split.queries.targets).tolist() == ["b", "a"]
    with pytest.raises(DataError, match=r"leaves no event for training; the log runs from"):
        time_cut(Interactions.from_frame(frame), "1970-01-01")
    with pytest.raises(DataError, match="leaves every event"):
        time_cut(Interactions.from_frame(frame), 10)
    with pytest.raises(ValueError, match="a moment must be"):
        time_cut(Interactions.from_frame(frame), "next tuesday")


# -- the full real files (skipped without ../shared/data) ------------------------------------


def test_full_real_logs(shared_data: Path) -> None:
    taobao = read_interactions(shared_data / "interactions" / "taobao_userbehavior_sample.parquet")
    data = taobao.interactions
    assert (len(data), data.n_users, taobao.n_duplicates, taobao.n_rejected) == (84287, 814, 0, 0)
    counts = np.bincount(data.event, minlength=len(data.event_types)).tolist()
    assert dict(zip(data.event_types, counts, strict=True)) == {
        "view": 75693,
        "cart": 4494,
        "like": 2351,
        "purchase": 1749,
    }
    beauty = read_sequences(shared_data / "interactions" / "amazon_beauty.txt")
    assert (beauty.n_users, beauty.n_items, len(beauty)) == (22363, 12101, 198502)
