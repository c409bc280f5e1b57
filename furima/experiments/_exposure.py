"""The exposure log: which unit met which variant of which experiment, and what it did after.

One SQLite file in WAL mode, so several server workers (processes) append to it at once while
an analysis reads it. Two kinds of rows:

- *exposures* ``(experiment, unit, variant, first_seen, last_seen, count)``, one row per unit
  and variant: a unit exposed again to the same variant only bumps ``count``; a unit exposed
  to two variants of one experiment keeps both rows, so it is reported
  (:meth:`ExposureLog.mixed_units`) and never silently moved from one group to the other;
- *events* ``(unit, metric, value, at)``: outcomes (a purchase, a click, revenue), not tied to
  an experiment. :meth:`ExposureLog.unit_metrics` sums each unit's events from its first
  exposure on, one row per exposed unit, which is what ``analyze`` takes.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from furima.exceptions import ExperimentDataError, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from furima.experiments._assignment import Experiment

__all__ = ["Event", "ExperimentCounts", "Exposure", "ExposureLog", "Mixed", "Moment"]

Moment = float | datetime | None
"""A time: seconds since the epoch, a datetime (naive ones are UTC), or ``None`` for now."""
Mixed = Literal["raise", "drop", "first"]
"""What :meth:`ExposureLog.unit_metrics` does with units exposed to several variants."""

MAX_NAME_CHARS = 200
METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,99}")
"""Metric names: a letter or ``_``, then letters, digits, ``_ . : -``; at most 100 chars."""
RESERVED_COLUMNS = ("unit", "variant", "first_exposure")
_FORMAT = "furima-exposure-log/1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY, unit TEXT NOT NULL, variants TEXT NOT NULL, shares TEXT NOT NULL,
    changed REAL);
CREATE TABLE IF NOT EXISTS exposures (
    experiment TEXT NOT NULL, unit TEXT NOT NULL, variant TEXT NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (experiment, unit, variant)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    unit TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_unit ON events (unit, metric, at);
"""
_UPSERT_EXPOSURE = """
INSERT INTO exposures VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (experiment, unit, variant) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    count = count + excluded.count
"""
_COUNTS = """
WITH per_unit AS (
    SELECT experiment, unit, count(*) AS variants, min(variant) AS variant,
           sum(count) AS exposures, min(first_seen) AS first_seen, max(last_seen) AS last_seen
    FROM exposures WHERE ? IS NULL OR experiment = ? GROUP BY experiment, unit)
SELECT experiment, CASE WHEN variants > 1 THEN NULL ELSE variant END, count(*),
       sum(exposures), min(first_seen), max(last_seen)
FROM per_unit GROUP BY experiment, 2
"""


class Exposure(NamedTuple):
    """A unit met a variant of an experiment (``times`` times, the first at ``at``)."""

    experiment: str
    unit: str
    variant: str
    at: Moment = None
    times: int = 1


class Event(NamedTuple):
    """Something a unit did that an experiment measures (``value`` adds up per unit)."""

    unit: str
    metric: str
    value: float = 1.0
    at: Moment = None


@dataclass(frozen=True)
class ExperimentCounts:
    """An experiment in the log: its units per variant and its exposures so far.

    Attributes:
        name: The experiment.
        units: Units exposed to each variant only (declared variants first, zero when none).
        mixed_units: Units exposed to more than one variant (left out of ``units``).
        exposures: Exposures recorded, repeats included.
        first_seen: First exposure, seconds since the epoch.
        last_seen: Last exposure.
        unit: What is randomised, when the experiment was declared.
        shares: The intended share of each variant, when declared (for the SRM check).
        design_changed_at: When the declared design last changed (a canary ramped from 10%
            to 50%, say; ``None`` if never): units first exposed before it followed the old
            split, so a check of the whole period can fail; analyse ``since`` this time.
    """

    name: str
    units: dict[str, int]
    mixed_units: int
    exposures: int
    first_seen: float
    last_seen: float
    unit: str | None = None
    shares: dict[str, float] | None = None
    design_changed_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ExposureLog:
    """An experiment log file (SQLite, WAL), created when missing; safe to share between
    threads and processes (each write is one short transaction).

    Args:
        path: The file.
        timeout: Seconds a write waits for another process's write to finish.
    """

    def __init__(self, path: Path | str, *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
            self._setup()
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"{str(self.path)!r} is not an experiment log ({error}); give a new file name "
                "or one written by furima's ExposureLog."
            ) from None

    def _setup(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (_FORMAT,))
        (found,) = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found != _FORMAT:
            raise sqlite3.DatabaseError(f"its format is {found!r}, not {_FORMAT!r}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ExposureLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    # --- writing ---------------------------------------------------------------------------

    def declare(self, experiment: Experiment) -> None:
        """Record what an experiment intends (its unit, variants and shares), so that its
        sample-ratio check knows the expected split; declaring again updates it."""
        row = (
            experiment.name,
            experiment.unit,
            json.dumps(list(experiment.variants)),
            json.dumps(list(experiment.shares)),
            time.time(),
        )
        with self._transaction() as db:
            db.execute(
                "INSERT INTO experiments VALUES (?1, ?2, ?3, ?4, NULL) ON CONFLICT (name) DO "
                "UPDATE SET changed = CASE WHEN variants = ?3 AND shares = ?4 THEN changed "
                "ELSE ?5 END, unit = ?2, variants = ?3, shares = ?4",
                row,
            )

    def record_exposure(self, experiment: str, unit: str, variant: str, at: Moment = None) -> None:
        """``unit`` met ``variant`` of ``experiment`` (at ``at``, default now)."""
        self.record_exposures([Exposure(experiment, unit, variant, at)])

    def record_exposures(self, exposures: Iterable[Exposure]) -> int:
        """Record many exposures in one transaction (all or none); how many were given."""
        rows = [_exposure_row(exposure) for exposure in exposures]
        with self._transaction() as db:
            db.executemany(_UPSERT_EXPOSURE, rows)
        return len(rows)

    def record_event(self, unit: str, metric: str, value: float = 1.0, at: Moment = None) -> None:
        """``unit`` did ``metric`` (``value`` of it, at ``at``, default now)."""
        self.record_events([Event(unit, metric, value, at)])

    def record_events(self, events: Iterable[Event]) -> int:
        """Record many events in one transaction (all or none); how many were given."""
        rows = [_event_row(event) for event in events]
        with self._transaction() as db:
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
        return len(rows)

    # --- reading ---------------------------------------------------------------------------

    def _read(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def experiments(self) -> list[ExperimentCounts]:
        """Every experiment with an exposure, by name, with its units per variant."""
        return self._counted(None)

    def experiment(self, name: str) -> ExperimentCounts | None:
        """One experiment's counts, or ``None`` when nothing was exposed to it."""
        found = self._counted(name)
        return found[0] if found else None

    def _counted(self, name: str | None) -> list[ExperimentCounts]:
        declared = {
            found: (unit, json.loads(variants), json.loads(shares), changed)
            for found, unit, variants, shares, changed in self._read(
                "SELECT name, unit, variants, shares, changed FROM experiments"
            )
        }
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for row in self._read(_COUNTS, (name, name)):
            grouped.setdefault(row[0], []).append(row)
        return [_counts(found, grouped[found], declared.get(found)) for found in sorted(grouped)]

    def metrics(self) -> dict[str, int]:
        """Every metric with events, and how many events each has."""
        rows = self._read("SELECT metric, count(*) FROM events GROUP BY metric ORDER BY metric")
        return {metric: int(n) for metric, n in rows}

    def mixed_units(self, experiment: str) -> dict[str, list[str]]:
        """Units exposed to several variants of ``experiment``, and those variants."""
        rows = self._read(
            "SELECT unit, group_concat(variant, char(31)) FROM exposures WHERE experiment = ? "
            "GROUP BY unit HAVING count(*) > 1 ORDER BY unit",
            (experiment,),
        )
        return {unit: sorted(variants.split("\x1f")) for unit, variants in rows}

    def unit_metrics(
        self,
        experiment: str,
        metrics: Sequence[str],
        *,
        since: Moment = None,
        mixed: Mixed = "raise",
    ) -> pd.DataFrame:
        """One row per exposed unit: ``unit``, ``variant``, ``first_exposure`` (UTC) and, per
        metric, the sum of the unit's events from its first exposure on (0 when none).

        Args:
            experiment: The experiment's name.
            metrics: Event metrics to add up (each must have events in the log).
            since: Only units first exposed at or after this time (e.g. after a ramp-up).
            mixed: Units exposed to several variants: ``"raise"`` an ExperimentDataError,
                ``"drop"`` them, or keep the ``"first"`` variant each met. The number of such
                units is in ``frame.attrs["mixed_units"]`` either way.
        """
        wanted = self._checked_metrics(metrics)
        units = self._units(experiment, since)
        units, n_mixed = _settle_mixed(experiment, units, mixed)
        for metric, totals in self._totals(experiment, wanted).items():
            units[metric] = units["unit"].map(totals).fillna(0.0).astype(float)
        import pandas as pd

        units["first_exposure"] = pd.to_datetime(units["first_exposure"], unit="s", utc=True)
        frame = units[["unit", "variant", "first_exposure", *wanted]].reset_index(drop=True)
        frame.attrs["mixed_units"] = n_mixed
        return frame

    def _checked_metrics(self, metrics: Sequence[str]) -> list[str]:
        if isinstance(metrics, str):
            metrics = [metrics]
        wanted = list(dict.fromkeys(metrics))
        for metric in wanted:
            _check_metric_name(metric)
        known = self.metrics()
        unknown = [metric for metric in wanted if metric not in known]
        if unknown:
            raise ExperimentDataError(
                f"No events are recorded for metric(s) {', '.join(map(repr, unknown))}; the log "
                f"has events for {', '.join(map(repr, known)) or 'no metric yet'}. Check the "
                "spelling, or record events first."
            )
        return wanted

    def _units(self, experiment: str, since: Moment) -> pd.DataFrame:
        import pandas as pd

        sql = "SELECT unit, variant, first_seen FROM exposures WHERE experiment = ?"
        rows = self._read(sql, (experiment,))
        if not rows:
            names = [found.name for found in self.experiments()]
            raise ExperimentDataError(
                f"No unit was exposed to experiment {experiment!r}; the log has "
                f"{', '.join(map(repr, names)) or 'no experiment yet'}."
            )
        frame = pd.DataFrame(rows, columns=["unit", "variant", "first_exposure"])
        first = frame.groupby("unit")["first_exposure"].transform("min")
        if since is not None:
            frame = frame[first >= _seconds(since)]
        return frame

    def _totals(self, experiment: str, metrics: list[str]) -> dict[str, dict[str, float]]:
        """Per metric, each exposed unit's sum of events since its first exposure."""
        if not metrics:
            return {}
        marks = ", ".join("?" * len(metrics))
        rows = self._read(
            "SELECT e.metric, e.unit, sum(e.value) FROM (SELECT unit, min(first_seen) AS since "
            "FROM exposures WHERE experiment = ? GROUP BY unit) AS x JOIN events AS e "
            f"ON e.unit = x.unit AND e.at >= x.since WHERE e.metric IN ({marks}) "
            "GROUP BY e.metric, e.unit",
            (experiment, *metrics),
        )
        totals: dict[str, dict[str, float]] = {metric: {} for metric in metrics}
        for metric, unit, total in rows:
            totals[metric][unit] = float(total)
        return totals


def _settle_mixed(experiment: str, frame: pd.DataFrame, mixed: Mixed) -> tuple[pd.DataFrame, int]:
    """One row per unit, whatever ``mixed`` says to do with units met by several variants."""
    if mixed not in ("raise", "drop", "first"):
        raise ExperimentDataError(f"mixed must be 'raise', 'drop' or 'first', not {mixed!r}.")
    per_unit = frame.groupby("unit")["variant"].transform("size")
    several = frame.loc[per_unit > 1, "unit"].unique()
    if len(several) and mixed == "raise":
        examples = ", ".join(map(repr, sorted(several)[:3]))
        raise ExperimentDataError(
            f"{len(several)} unit(s) of experiment {experiment!r} met more than one variant "
            f"(e.g. {examples}), so they belong to no group. Pass mixed='drop' to leave them "
            "out (the usual choice) or mixed='first' to keep the variant each met first."
        )
    if mixed == "drop":
        frame = frame[per_unit == 1]
    else:  # first; also unique units under "raise"
        first_seen = frame.groupby("unit")["first_exposure"].transform("min")
        frame = frame[frame["first_exposure"] == first_seen].drop_duplicates("unit")
    return frame.sort_values(["first_exposure", "unit"]).copy(), len(several)


def _counts(
    name: str,
    rows: list[tuple[Any, ...]],
    declared: tuple[str, list[str], list[float], float | None] | None,
) -> ExperimentCounts:
    units = {variant: 0 for variant in (declared[1] if declared else [])}
    mixed = 0
    for _, variant, n, *_ in sorted(rows, key=lambda row: str(row[1])):
        if variant is None:
            mixed = int(n)
        else:
            units[variant] = int(n)
    return ExperimentCounts(
        name=name,
        units=units,
        mixed_units=mixed,
        exposures=int(sum(row[3] for row in rows)),
        first_seen=float(min(row[4] for row in rows)),
        last_seen=float(max(row[5] for row in rows)),
        unit=declared[0] if declared else None,
        shares=dict(zip(declared[1], declared[2], strict=True)) if declared else None,
        design_changed_at=declared[3] if declared else None,
    )


def _exposure_row(exposure: Exposure) -> tuple[str, str, str, float, float, int]:
    experiment, unit, variant, at, times = exposure
    _check_name("experiment", experiment)
    _check_name("unit", unit)
    _check_name("variant", variant)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ExperimentDataError(f"`times` of an exposure must be a positive int, not {times!r}.")
    seconds = _seconds(at)
    return experiment, unit, variant, seconds, seconds, times


def _event_row(event: Event) -> tuple[str, str, float, float]:
    unit, metric, value, at = event
    _check_name("unit", unit)
    _check_metric_name(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExperimentDataError(
            f"The value of a {metric!r} event must be a finite number, but got {value!r}."
        )
    return unit, metric, float(value), _seconds(at)


def _check_name(what: str, name: object) -> None:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise ExperimentDataError(
            f"A{'n' if what[0] in 'aeiou' else ''} {what} must be a non-empty string of at most "
            f"{MAX_NAME_CHARS} characters, but got {name!r:.80}."
        )


def _check_metric_name(metric: object) -> None:
    if not isinstance(metric, str) or not METRIC_NAME.fullmatch(metric):
        raise ExperimentDataError(
            f"{metric!r:.80} is not a metric name: start with a letter or '_', then use letters, "
            "digits, '_', '.', ':' or '-' (at most 100 characters)."
        )
    if metric in RESERVED_COLUMNS:
        raise ExperimentDataError(
            f"{metric!r} cannot name a metric: it is one of the columns "
            f"{', '.join(RESERVED_COLUMNS)} of unit_metrics. Choose another name."
        )


def _seconds(at: Moment) -> float:
    """``at`` as seconds since the epoch (now when ``None``; naive datetimes are UTC)."""
    if at is None:
        return time.time()
    if isinstance(at, datetime):
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
        raise ExperimentDataError(
            f"A time must be seconds since the epoch or a datetime, but got {at!r:.80}."
        )
    return float(at)
