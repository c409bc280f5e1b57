"""A seeded payment-card transaction simulator, to test fraud entity features.

Re-implemented from the published *description* of the simulator in Le Borgne, Siblini,
Lebichot and Bontempi, "Reproducible Machine Learning for Credit Card Fraud Detection -
Practical Handbook" (2022), chapter "Transaction data simulator" (no code of theirs is used):

- customers live at a point of a 100 x 100 grid and have a mean spending amount (uniform in
  [5, 100]), a standard deviation of half that mean, and a mean number of transactions per day
  (uniform in [0, 4]); terminals live at a point of the same grid;
- a customer only pays at terminals within ``radius`` of home, chosen uniformly among them;
- each day a customer makes a Poisson number of transactions, at a time of day drawn from a
  normal law around noon (standard deviation 20,000 s, redrawn until inside the day), for an
  amount drawn from the customer's normal law (redrawn until positive);
- fraud scenario 1: every transaction over 220 is fraud (a rule an amount threshold finds);
- fraud scenario 2: each day some terminals are compromised, and every transaction at them
  during the :data:`TERMINAL_COMPROMISE_DAYS` days from that day on is fraud;
- fraud scenario 3: each day some customers' cards are compromised; during the
  :data:`CUSTOMER_COMPROMISE_DAYS` days from that day on, each of their transactions is, with
  probability 1/3, fraud and its amount multiplied by 5.

A later scenario's label wins where two apply (3 over 2 over 1). Everything is vectorised in
numpy, so the handbook's setup (5,000 customers, 10,000 terminals, 183 days, about 1.75M
transactions) takes seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.exceptions import DataError

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

__all__ = [
    "CUSTOMER_COMPROMISE_DAYS",
    "FRAUD_AMOUNT_THRESHOLD",
    "TERMINAL_COMPROMISE_DAYS",
    "Simulation",
    "SimulatorSettings",
    "simulate",
    "simulate_transactions",
]

FRAUD_AMOUNT_THRESHOLD = 220.0
"""Scenario 1: a transaction above this amount is fraud."""
TERMINAL_COMPROMISE_DAYS = 28
"""Scenario 2: days (the day of compromise included) a compromised terminal stays compromised."""
CUSTOMER_COMPROMISE_DAYS = 14
"""Scenario 3: days (the day of compromise included) a compromised card stays compromised."""
CUSTOMER_FRAUD_SHARE = 1.0 / 3.0
"""Scenario 3: the chance that a compromised card's transaction is fraud."""
CUSTOMER_FRAUD_AMOUNT_FACTOR = 5.0
"""Scenario 3: fraudulent amounts are the customer's usual amount times this factor."""

_GRID_SIZE = 100.0
_SECONDS_PER_DAY = 86_400
_TIME_OF_DAY_STD = 20_000.0
_MEAN_AMOUNT_RANGE = (5.0, 100.0)
_MEAN_TRANSACTIONS_PER_DAY_RANGE = (0.0, 4.0)


def _positive_int(name: str, value: object, example: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataError(
            f"`{name}` must be a positive integer, but got {value!r}. "
            f"Pass a whole number of at least 1, e.g. {name}={example}."
        )


def _count_at_most(name: str, value: object, limit: int, of: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise DataError(
            f"`{name}` must be a whole number >= 0, but got {value!r}. Pass 0 to turn the "
            "scenario off."
        )
    if value > limit:
        raise DataError(
            f"`{name}` must be at most `{of}` ({limit}), but got {value}. Compromise fewer "
            f"per day or simulate more {of}."
        )


@dataclass(frozen=True)
class SimulatorSettings:
    """What to simulate: sizes, geography, start date, seed and fraud intensity.

    The defaults keep the handbook's density (5,000 customers, 10,000 terminals, radius 5,
    2 terminals and 3 cards compromised a day, about 0.8% fraud) over a quarter (91 days,
    about 0.85M transactions); pass ``days=183`` for the handbook's half year.
    Invalid values raise :class:`~furima.exceptions.DataError` on construction.
    """

    customers: int = 5000
    terminals: int = 10000
    days: int = 91
    radius: float = 5.0
    start: str = "2018-04-01"
    seed: int = 0
    compromised_terminals_per_day: int = 2
    compromised_customers_per_day: int = 3

    def __post_init__(self) -> None:
        _positive_int("customers", self.customers, 5000)
        _positive_int("terminals", self.terminals, 10000)
        _positive_int("days", self.days, 91)
        radius_ok = isinstance(self.radius, int | float) and not isinstance(self.radius, bool)
        if not radius_ok or not math.isfinite(self.radius) or self.radius <= 0:
            raise DataError(
                f"`radius` must be a finite number > 0 (grid units on a 100 x 100 grid), but "
                f"got {self.radius!r}. Pass e.g. radius=5.0."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise DataError(f"`seed` must be an integer, but got {self.seed!r}.")
        _count_at_most(
            "compromised_terminals_per_day",
            self.compromised_terminals_per_day,
            self.terminals,
            "terminals",
        )
        _count_at_most(
            "compromised_customers_per_day",
            self.compromised_customers_per_day,
            self.customers,
            "customers",
        )
        self.start_timestamp()

    def start_timestamp(self) -> pd.Timestamp:
        """The first simulated day at midnight; a DataError if ``start`` is not a date."""
        import pandas as pd

        try:
            stamp = pd.Timestamp(self.start)
        except (TypeError, ValueError) as error:
            raise DataError(
                f"`start` must be a date such as '2018-04-01', but got {self.start!r} ({error})."
            ) from None
        if pd.isna(stamp):
            raise DataError(f"`start` must be a date such as '2018-04-01', but got {self.start!r}.")
        return stamp.normalize()


@dataclass(frozen=True)
class Simulation:
    """One simulated world: the transactions and the ground truth behind their labels.

    Attributes:
        transactions: transaction_id, timestamp, customer_id, terminal_id, amount, day,
            is_fraud (0/1), fraud_scenario (0 genuine, 1-3 the scenario), sorted by time.
        customers: customer_id, x, y, mean_amount, std_amount, mean_transactions_per_day.
        terminals: terminal_id, x, y.
        compromised_terminals: terminal_id, day (the first day of the compromise).
        compromised_customers: customer_id, day (the first day of the compromise).
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    terminals: pd.DataFrame
    compromised_terminals: pd.DataFrame
    compromised_customers: pd.DataFrame


_Events = tuple[np.ndarray, np.ndarray]
"""Compromises: (entity ids, first days)."""


@dataclass(frozen=True)
class _Profiles:
    customer_xy: np.ndarray
    mean_amount: np.ndarray
    std_amount: np.ndarray
    rate: np.ndarray
    terminal_xy: np.ndarray


@dataclass(frozen=True)
class _Reach:
    """Each customer's terminals within the radius, as a CSR list (offsets into ``flat``)."""

    offsets: np.ndarray
    counts: np.ndarray
    flat: np.ndarray


def _draw_profiles(rng: np.random.Generator, settings: SimulatorSettings) -> _Profiles:
    customer_xy = rng.uniform(0.0, _GRID_SIZE, size=(settings.customers, 2))
    mean_amount = rng.uniform(*_MEAN_AMOUNT_RANGE, size=settings.customers)
    rate = rng.uniform(*_MEAN_TRANSACTIONS_PER_DAY_RANGE, size=settings.customers)
    terminal_xy = rng.uniform(0.0, _GRID_SIZE, size=(settings.terminals, 2))
    return _Profiles(customer_xy, mean_amount, mean_amount / 2.0, rate, terminal_xy)


def _terminals_in_reach(profiles: _Profiles, radius: float) -> _Reach:
    """Terminals within ``radius`` of each customer (a k-d tree, sorted terminal ids)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(profiles.terminal_xy)
    lists = tree.query_ball_point(profiles.customer_xy, r=radius, return_sorted=True)
    counts = np.fromiter((len(found) for found in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(
        (terminal for found in lists for terminal in found), dtype=np.int64, count=counts.sum()
    )
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return _Reach(offsets, counts, flat)


def _redraw_until(
    draw: Callable[[np.ndarray], np.ndarray],
    values: np.ndarray,
    bad: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Redraw the entries where ``bad(values)`` holds until none does (a truncated law)."""
    for _ in range(1000):  # each round keeps at most a few percent; 1000 is never reached
        mask = bad(values)
        if not mask.any():
            return values
        values[mask] = draw(mask)
    raise RuntimeError("rejection sampling did not converge")  # pragma: no cover


def _genuine_transactions(
    rng: np.random.Generator, settings: SimulatorSettings, profiles: _Profiles, reach: _Reach
) -> dict[str, np.ndarray]:
    """Customer, day, second of day, terminal and amount of every transaction, unsorted."""
    per_day = rng.poisson(profiles.rate[:, None], size=(settings.customers, settings.days))
    per_day[reach.counts == 0] = 0  # a customer with no terminal in reach cannot pay
    flat_counts = per_day.ravel()
    customer = np.repeat(np.repeat(np.arange(settings.customers), settings.days), flat_counts)
    day = np.repeat(np.tile(np.arange(settings.days), settings.customers), flat_counts)
    n = customer.size
    seconds = _redraw_until(
        lambda mask: rng.normal(_SECONDS_PER_DAY / 2, _TIME_OF_DAY_STD, size=int(mask.sum())),
        rng.normal(_SECONDS_PER_DAY / 2, _TIME_OF_DAY_STD, size=n),
        lambda values: (values < 0) | (values >= _SECONDS_PER_DAY),
    ).astype(np.int64)
    mean, std = profiles.mean_amount[customer], profiles.std_amount[customer]
    amount = _redraw_until(
        lambda mask: rng.normal(mean[mask], std[mask]),
        rng.normal(mean, std),
        lambda values: values <= 0,
    )
    amount = np.maximum(np.round(amount, 2), 0.01)
    pick = np.floor(rng.random(n) * reach.counts[customer]).astype(np.int64)
    terminal = reach.flat[reach.offsets[customer] + pick]
    return {
        "customer": customer,
        "day": day,
        "seconds": seconds,
        "terminal": terminal,
        "amount": amount,
    }


def _compromise_events(
    rng: np.random.Generator, population: int, per_day: int, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which entities are compromised on which day: (entity ids, first days), ``per_day`` a day."""
    entities = [rng.choice(population, size=per_day, replace=False) for _ in range(days)]
    ids = np.concatenate(entities).astype(np.int64) if entities else np.empty(0, np.int64)
    first_days = np.repeat(np.arange(days, dtype=np.int64), per_day)
    return ids, first_days


def _in_window(
    entity: np.ndarray,
    day: np.ndarray,
    event_ids: np.ndarray,
    event_days: np.ndarray,
    window: int,
) -> np.ndarray:
    """Whether each (entity, day) falls in ``[first day, first day + window)`` of an event."""
    span = max(int(day.max(initial=0)), int(event_days.max(initial=0))) + window + 1
    offsets = np.arange(window, dtype=np.int64)
    keys = np.unique((event_ids[:, None] * span + event_days[:, None] + offsets).ravel())
    return np.isin(entity * span + day, keys)


def _label_fraud(
    rng: np.random.Generator,
    settings: SimulatorSettings,
    tx: dict[str, np.ndarray],
) -> tuple[np.ndarray, tuple[_Events, _Events]]:
    """Fraud scenario per transaction (0 genuine); scales scenario-3 amounts in place."""
    terminal_events = _compromise_events(
        rng, settings.terminals, settings.compromised_terminals_per_day, settings.days
    )
    customer_events = _compromise_events(
        rng, settings.customers, settings.compromised_customers_per_day, settings.days
    )
    scenario = np.where(tx["amount"] > FRAUD_AMOUNT_THRESHOLD, 1, 0).astype(np.int8)
    at_terminal = _in_window(tx["terminal"], tx["day"], *terminal_events, TERMINAL_COMPROMISE_DAYS)
    scenario[at_terminal] = 2
    chosen = rng.random(scenario.size) < CUSTOMER_FRAUD_SHARE
    card = chosen & _in_window(
        tx["customer"], tx["day"], *customer_events, CUSTOMER_COMPROMISE_DAYS
    )
    tx["amount"][card] = np.round(tx["amount"][card] * CUSTOMER_FRAUD_AMOUNT_FACTOR, 2)
    scenario[card] = 3
    return scenario, (terminal_events, customer_events)


def _transactions_frame(
    settings: SimulatorSettings, tx: dict[str, np.ndarray], scenario: np.ndarray
) -> pd.DataFrame:
    import pandas as pd

    order = np.argsort(tx["day"] * _SECONDS_PER_DAY + tx["seconds"], kind="stable")
    elapsed = pd.to_timedelta(tx["day"][order] * _SECONDS_PER_DAY + tx["seconds"][order], "s")
    return pd.DataFrame(
        {
            "transaction_id": np.arange(order.size, dtype=np.int64),
            "timestamp": settings.start_timestamp() + elapsed,
            "customer_id": tx["customer"][order],
            "terminal_id": tx["terminal"][order],
            "amount": tx["amount"][order],
            "day": tx["day"][order],
            "is_fraud": (scenario[order] > 0).astype(np.int8),
            "fraud_scenario": scenario[order],
        }
    )


def _profile_frames(profiles: _Profiles) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    home, shop = profiles.customer_xy, profiles.terminal_xy
    customers = pd.DataFrame(
        {"customer_id": np.arange(len(home)), "x": home[:, 0], "y": home[:, 1]}
    )
    customers["mean_amount"] = profiles.mean_amount
    customers["std_amount"] = profiles.std_amount
    customers["mean_transactions_per_day"] = profiles.rate
    terminals = pd.DataFrame(
        {"terminal_id": np.arange(len(shop)), "x": shop[:, 0], "y": shop[:, 1]}
    )
    return customers, terminals


def simulate(settings: SimulatorSettings | None = None) -> Simulation:
    """Simulate transactions and keep the profiles and compromises that explain the labels.

    The same settings (seed included) give the same frames, bit for bit.
    """
    import pandas as pd

    settings = settings or SimulatorSettings()
    rng = np.random.default_rng(settings.seed)
    profiles = _draw_profiles(rng, settings)
    reach = _terminals_in_reach(profiles, settings.radius)
    tx = _genuine_transactions(rng, settings, profiles, reach)
    scenario, (terminal_events, customer_events) = _label_fraud(rng, settings, tx)
    customers, terminals = _profile_frames(profiles)
    return Simulation(
        transactions=_transactions_frame(settings, tx, scenario),
        customers=customers,
        terminals=terminals,
        compromised_terminals=pd.DataFrame(
            {"terminal_id": terminal_events[0], "day": terminal_events[1]}
        ),
        compromised_customers=pd.DataFrame(
            {"customer_id": customer_events[0], "day": customer_events[1]}
        ),
    )


def simulate_transactions(
    *,
    customers: int = 5000,
    terminals: int = 10000,
    days: int = 91,
    radius: float = 5.0,
    start: str = "2018-04-01",
    seed: int = 0,
    compromised_terminals_per_day: int = 2,
    compromised_customers_per_day: int = 3,
) -> pd.DataFrame:
    """Simulated card transactions with fraud labels (see the module docstring).

    Returns:
        A frame with transaction_id, timestamp (datetime64), customer_id, terminal_id, amount,
        day (0-based), is_fraud (0/1) and fraud_scenario (0 genuine, 1-3), sorted by time.

    Raises:
        DataError: a count that is not a positive integer, ``radius <= 0``, ``days < 1``, more
            compromises a day than entities, or a ``start`` that is not a date.
    """
    compromised_per_day = (compromised_terminals_per_day, compromised_customers_per_day)
    settings = SimulatorSettings(
        customers, terminals, days, radius, start, seed, *compromised_per_day
    )
    return simulate(settings).transactions
