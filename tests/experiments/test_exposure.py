"""The exposure log: exposures and events in, one row per exposed unit out (what analyze takes),
units met by two variants reported, several writers at once, bad input refused."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from furima.exceptions import ExperimentDataError, StoreError
from furima.experiments._assignment import Experiment
from furima.experiments._exposure import Event, Exposure, ExposureLog


@pytest.fixture
def log(tmp_path: Path) -> ExposureLog:
    return ExposureLog(tmp_path / "experiments.sqlite")


def filled(log: ExposureLog) -> ExposureLog:
    """u1 and u2 in control, u3 in treatment, u4 met both; events before and after."""
    log.declare(Experiment("badge", weights=(3, 1)))
    log.record_exposures(
        [
            Exposure("badge", "u1", "control", at=100.0),
            Exposure("badge", "u1", "control", at=90.0),
            Exposure("badge", "u2", "control", at=200.0),
            Exposure("badge", "u3", "treatment", at=150.0),
            Exposure("badge", "u4", "control", at=100.0),
            Exposure("badge", "u4", "treatment", at=300.0),
            Exposure("other", "u1", "b", at=50.0),
        ]
    )
    log.record_events(
        [
            Event("u1", "buy", 2.0, at=80.0),  # before u1's first exposure (90): not counted
            Event("u1", "buy", 3.0, at=95.0),
            Event("u1", "revenue", 12.5, at=96.0),
            Event("u3", "buy", 1.0, at=150.0),  # at the moment of exposure: counted
            Event("u3", "buy", 1.0, at=400.0),
            Event("u9", "buy", 7.0, at=400.0),  # never exposed
        ]
    )
    return log


def test_unit_metrics_sums_each_units_events_from_its_first_exposure(log: ExposureLog) -> None:
    frame = filled(log).unit_metrics("badge", ["buy", "revenue"], mixed="drop")
    assert list(frame.columns) == ["unit", "variant", "first_exposure", "buy", "revenue"]
    assert frame["unit"].tolist() == ["u1", "u3", "u2"]  # by first exposure
    assert frame["variant"].tolist() == ["control", "treatment", "control"]
    assert frame["buy"].tolist() == [3.0, 2.0, 0.0]
    assert frame["revenue"].tolist() == [12.5, 0.0, 0.0]
    assert frame["first_exposure"].tolist() == [
        pd.Timestamp(90.0, unit="s", tz="UTC"),
        pd.Timestamp(150.0, unit="s", tz="UTC"),
        pd.Timestamp(200.0, unit="s", tz="UTC"),
    ]
    assert frame.attrs["mixed_units"] == 1


def test_a_unit_met_by_two_variants_is_kept_and_reported_never_overwritten(
    log: ExposureLog,
) -> None:
    filled(log)
    assert log.mixed_units("badge") == {"u4": ["control", "treatment"]}
    with pytest.raises(ExperimentDataError, match=r"1 unit\(s\) .* 'u4'.*mixed='drop'"):
        log.unit_metrics("badge", ["buy"])
    first = log.unit_metrics("badge", ["buy"], mixed="first")
    assert first.set_index("unit")["variant"].to_dict() == {
        "u1": "control",
        "u2": "control",
        "u3": "treatment",
        "u4": "control",
    }


def test_experiments_list_units_per_variant_exposures_and_the_declared_split(
    log: ExposureLog,
) -> None:
    badge, other = filled(log).experiments()
    assert badge.name == "badge"
    assert badge.units == {"control": 2, "treatment": 1}
    assert badge.mixed_units == 1
    assert badge.exposures == 6
    assert (badge.first_seen, badge.last_seen) == (90.0, 300.0)
    assert badge.shares == {"control": 0.75, "treatment": 0.25}
    assert other.units == {"b": 1} and other.shares is None and other.unit is None
    assert log.metrics() == {"buy": 5, "revenue": 1}
    assert log.experiment("nothing") is None


def test_since_keeps_units_first_exposed_from_then_on(log: ExposureLog) -> None:
    late = filled(log).unit_metrics("badge", ["buy"], since=150.0, mixed="drop")
    assert late["unit"].tolist() == ["u3", "u2"]
    by_datetime = log.unit_metrics(
        "badge", ["buy"], since=datetime.fromtimestamp(150.0, tz=UTC), mixed="drop"
    )
    assert by_datetime["unit"].tolist() == ["u3", "u2"]


def test_the_frame_goes_straight_into_analyze(log: ExposureLog) -> None:
    from furima.experiments._analysis import analyze

    log.declare(Experiment("page", variants=("champion", "challenger")))
    for i in range(400):
        variant = "champion" if i % 2 else "challenger"
        log.record_exposure("page", f"u{i}", variant, at=1000.0 + i)
        log.record_event(
            f"u{i}", "clicks", float(i % 7 + (3 if variant == "challenger" else 0)), at=2000.0
        )
    frame = log.unit_metrics("page", ["clicks"])
    analysis = analyze(frame, ["clicks"], control="champion", unit="unit", time="first_exposure")
    assert analysis.srm.observed == [200, 200]
    (result,) = analysis.overall
    assert result.effect is not None
    assert result.effect.control_n == 200 and result.effect.treatment_n == 200
    means = frame.groupby("variant")["clicks"].mean()
    assert result.effect.control_mean == pytest.approx(means["champion"])
    assert result.effect.treatment_mean == pytest.approx(means["challenger"])
    assert result.effect.estimate == pytest.approx(means["challenger"] / means["champion"] - 1)
    assert result.effect.significant


def test_each_batch_is_all_or_nothing(log: ExposureLog) -> None:
    with pytest.raises(ExperimentDataError, match="finite number"):
        log.record_events([Event("u1", "buy", 1.0), Event("u2", "buy", float("inf"))])
    with pytest.raises(ExperimentDataError, match="non-empty string"):
        log.record_exposures([Exposure("x", "u1", "a"), Exposure("x", "", "a")])
    assert log.metrics() == {} and log.experiments() == []


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda log: log.record_event("u1", "two words"), "not a metric name"),
        (lambda log: log.record_event("u1", "variant"), "cannot name a metric"),
        (lambda log: log.record_event("u1", "buy", value=True), "finite number"),
        (lambda log: log.record_event("u1", "buy", at="yesterday"), "seconds since the epoch"),
        (lambda log: log.record_exposure("x", "u" * 201, "a"), "at most 200"),
        (lambda log: log.unit_metrics("badge", ["buyy"]), "No events are recorded for metric"),
        (lambda log: log.unit_metrics("nothing", ["buy"]), "No unit was exposed to"),
        (lambda log: log.unit_metrics("badge", ["buy"], mixed="merge"), "mixed must be"),
    ],
)
def test_bad_input_is_refused_with_what_to_do(log: ExposureLog, call: object, words: str) -> None:
    filled(log)
    with pytest.raises(ExperimentDataError) as caught:
        call(log)  # type: ignore[operator]
    assert words in str(caught.value)


def test_a_file_that_is_not_a_log_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all, just some bytes" * 100)
    with pytest.raises(StoreError, match="is not an experiment log"):
        ExposureLog(junk)


def test_several_threads_and_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    log = ExposureLog(path)
    writer = (
        "import sys; from furima.experiments._exposure import ExposureLog;"
        "log = ExposureLog(sys.argv[1]); w = sys.argv[2];"
        "[log.record_exposure('e', f'{w}-{i}', 'a' if i % 2 else 'b') for i in range(150)];"
        "[log.record_event(f'{w}-{i}', 'buy') for i in range(150)]"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", writer, str(path), f"p{n}"]) for n in range(3)
    ]

    def write(w: str) -> None:
        for i in range(150):
            log.record_exposure("e", f"{w}-{i}", "a" if i % 2 else "b")
            log.record_exposure("e", f"{w}-{i}", "a" if i % 2 else "b")  # a repeat
            log.record_event(f"{w}-{i}", "buy")

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0]
    (counts,) = log.experiments()
    assert counts.units == {"a": 6 * 75, "b": 6 * 75}
    assert counts.exposures == 3 * 150 + 3 * 300
    frame = log.unit_metrics("e", ["buy"])
    assert len(frame) == 900 and frame["buy"].eq(1.0).all()
    log.close()


def test_declaring_again_updates_the_design(log: ExposureLog) -> None:
    log.record_exposure("canary", "u1", "champion")
    log.declare(Experiment("canary", variants=("champion", "challenger"), weights=(90, 10)))
    first = log.experiments()[0]
    assert first.shares == {"champion": 0.9, "challenger": 0.1}
    log.declare(Experiment("canary", variants=("champion", "challenger"), weights=(9, 1)))
    assert log.experiments()[0].design_changed_at is None  # the same design
    log.declare(Experiment("canary", variants=("champion", "challenger"), weights=(50, 50)))
    (counts,) = log.experiments()
    assert counts.shares == {"champion": 0.5, "challenger": 0.5}
    assert counts.units == {"champion": 1, "challenger": 0}
    assert counts.design_changed_at is not None  # the ramp
    assert counts.design_changed_at > counts.first_seen
