"""Interleaving: compare two rankings on the same users by mixing them into one list.

An A/B test shows each user one ranker and compares groups of users, so how much users differ
from one another (some click a lot, most hardly at all) is noise the test must average away.
Interleaving shows every user one list drawn from both rankings and asks whose items that user
clicked: each user is their own control, and a sign test over users decides.

Two ways to mix the lists:

- **Team draft** (Radlinski, Kurup & Joachims 2008): like captains picking teams, the ranker
  with fewer picks so far (a coin decides ties) adds its best item not yet shown. A click
  credits the team that picked the item.
- **Balanced** (Joachims 2003; Chapelle et al. 2012, Algorithm 1): two pointers walk down the
  rankings, the one behind (a coin decides ties, once per list) adds its item when new. Credit
  follows the lowest click: with ``j`` its best rank in either ranking, each ranker gets the
  clicks that sit in its own top ``j``.

An item in both rankings is shown once; an item repeated within one ranking counts at its first
place. Each user's outcome is ``"a"``, ``"b"`` or ``"tie"`` (no clicks, or equal credit), and
:func:`interleaving_test` runs a two-sided binomial sign test on the users who preferred one.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from furima.exceptions import ExperimentConfigError, ExperimentDataError

__all__ = [
    "Interleaved",
    "InterleavingMethod",
    "InterleavingResult",
    "Outcome",
    "balanced",
    "credit",
    "credit_counts",
    "evaluate_interleaved",
    "interleave",
    "interleaving_test",
    "replay_interleaving",
    "replay_outcomes",
    "team_draft",
]

T = TypeVar("T", bound=Hashable)
Team = Literal["a", "b"]
Outcome = Literal["a", "b", "tie"]
InterleavingMethod = Literal["team_draft", "balanced"]
Seed = np.random.Generator | int


@dataclass(frozen=True)
class Interleaved(Generic[T]):
    """The list one user was shown, and where each item came from.

    Attributes:
        items: The interleaved list, best first, each item once.
        teams: For each item, the ranking that placed it (``"a"`` or ``"b"``).
        method: ``"team_draft"`` or ``"balanced"``; it decides how clicks are credited.
        a: Ranking A as given (balanced credit reads its ranks).
        b: Ranking B as given.
    """

    items: tuple[T, ...]
    teams: tuple[Team, ...]
    method: InterleavingMethod = "team_draft"
    a: tuple[T, ...] = ()
    b: tuple[T, ...] = ()

    def __post_init__(self) -> None:
        if len(self.items) != len(self.teams):
            raise ExperimentDataError(
                f"Interleaved needs one team per item, but got {len(self.items)} items and "
                f"{len(self.teams)} teams."
            )
        if self.method not in ("team_draft", "balanced"):
            raise ExperimentDataError(
                f"Interleaved.method must be 'team_draft' or 'balanced', but got {self.method!r}."
            )
        if self.method == "balanced" and not set(self.items) <= set(self.a) | set(self.b):
            raise ExperimentDataError(
                "A balanced interleaving is credited by the ranks in its two rankings: pass "
                "a and b holding every shown item (as balanced() does)."
            )

    def __len__(self) -> int:
        return len(self.items)


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ExperimentDataError(
            f"`k` (the length of the interleaved list) must be an int >= 1, but got {k!r}."
        )


def _unique(ranking: Sequence[T]) -> list[T]:
    """The ranking with repeats dropped, each item at its first place."""
    return list(dict.fromkeys(ranking))


def _generator(rng: Seed) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def team_draft(a: Sequence[T], b: Sequence[T], k: int, rng: Seed) -> Interleaved[T]:
    """Team-draft interleaving of rankings ``a`` and ``b`` into at most ``k`` items.

    The team with fewer picks adds its best item not shown yet; on equal picks a coin from
    ``rng`` (a ``numpy`` Generator, or a seed) decides. When one ranking runs out of new items
    the other keeps picking, so the list is ``k`` long unless both run out.
    """
    _check_k(k)
    generator = _generator(rng)
    rankings = {"a": _unique(a), "b": _unique(b)}
    cursor = {"a": 0, "b": 0}
    picks = {"a": 0, "b": 0}
    items: list[T] = []
    teams: list[Team] = []
    shown: set[T] = set()
    while len(items) < k:
        order: tuple[Team, Team] = ("a", "b") if _a_first(picks, generator) else ("b", "a")
        team = next((t for t in order if _skip_shown(rankings[t], cursor, t, shown)), None)
        if team is None:
            break
        item = rankings[team][cursor[team]]
        items.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return Interleaved(tuple(items), tuple(teams), "team_draft", tuple(a), tuple(b))


def _a_first(picks: dict[str, int], generator: np.random.Generator) -> bool:
    if picks["a"] != picks["b"]:
        return picks["a"] < picks["b"]
    return bool(generator.random() < 0.5)


def _skip_shown(ranking: list[T], cursor: dict[str, int], team: str, shown: set[T]) -> bool:
    """Move ``cursor[team]`` past shown items; whether the ranking still has a new item."""
    while cursor[team] < len(ranking) and ranking[cursor[team]] in shown:
        cursor[team] += 1
    return cursor[team] < len(ranking)


def balanced(a: Sequence[T], b: Sequence[T], k: int, rng: Seed) -> Interleaved[T]:
    """Balanced interleaving of rankings ``a`` and ``b`` into at most ``k`` items.

    Pointers ``i`` into ``a`` and ``j`` into ``b``: the one behind (on a tie, the list a coin
    drew once) adds its item unless shown already, then moves on. When one ranking is
    exhausted the other fills the list.
    """
    _check_k(k)
    ranking_a, ranking_b = _unique(a), _unique(b)
    a_first = bool(_generator(rng).random() < 0.5)
    i = j = 0
    items: list[T] = []
    teams: list[Team] = []
    shown: set[T] = set()
    while len(items) < k and (i < len(ranking_a) or j < len(ranking_b)):
        take_a = j >= len(ranking_b) or (i < len(ranking_a) and (i < j or (i == j and a_first)))
        item = ranking_a[i] if take_a else ranking_b[j]
        if item not in shown:
            items.append(item)
            teams.append("a" if take_a else "b")
            shown.add(item)
        i, j = (i + 1, j) if take_a else (i, j + 1)
    return Interleaved(tuple(items), tuple(teams), "balanced", tuple(a), tuple(b))


def interleave(
    a: Sequence[T],
    b: Sequence[T],
    k: int,
    rng: Seed,
    *,
    method: InterleavingMethod = "team_draft",
) -> Interleaved[T]:
    """:func:`team_draft` or :func:`balanced`, by name."""
    if method == "team_draft":
        return team_draft(a, b, k, rng)
    if method == "balanced":
        return balanced(a, b, k, rng)
    raise ExperimentConfigError(f"`method` must be 'team_draft' or 'balanced', but got {method!r}.")


def credit_counts(
    interleaved: Interleaved[T], clicked: Collection[T], *, strict: bool = True
) -> tuple[int, int]:
    """The clicks credited to ranking A and to ranking B.

    Args:
        interleaved: The list the user was shown.
        clicked: The items the user clicked on it.
        strict: Raise :class:`ExperimentDataError` when a clicked item is not in the shown
            list (clicks from another page mixed in); ``False`` ignores such items.
    """
    shown = set(interleaved.items)
    outside = [item for item in clicked if item not in shown]
    if strict and outside:
        raise ExperimentDataError(
            f"{len(outside)} clicked item(s) (e.g. {outside[0]!r}) are not in the "
            f"interleaved list of {len(shown)} items shown to the user; pass only the clicks "
            "on that list, or strict=False to ignore the others."
        )
    hits = set(clicked) & shown
    if interleaved.method == "balanced":
        return _balanced_counts(interleaved, hits)
    on_a = sum(
        1
        for item, team in zip(interleaved.items, interleaved.teams, strict=True)
        if item in hits and team == "a"
    )
    return on_a, len(hits) - on_a


def _balanced_counts(interleaved: Interleaved[T], hits: set[T]) -> tuple[int, int]:
    """Joachims' rule: clicks within each ranking's top ``j``, ``j`` the best rank of the
    lowest clicked item in either ranking."""
    if not hits:
        return 0, 0
    lowest = max(interleaved.items.index(item) for item in hits)
    item = interleaved.items[lowest]
    rank_a, rank_b = _unique(interleaved.a), _unique(interleaved.b)
    depth = min(_rank(rank_a, item), _rank(rank_b, item))
    return len(hits & set(rank_a[:depth])), len(hits & set(rank_b[:depth]))


def _rank(ranking: list[T], item: T) -> int:
    """1-based rank of ``item``, or past the end when absent."""
    return ranking.index(item) + 1 if item in ranking else len(ranking) + 1


def credit(interleaved: Interleaved[T], clicked: Collection[T], *, strict: bool = True) -> Outcome:
    """Which ranking the user preferred: ``"a"``, ``"b"`` or ``"tie"`` (no clicks or equal
    credit). See :func:`credit_counts` for ``strict``."""
    on_a, on_b = credit_counts(interleaved, clicked, strict=strict)
    return "a" if on_a > on_b else "b" if on_b > on_a else "tie"


@dataclass(frozen=True)
class InterleavingResult:
    """A sign test of users preferring ranking A against users preferring B.

    Attributes:
        wins_a: Users whose clicks credited A more.
        wins_b: Users whose clicks credited B more.
        ties: Users with no clicks or equal credit (left out of the test).
        share_b: Of the users with a preference, the share preferring B.
        ci_low: Lower end of the Wilson ``1 - alpha`` interval of ``share_b``.
        ci_high: Upper end.
        p_value: Two-sided exact binomial p-value of ``share_b = 0.5``.
        alpha: The test's level.
    """

    wins_a: int
    wins_b: int
    ties: int
    share_b: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float

    @property
    def users(self) -> int:
        return self.wins_a + self.wins_b + self.ties

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def winner(self) -> Team | None:
        """The preferred ranking when the test is significant, else ``None``."""
        if not self.significant:
            return None
        return "b" if self.wins_b > self.wins_a else "a"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"users": self.users, "winner": self.winner}


def interleaving_test(
    wins_a: int, wins_b: int, ties: int, alpha: float = 0.05
) -> InterleavingResult:
    """Two-sided binomial sign test (``scipy.stats.binomtest``) on the users with a
    preference; ties count as users but not in the test."""
    counts = {"wins_a": wins_a, "wins_b": wins_b, "ties": ties}
    bad = {name: value for name, value in counts.items() if int(value) != value or value < 0}
    if bad:
        raise ExperimentDataError(f"Win and tie counts must be ints >= 0, but got {bad}.")
    if not 0 < alpha < 1:
        raise ExperimentConfigError(f"`alpha` must lie in (0, 1), but got {alpha}.")
    decided = int(wins_a) + int(wins_b)
    if decided == 0:
        raise ExperimentDataError(
            f"No user preferred either ranking ({int(ties)} ties): a sign test needs clicks "
            "that credit one ranking more; collect more users or check the click log."
        )
    from scipy.stats import binomtest

    test = binomtest(int(wins_b), decided, 0.5, alternative="two-sided")
    interval = test.proportion_ci(confidence_level=1 - alpha, method="wilson")
    return InterleavingResult(
        wins_a=int(wins_a),
        wins_b=int(wins_b),
        ties=int(ties),
        share_b=int(wins_b) / decided,
        ci_low=float(interval.low),
        ci_high=float(interval.high),
        p_value=float(test.pvalue),
        alpha=alpha,
    )


def _tally(outcomes: Iterable[Outcome], alpha: float, what: str) -> InterleavingResult:
    wins = {"a": 0, "b": 0, "tie": 0}
    for outcome in outcomes:
        wins[outcome] += 1
    if sum(wins.values()) == 0:
        raise ExperimentDataError(f"No {what} to evaluate: pass at least one user.")
    return interleaving_test(wins["a"], wins["b"], wins["tie"], alpha)


def evaluate_interleaved(
    sessions: Iterable[tuple[Interleaved[T], Collection[T]]],
    *,
    alpha: float = 0.05,
    strict: bool = True,
) -> InterleavingResult:
    """The sign test over logged sessions: each the list a user was shown and their clicks."""
    outcomes = (credit(shown, clicked, strict=strict) for shown, clicked in sessions)
    return _tally(outcomes, alpha, "sessions")


def replay_outcomes(
    users: Iterable[tuple[Sequence[T], Sequence[T], Collection[T]]],
    *,
    k: int = 10,
    method: InterleavingMethod = "team_draft",
    seed: Seed = 0,
    examination: Sequence[float] | None = None,
) -> list[Outcome]:
    """Each user's outcome when shown an interleaving of their two rankings, offline.

    Args:
        users: ``(ranking_a, ranking_b, would_click)`` per user; ``would_click`` holds the
            items the user clicks when shown them (e.g. their held-out events).
        k: Length of each interleaved list.
        method: ``"team_draft"`` or ``"balanced"``.
        seed: Seeds one generator for every coin (users are interleaved in order).
        examination: Probability that the user looks at each rank (position bias), best
            first; ranks past its end are never seen. ``None``: every rank is seen.

    Users whose two rankings are both empty are left out.
    """
    _check_k(k)
    exam = _check_examination(examination)
    generator = _generator(seed)
    outcomes: list[Outcome] = []
    seen = 0
    for ranking_a, ranking_b, would_click in users:
        seen += 1
        if not len(ranking_a) and not len(ranking_b):
            continue
        shown = interleave(ranking_a, ranking_b, k, generator, method=method)
        clicked = _clicks(shown.items, would_click, exam, generator)
        outcomes.append(credit(shown, clicked, strict=False))
    if not seen:
        raise ExperimentDataError("No users to replay: pass at least one user.")
    if not outcomes:
        raise ExperimentDataError(
            f"Every user's two rankings are empty ({seen} users): nothing was shown, so "
            "nothing can be compared; check that the recommenders returned items."
        )
    return outcomes


def _check_examination(examination: Sequence[float] | None) -> np.ndarray | None:
    if examination is None:
        return None
    exam = np.asarray(examination, dtype=np.float64)
    if exam.ndim != 1 or not np.all((exam >= 0) & (exam <= 1)):
        raise ExperimentConfigError(
            "`examination` must be one probability in [0, 1] per rank, but got "
            f"{list(examination)!r}."
        )
    return exam


def _clicks(
    items: Sequence[T],
    would_click: Collection[T],
    exam: np.ndarray | None,
    generator: np.random.Generator,
) -> list[T]:
    relevant = [(rank, item) for rank, item in enumerate(items) if item in would_click]
    if exam is None:
        return [item for _, item in relevant]
    return [item for rank, item in relevant if rank < len(exam) and generator.random() < exam[rank]]


def replay_interleaving(
    users: Iterable[tuple[Sequence[T], Sequence[T], Collection[T]]],
    *,
    k: int = 10,
    method: InterleavingMethod = "team_draft",
    seed: Seed = 0,
    alpha: float = 0.05,
    examination: Sequence[float] | None = None,
) -> InterleavingResult:
    """The sign test over users replayed offline (see :func:`replay_outcomes`)."""
    outcomes = replay_outcomes(users, k=k, method=method, seed=seed, examination=examination)
    return _tally(outcomes, alpha, "users")
