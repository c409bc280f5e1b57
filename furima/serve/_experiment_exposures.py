"""The canary as an experiment: which users met which version, written to the experiment log.

A task whose challenger takes a share of users (traffic sticky by ``"user"``, canary strictly
between 0 and 100%) *is* an experiment, named ``"<task>:v<champion>-vs-v<challenger>"`` with
variants ``"champion"`` and ``"challenger"`` and the canary's split as its design. The
:class:`ExposureRecorder` notes each answered request of a user in memory (the request path
only appends to a list) and a background thread writes the exposures, and any new design, to
the log in one transaction every :data:`FLUSH_SECONDS`. A write that fails is counted
(``furima_experiment_exposures_total{outcome="failed"}``) and logged, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from furima.experiments._assignment import Experiment
    from furima.experiments._exposure import Exposure, ExposureLog
    from furima.serve._deployments import Live
    from furima.serve._metrics import ServerMetrics

__all__ = ["CONTROL", "ExposureRecorder", "experiment_name"]

logger = logging.getLogger("furima.serve")

FLUSH_SECONDS = 0.25
MAX_PENDING = 50_000
CONTROL = "champion"


def experiment_name(task: str, live: Live) -> str | None:
    """The experiment ``live``'s traffic runs, or ``None`` when it runs none: a challenger
    that takes a share (strictly between 0 and 100%) of users, sticky by user id."""
    traffic = live.traffic
    if live.champion is None or live.challenger is None or traffic.sticky != "user":
        return None
    if not 0.0 < traffic.canary_percent < 100.0:
        return None
    return f"{task}:v{live.champion.version}-vs-v{live.challenger.version}"


class ExposureRecorder:
    """Collects the server's exposures in memory and writes them to the log in batches."""

    def __init__(self, path: Path, metrics: ServerMetrics | None = None) -> None:
        from furima.experiments._exposure import ExposureLog

        self.log: ExposureLog = ExposureLog(path)
        self._outcomes = None if metrics is None else metrics.experiment_exposures
        self._pending: list[Exposure] = []
        self._declared: dict[str, tuple[float, ...]] = {}
        self._declarations: dict[str, Experiment] = {}
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def saw(self, task: str, live: Live, user: str | None, route: str) -> None:
        """A request of ``user`` was answered by ``route``; cheap, and it never raises."""
        try:
            name = experiment_name(task, live)
            if name is None or not user:
                return
            self._declare(name, live.traffic.canary_percent)
            self._add(name, user, route)
        except Exception as error:  # logging must never fail a request
            self._count("failed")
            logger.warning("could not note an exposure of %s: %s", task, error)

    def _declare(self, name: str, canary: float) -> None:
        """Note the split a new experiment (or a new canary share) intends; the next flush
        writes it, so the request never waits on the file."""
        from furima.experiments._assignment import Experiment

        shares = (100.0 - canary, canary)
        if self._declared.get(name) == shares:
            return
        with self._lock:
            self._declared[name] = shares
            self._declarations[name] = Experiment(
                name, variants=(CONTROL, "challenger"), weights=shares
            )

    def _add(self, name: str, user: str, route: str) -> None:
        from furima.experiments._exposure import MAX_NAME_CHARS, Exposure

        if len(user) > MAX_NAME_CHARS:
            self._count("dropped")
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self._count("dropped")
                return
            self._pending.append(Exposure(name, user, route, time.time()))

    def flush(self) -> int:
        """Write what is waiting (the reads call it first, so they see every exposure)."""
        with self._writing:
            with self._lock:
                waiting, self._pending = self._pending, []
                declarations, self._declarations = self._declarations, {}
            try:
                for experiment in declarations.values():
                    self.log.declare(experiment)
                if waiting:
                    self.log.record_exposures(waiting)
            except Exception as error:
                with self._lock:  # declare again on the next flush
                    self._declarations = {**declarations, **self._declarations}
                self._count("failed", len(waiting))
                logger.warning("could not write %d exposures: %s", len(waiting), error)
                return 0
            self._count("recorded", len(waiting))
            return len(waiting)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="exposures", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()

    def close(self) -> None:
        """Write the rest, then close the log (the server is stopping)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
        self.log.close()

    def _count(self, outcome: str, n: int = 1) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(outcome).inc(n)
