"""Interleaving: known lists under fixed seeds, credit on hand-built clicks, the sign test
against scipy and by hand, and unbiasedness under random clicks.

The seeded cases derive the coins by hand: ``np.random.default_rng(0).random()`` draws
0.637, 0.270, 0.041, ... (a coin below 0.5 lets A pick first); ``default_rng(2)`` draws 0.262.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from furima.exceptions import ExperimentConfigError, ExperimentDataError
from furima.experiments._interleaving import (
    Interleaved,
    balanced,
    credit,
    credit_counts,
    evaluate_interleaved,
    interleave,
    interleaving_test,
    replay_interleaving,
    replay_outcomes,
    team_draft,
)

A = ["a", "b", "c", "d"]
B = ["b", "e", "a", "f"]


def test_seeded_coins_are_what_the_cases_assume() -> None:
    assert np.round(np.random.default_rng(0).random(3), 3).tolist() == [0.637, 0.27, 0.041]
    assert round(float(np.random.default_rng(2).random()), 3) == 0.262


def test_team_draft_known_list_under_seed_0() -> None:
    # Round 1 coin 0.637: B picks first (b), then A (a). Round 2 coin 0.270: A first (c, as
    # b is shown), then B (e). Round 3 coin 0.041: A picks d; B's d and a are shown, so
    # B is out of new items and the list ends at 5.
    shown = team_draft(["a", "b", "c", "d"], ["b", "e", "a", "d"], 10, 0)
    assert shown.items == ("b", "a", "c", "e", "d")
    assert shown.teams == ("b", "a", "a", "b", "a")


def test_team_draft_cuts_at_k_and_is_reproducible() -> None:
    first = team_draft(list("abcdefgh"), list("hgfedcba"), 4, 7)
    assert len(first) == 4
    assert first == team_draft(list("abcdefgh"), list("hgfedcba"), 4, 7)
    assert sorted(first.teams) == ["a", "a", "b", "b"]


def test_team_draft_other_team_fills_when_one_runs_out() -> None:
    shown = team_draft(["x"], ["p", "q", "r"], 3, 0)
    assert set(shown.items) == {"x", "p", "q"}
    assert shown.teams.count("a") == 1


def test_balanced_known_lists_for_each_coin() -> None:
    # seed 0 (coin 0.637): B leads; seed 2 (coin 0.262): A leads. Worked by hand from
    # Chapelle et al. (2012), Algorithm 1; repeats (b, a) are skipped.
    assert balanced(A, B, 10, 0).items == ("b", "a", "e", "c", "f", "d")
    assert balanced(A, B, 10, 2).items == ("a", "b", "e", "c", "d", "f")
    assert balanced(A, B, 3, 2).items == ("a", "b", "e")


def test_duplicates_are_shown_once() -> None:
    shown = interleave(["a", "a", "b"], ["b", "a", "c"], 10, 3, method="team_draft")
    assert sorted(shown.items) == ["a", "b", "c"]
    assert len(set(balanced(["a", "a", "b"], ["b", "b"], 10, 3).items)) == 2


def test_team_draft_credit_on_hand_built_clicks() -> None:
    shown = Interleaved(("b", "a", "c", "e"), ("b", "a", "a", "b"))
    assert credit_counts(shown, {"a", "c"}) == (2, 0)
    assert credit(shown, {"a", "c", "e"}) == "a"
    assert credit(shown, {"b", "e"}) == "b"
    assert credit(shown, {"a", "b"}) == "tie"
    assert credit(shown, set()) == "tie"


def test_balanced_credit_follows_the_lowest_click() -> None:
    shown = balanced(A, B, 10, 2)  # a, b, e, c, d, f
    # lowest click e: rank 2 in B, absent from A -> depth 2: A's top 2 {a, b}, B's {b, e}
    assert credit_counts(shown, {"a", "e"}) == (1, 1)
    assert credit(shown, {"b", "e"}) == "b"
    # lowest click c: rank 3 in A -> depth 3: A's {a, b, c} has 2 clicks, B's {b, e, a} 1
    assert credit_counts(shown, {"a", "c"}) == (2, 1)
    assert credit(shown, {"f"}) == "b"


def test_strict_credit_rejects_clicks_that_were_not_shown() -> None:
    shown = Interleaved(("b", "a"), ("b", "a"))
    with pytest.raises(ExperimentDataError, match="not in the interleaved list"):
        credit(shown, {"a", "z"})
    assert credit(shown, {"a", "z"}, strict=False) == "a"


def test_sign_test_matches_scipy_and_the_hand_value() -> None:
    result = interleaving_test(5, 15, 80)
    # 2 * P(X <= 5), X ~ Binomial(20, 0.5) = 2 * 21700 / 2**20
    assert result.p_value == pytest.approx(2 * 21700 / 2**20, abs=1e-12)
    assert result.p_value == binomtest(15, 20, 0.5).pvalue
    assert result.share_b == 0.75
    assert result.users == 100
    assert result.winner == "b"
    z = 1.959963984540054  # Wilson interval by its formula
    centre = (0.75 + z**2 / 40) / (1 + z**2 / 20)
    half = z / (1 + z**2 / 20) * math.sqrt(0.75 * 0.25 / 20 + z**2 / 1600)
    assert result.ci_low == pytest.approx(centre - half, abs=1e-12)
    assert result.ci_high == pytest.approx(centre + half, abs=1e-12)


def test_sign_test_not_significant_says_no_winner() -> None:
    result = interleaving_test(48, 52, 10, alpha=0.05)
    assert result.p_value == binomtest(52, 100, 0.5).pvalue
    assert result.winner is None
    assert result.to_dict()["winner"] is None


@pytest.mark.parametrize("method", ["team_draft", "balanced"])
def test_random_clicks_prefer_neither_ranking(method: str) -> None:
    rng = np.random.default_rng(11)
    catalog = np.arange(60)
    users = []
    for _ in range(5000):
        ranking_a = rng.choice(catalog, 10, replace=False).tolist()
        ranking_b = rng.choice(catalog, 10, replace=False).tolist()
        users.append((ranking_a, ranking_b, set(rng.choice(catalog, 12, replace=False).tolist())))
    result = replay_interleaving(users, k=10, method=method, seed=5)  # type: ignore[arg-type]
    assert result.wins_a + result.wins_b > 1500
    assert abs(result.share_b - 0.5) < 0.03
    assert result.ci_low < 0.5 < result.ci_high


def test_team_draft_is_unbiased_under_position_biased_random_clicks() -> None:
    # B is A with its top item moved to the bottom; clicks depend only on the rank shown.
    ranking_a = list(range(10))
    ranking_b = ranking_a[1:] + ranking_a[:1]
    rng = np.random.default_rng(3)
    users = [
        (ranking_a, ranking_b, set(rng.choice(10, 3, replace=False).tolist())) for _ in range(5000)
    ]
    examination = [1 / math.log2(rank + 2) for rank in range(10)]
    result = replay_interleaving(users, k=10, seed=9, examination=examination)
    assert abs(result.share_b - 0.5) < 0.03


def test_replay_finds_the_ranking_that_holds_the_clicked_items() -> None:
    users = [([1, 2, 3], [7, 8, 9], {7, 9}) for _ in range(40)]
    outcomes = replay_outcomes(users, k=4, seed=0)
    assert set(outcomes) == {"b"}
    assert replay_interleaving(users, k=4, seed=0).winner == "b"


def test_evaluate_logged_sessions() -> None:
    shown = Interleaved((1, 2), ("a", "b"))
    sessions = [(shown, {1})] * 12 + [(shown, {2})] * 2 + [(shown, set())] * 5
    result = evaluate_interleaved(sessions)
    assert (result.wins_a, result.wins_b, result.ties) == (12, 2, 5)
    assert result.p_value == binomtest(2, 14, 0.5).pvalue
    assert result.winner == "a"
    assert result.to_dict()["winner"] == "a"
    assert result.to_dict()["users"] == 19


def test_bad_input_is_rejected_with_a_reason() -> None:
    with pytest.raises(ExperimentDataError, match="`k`"):
        team_draft(A, B, 0, 0)
    with pytest.raises(ExperimentDataError, match="`k`"):
        balanced(A, B, -1, 0)
    with pytest.raises(ExperimentDataError, match="rankings are empty"):
        replay_interleaving([([], [], {1}), ([], [], set())])
    with pytest.raises(ExperimentDataError, match="No users"):
        replay_interleaving([])
    with pytest.raises(ExperimentDataError, match="No user preferred"):
        interleaving_test(0, 0, 7)
    with pytest.raises(ExperimentDataError, match=">= 0"):
        interleaving_test(-1, 3, 0)
    with pytest.raises(ExperimentConfigError, match="alpha"):
        interleaving_test(1, 3, 0, alpha=1.5)
    with pytest.raises(ExperimentConfigError, match="method"):
        interleave(A, B, 3, 0, method="zipper")  # type: ignore[arg-type]
    with pytest.raises(ExperimentConfigError, match="examination"):
        replay_interleaving([(A, B, {"a"})], examination=[1.2])
    with pytest.raises(ExperimentDataError, match="one team per item"):
        Interleaved(("a", "b"), ("a",))
    with pytest.raises(ExperimentDataError, match="pass a and b"):
        Interleaved(("a", "b"), ("a", "b"), "balanced")
    with pytest.raises(ExperimentDataError, match="method"):
        Interleaved(("a",), ("a",), "zipper")  # type: ignore[arg-type]
