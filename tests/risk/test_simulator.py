"""The transaction simulator: seeded, labels that follow the three fraud scenarios."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from furima.exceptions import DataError
from furima.risk._simulator import (
    CUSTOMER_COMPROMISE_DAYS,
    FRAUD_AMOUNT_THRESHOLD,
    TERMINAL_COMPROMISE_DAYS,
    Simulation,
    SimulatorSettings,
    simulate,
    simulate_transactions,
)

SMALL: dict[str, Any] = {"customers": 200, "terminals": 400, "days": 30}


@pytest.fixture(scope="module")
def world() -> Simulation:
    return simulate(SimulatorSettings(**SMALL, seed=7))


def test_columns_types_and_time_order(world: Simulation) -> None:
    tx = world.transactions
    assert list(tx.columns) == [
        "transaction_id",
        "timestamp",
        "customer_id",
        "terminal_id",
        "amount",
        "day",
        "is_fraud",
        "fraud_scenario",
    ]
    assert pd.api.types.is_datetime64_any_dtype(tx["timestamp"])
    assert tx["timestamp"].is_monotonic_increasing
    assert (tx["transaction_id"].to_numpy() == np.arange(len(tx))).all()
    assert tx["timestamp"].min() >= pd.Timestamp("2018-04-01")
    assert tx["timestamp"].max() < pd.Timestamp("2018-05-01")
    days_from_time = (tx["timestamp"] - pd.Timestamp("2018-04-01")).dt.days
    assert (days_from_time == tx["day"]).all()
    assert set(tx["fraud_scenario"].unique()) <= {0, 1, 2, 3}
    assert ((tx["fraud_scenario"] > 0).astype(int) == tx["is_fraud"]).all()
    assert (tx["amount"] > 0).all()
    # pinned for seed 7: a change here means the random stream changed (old seeds differ)
    assert len(tx) == 10720
    assert tx["fraud_scenario"].value_counts().sort_index().to_dict() == {
        0: 9234,
        1: 4,
        2: 909,
        3: 573,
    }


def test_same_seed_same_frame_and_other_seed_differs() -> None:
    first = simulate_transactions(**SMALL, seed=3)
    pd.testing.assert_frame_equal(first, simulate_transactions(**SMALL, seed=3))
    other = simulate_transactions(**SMALL, seed=4)
    assert len(other) != len(first) or not other["amount"].equals(first["amount"])


def test_customers_pay_only_at_terminals_within_radius(world: Simulation) -> None:
    tx = world.transactions
    home = world.customers.set_index("customer_id").loc[tx["customer_id"], ["x", "y"]]
    shop = world.terminals.set_index("terminal_id").loc[tx["terminal_id"], ["x", "y"]]
    distance = np.hypot(*(home.to_numpy() - shop.to_numpy()).T)
    assert distance.max() <= 5.0 + 1e-9


def test_scenario_1_is_exactly_the_amount_rule(world: Simulation) -> None:
    tx = world.transactions
    over = tx["amount"] > FRAUD_AMOUNT_THRESHOLD
    assert (tx.loc[over, "is_fraud"] == 1).all()  # every large amount is fraud
    assert (tx.loc[tx["fraud_scenario"] == 1, "amount"] > FRAUD_AMOUNT_THRESHOLD).all()
    assert (tx.loc[tx["is_fraud"] == 0, "amount"] <= FRAUD_AMOUNT_THRESHOLD).all()
    assert (tx["fraud_scenario"] == 1).sum() > 0


def _compromised_within(events: pd.DataFrame, key: str, tx: pd.DataFrame, window: int) -> Any:
    pairs = tx[[key, "day"]].reset_index().merge(events, on=key, suffixes=("", "_event"))
    inside = (pairs["day"] >= pairs["day_event"]) & (pairs["day"] < pairs["day_event"] + window)
    return tx.index.isin(pairs.loc[inside, "index"])


def test_scenario_2_is_every_transaction_at_a_compromised_terminal(world: Simulation) -> None:
    tx = world.transactions
    inside = _compromised_within(
        world.compromised_terminals, "terminal_id", tx, TERMINAL_COMPROMISE_DAYS
    )
    assert (tx.loc[tx["fraud_scenario"] == 2].index.isin(tx.index[inside])).all()
    # every such transaction is fraud; scenario 3 may take over the label, never genuine
    assert set(tx.loc[inside, "fraud_scenario"].unique()) <= {2, 3}
    assert (tx["fraud_scenario"] == 2).sum() > 0
    assert len(world.compromised_terminals) == 2 * SMALL["days"]


def test_scenario_3_is_a_third_of_compromised_cards_at_five_times(world: Simulation) -> None:
    tx = world.transactions
    inside = _compromised_within(
        world.compromised_customers, "customer_id", tx, CUSTOMER_COMPROMISE_DAYS
    )
    card = tx["fraud_scenario"] == 3
    assert card.sum() > 0
    assert (inside[card.to_numpy()]).all()
    assert 0.2 < card.sum() / inside.sum() < 0.5  # about one in three
    profile = world.customers.set_index("customer_id").loc[tx.loc[card, "customer_id"]]
    usual = tx.loc[card, "amount"].to_numpy() / 5.0
    mean, std = profile["mean_amount"].to_numpy(), profile["std_amount"].to_numpy()
    assert (usual <= mean + 6 * std).all()
    assert 0.8 < usual.mean() / mean.mean() < 1.2
    assert tx.loc[card, "amount"].mean() > 3 * tx.loc[~card, "amount"].mean()


def test_fraud_rate_at_the_handbook_density() -> None:
    tx = simulate_transactions(customers=5000, terminals=10000, days=30, seed=1)
    assert 200_000 < len(tx) < 400_000
    assert 0.002 < tx["is_fraud"].mean() < 0.03
    assert set(tx["fraud_scenario"].unique()) == {0, 1, 2, 3}


def test_scenarios_can_be_turned_off() -> None:
    tx = simulate_transactions(
        **SMALL, compromised_terminals_per_day=0, compromised_customers_per_day=0
    )
    assert set(tx["fraud_scenario"].unique()) <= {0, 1}
    assert ((tx["amount"] > FRAUD_AMOUNT_THRESHOLD) == (tx["is_fraud"] == 1)).all()


def test_a_customer_with_no_terminal_in_reach_makes_no_transaction() -> None:
    tx = simulate_transactions(
        customers=50, terminals=1, days=5, radius=0.001, compromised_terminals_per_day=1
    )
    assert tx.empty
    assert list(tx.columns)[:2] == ["transaction_id", "timestamp"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"customers": 0},
            "`customers` must be a positive integer, but got 0. Pass a whole number of at "
            "least 1, e.g. customers=5000.",
        ),
        ({"terminals": -3}, "`terminals` must be a positive integer, but got -3."),
        ({"days": 0}, "`days` must be a positive integer, but got 0."),
        ({"days": 2.5}, "`days` must be a positive integer, but got 2.5."),
        ({"radius": 0.0}, "`radius` must be a finite number > 0"),
        ({"radius": float("nan")}, "`radius` must be a finite number > 0"),
        (
            {"terminals": 3, "compromised_terminals_per_day": 4},
            "`compromised_terminals_per_day` must be at most `terminals` (3), but got 4.",
        ),
        (
            {"compromised_customers_per_day": -1},
            "`compromised_customers_per_day` must be a whole number >= 0, but got -1.",
        ),
        ({"start": "not a date"}, "`start` must be a date such as '2018-04-01'"),
    ],
)
def test_bad_inputs_are_refused_before_compute(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError) as raised:
        simulate_transactions(**kwargs)
    assert str(raised.value).startswith(message)
