"""``FeedRanker``: what the server loads to order a feed's candidates for a user.

It learns from an interaction log as production would: the candidate generators learn from
the early part, the ranker from point-in-time examples of the requests after it (what each
user went on to do each day), and then the generators are fitted again on every event for
serving. ``rank`` is batch-first: each request is a user (or a visitor's explicit history)
with candidate ids, or ``fill=k`` to take the generators' best; answers come best first with
a score, per-event probabilities when the ranker gives them, and notes on whatever was done
differently (unknown listings left out, an unknown user ranked by item features alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima.catalog._interactions import Interactions
from furima.exceptions import DataError, NotFittedError
from furima.ranking._base import Ranker, RankingExamples
from furima.ranking._examples import CandidateSettings, build_examples, daily_requests
from furima.ranking._features import DAY_S, DEFAULT_FEATURE_GENERATORS, FeatureBuilder

if TYPE_CHECKING:
    import pandas as pd

    from furima.recommend._items import ItemColumns

__all__ = ["MAX_CANDIDATES", "FeedRanker", "RankRequest", "RankedFeed", "RankedItem"]

MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class RankRequest:
    """One feed to order: a ``user`` (or a visitor's ``history`` of listing ids) and the
    ``candidates`` to rank, or ``fill`` to take that many from the generators."""

    user: str | None = None
    candidates: Sequence[str] = ()
    history: Sequence[str] | None = None
    fill: int | None = None

    @classmethod
    def of(cls, value: RankRequest | Mapping[str, Any] | str) -> RankRequest:
        """A request from itself, a JSON-like dict, or a bare user id (with ``fill``)."""
        if isinstance(value, RankRequest):
            return value
        if isinstance(value, str):
            return cls(user=value)
        if not isinstance(value, Mapping):
            raise DataError(
                f"a rank request is a dict or a RankRequest, not {type(value).__name__}."
            )
        unknown = set(value) - {"user", "candidates", "history", "fill"}
        if unknown:
            raise DataError(
                f"unknown rank request fields {sorted(unknown)}; use user, candidates, history "
                "and fill."
            )
        for name in ("candidates", "history"):
            if isinstance(value.get(name), str):
                raise DataError(f"{name} is a list of listing ids, not one string.")
        user = value.get("user")
        return cls(
            user=None if user is None else str(user),
            candidates=tuple(str(c) for c in value.get("candidates") or ()),
            history=None if value.get("history") is None else [str(h) for h in value["history"]],
            fill=value.get("fill"),
        )


@dataclass(frozen=True)
class RankedItem:
    id: str
    score: float
    probabilities: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "score": self.score}
        if self.probabilities is not None:
            out["probabilities"] = self.probabilities
        return out


@dataclass(frozen=True)
class RankedFeed:
    """One request's candidates, best first, and what was done differently."""

    user: str | None
    items: list[RankedItem]
    notes: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "items": [item.to_dict() for item in self.items],
            "notes": list(self.notes),
        }


@dataclass
class _Prepared:
    user: int
    history: np.ndarray
    items: np.ndarray
    notes: list[str]


class FeedRanker:
    """Learns to order feeds from an interaction log and answers ``/v1/rank`` requests.

    Args:
        ranker: The ranker to train (default: a :class:`~furima.ranking.LightGBMRanker` with
            ``gains``).
        events: Event types to label (default: all of the log's).
        gains: Relevance per event type for the default ranker.
        candidates_per_request: Candidates per training request.
        generator_share: Share of the log's time span the generators learn from before the
            training requests start.
        generators: Candidate generators for features and ``fill``.
        max_requests: Training requests sampled at most (the most recent kept).
        day_s: Length of a request's label window (a day).
    """

    def __init__(
        self,
        ranker: Ranker | None = None,
        *,
        events: Sequence[str] | None = None,
        gains: Mapping[str, int] | None = None,
        candidates_per_request: int = 100,
        generator_share: float = 0.35,
        generators: Sequence[str] = DEFAULT_FEATURE_GENERATORS,
        max_requests: int = 20_000,
        day_s: int = DAY_S,
    ) -> None:
        if not 0.05 <= generator_share <= 0.9:
            raise DataError(f"generator_share must be in [0.05, 0.9], but got {generator_share}.")
        self.ranker = ranker
        self.events = None if events is None else tuple(events)
        self.gains = None if gains is None else dict(gains)
        self.candidates_per_request = candidates_per_request
        self.generator_share = generator_share
        self.generators = tuple(generators)
        self.max_requests = max_requests
        self.day_s = day_s

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        interactions: Interactions,
        *,
        listings: pd.DataFrame | None = None,
        columns: ItemColumns | None = None,
        category: np.ndarray | Sequence[Any] | None = None,
        seed: int = 0,
    ) -> Self:
        """Split the log in time, learn the ranker point-in-time, refit the features on all
        events. ``listings`` (with ``columns``) or ``category`` give item attributes."""
        from furima.ranking._lightgbm import LightGBMRanker

        if listings is not None and category is None:
            interactions = _with_listings(interactions, listings, columns)
        cutoff = self._cutoff(interactions)
        builder = FeatureBuilder(generators=self.generators, seed=seed).fit(
            interactions,
            listings=listings,
            columns=columns,
            category=category,
            generators_before=cutoff,
        )
        train, valid = self._examples(interactions, builder, cutoff, seed)
        ranker = self.ranker or LightGBMRanker(self.gains, seed=seed)
        self.ranker_ = ranker.fit(train, valid)
        self.builder_ = builder.refit_generators()
        self.moment_ = int(interactions.timestamp.max()) + 1
        self.training_ = {"requests": int(train.frame["request"].nunique()), "rows": len(train)}
        return self

    def _cutoff(self, interactions: Interactions) -> int:
        start, stop = np.quantile(interactions.timestamp, [0.01, 1.0])
        cutoff = int(start + (stop - start) * self.generator_share)
        return (cutoff // self.day_s) * self.day_s

    def _examples(
        self, interactions: Interactions, builder: FeatureBuilder, cutoff: int, seed: int
    ) -> tuple[RankingExamples, RankingExamples | None]:
        requests = daily_requests(interactions, start=cutoff, day_s=self.day_s)
        requests = requests.sort_values("timestamp", kind="stable").tail(self.max_requests)
        if requests.empty:
            raise DataError(
                "no user has events after the generators' share of the log; give a longer log "
                "or a smaller generator_share."
            )
        settings = CandidateSettings(size=self.candidates_per_request, seed=seed)
        examples = build_examples(
            interactions, requests, builder=builder, candidates=settings, events=self.events
        )
        last = examples.frame["timestamp"].to_numpy() == examples.frame["timestamp"].max()
        if last.all() or last.mean() > 0.5:
            return examples, None
        return examples.subset(~last), examples.subset(last)

    # ------------------------------------------------------------------ ranking
    def rank(self, requests: Sequence[RankRequest | Mapping[str, Any] | str]) -> list[RankedFeed]:
        """Order each request's candidates, best first (batch-first; one scoring pass)."""
        self._check_fitted()
        prepared = [self._prepare(RankRequest.of(r)) for r in requests]
        sizes = np.array([len(p.items) for p in prepared], np.int64)
        if not sizes.sum():
            return [
                RankedFeed(_name(r), [], p.notes) for r, p in zip(requests, prepared, strict=True)
            ]
        items = np.concatenate([p.items for p in prepared])
        users = np.repeat([p.user for p in prepared], sizes)
        moments = np.full(len(items), self.moment_, np.int64)
        matrix = self.builder_.matrix(
            users,
            items,
            moments,
            histories=[p.history for p in prepared],
            requests=np.repeat(np.arange(len(prepared)), sizes),
        )
        scores, probabilities = self._scores(matrix, users, items)
        return self._answers(requests, prepared, sizes, items, scores, probabilities)

    def _prepare(self, request: RankRequest) -> _Prepared:
        builder, notes = self.builder_, list[str]()
        user = -1 if request.user is None else int(builder.events_.users.index([request.user])[0])
        if request.history is not None:
            history, notes = self._explicit_history(request.history)
        elif user >= 0:
            history = builder.history(user, self.moment_)[-200:]
        else:
            history = np.zeros(0, np.int64)
            if request.user is not None:
                notes.append(f"user {request.user!r} is unknown: ranked by item features alone")
        items, more = self._candidates(request, history)
        return _Prepared(user, history, items, notes + more)

    def _explicit_history(self, history: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        if isinstance(history, str):
            raise DataError("a history is a list of listing ids, not one string.")
        indices = self.builder_.events_.items.index(list(history))
        unknown = [h for h, i in zip(history, indices, strict=True) if i < 0]
        notes = [f"left out {len(unknown)} unknown history listing(s): {', '.join(unknown[:5])}"]
        return indices[indices >= 0], notes if unknown else []

    def _candidates(
        self, request: RankRequest, history: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        if request.fill is not None:
            return self._filled(request, history)
        given = list(request.candidates)
        if isinstance(request.candidates, str) or not given:
            raise DataError("a rank request needs 1 to 1000 candidate ids (a list), or fill=k.")
        if len(given) > MAX_CANDIDATES:
            raise DataError(
                f"a rank request takes at most {MAX_CANDIDATES} candidates, but got {len(given)}; "
                "split it or pre-filter the candidates."
            )
        notes = []
        distinct = list(dict.fromkeys(given))
        if len(distinct) < len(given):
            notes.append(f"{len(given) - len(distinct)} duplicate candidate(s) ranked once")
        indices = self.builder_.events_.items.index(distinct)
        unknown = [c for c, i in zip(distinct, indices, strict=True) if i < 0]
        if unknown:
            notes.append(f"left out {len(unknown)} unknown listing(s): {', '.join(unknown[:10])}")
        return indices[indices >= 0], notes

    def _filled(self, request: RankRequest, history: np.ndarray) -> tuple[np.ndarray, list[str]]:
        fill = request.fill
        if not isinstance(fill, int | np.integer) or not 1 <= fill <= MAX_CANDIDATES:
            raise DataError(f"fill must be an integer in [1, {MAX_CANDIDATES}], but got {fill!r}.")
        if request.candidates:
            raise DataError("give candidates or fill, not both.")
        if len(history):
            top = self.builder_.scores_.top([history], int(fill))[0]
            return top[top >= 0], []
        popular = self.builder_.popular(int(fill))
        return popular, ["no history: the most popular listings were ranked"]

    def _scores(
        self, matrix: np.ndarray, users: np.ndarray, items: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        fast = getattr(self.ranker_, "score_matrix", None)
        if fast is not None and getattr(self.ranker_, "label", None) is None:
            return np.asarray(fast(matrix)), None
        examples = self._as_examples(matrix, users, items)
        try:
            probabilities = self.ranker_.event_probabilities(examples)
        except NotImplementedError:
            probabilities = None
        return np.asarray(self.ranker_.score(examples), np.float64), probabilities

    def _as_examples(
        self, matrix: np.ndarray, users: np.ndarray, items: np.ndarray
    ) -> RankingExamples:
        import pandas as pd

        builder = self.builder_
        frame = pd.DataFrame(matrix, columns=list(builder.features))
        frame.insert(0, "request", 0)
        known = builder.events_.users.external(np.maximum(users, 0))
        frame.insert(1, "user", np.where(users >= 0, known, ""))
        frame.insert(2, "item", builder.events_.items.external(items))
        frame.insert(3, "timestamp", self.moment_)
        return RankingExamples(frame, builder.features, (), builder.categorical)

    def _answers(
        self,
        requests: Sequence[Any],
        prepared: list[_Prepared],
        sizes: np.ndarray,
        items: np.ndarray,
        scores: np.ndarray,
        probabilities: dict[str, np.ndarray] | None,
    ) -> list[RankedFeed]:
        ids = self.builder_.events_.items.external(items)
        answers, start = [], 0
        for request, part, size in zip(requests, prepared, sizes, strict=True):
            rows = start + np.argsort(-scores[start : start + size], kind="stable")
            ranked = [
                RankedItem(str(ids[r]), round(float(scores[r]), 6), _row(probabilities, r))
                for r in rows
            ]
            answers.append(RankedFeed(_name(request), ranked, part.notes))
            start += int(size)
        return answers

    def users_sample(self, n: int = 10) -> list[str]:
        """Up to ``n`` known users with the most events (for pickers and smoke tests)."""
        self._check_fitted()
        events = self.builder_.events_
        counts = np.bincount(events.user, minlength=events.n_users)
        order = np.argsort(-counts, kind="stable")[: max(n, 0)]
        return [str(u) for u in events.users.external(order)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "ranker_"):
            raise NotFittedError("This FeedRanker is not fitted yet; call fit() or load().")

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> Path:
        """Save atomically to the folder ``path`` (format ``furima.feed_ranker``)."""
        from furima.ranking._pipeline_persistence import save_feed_ranker

        self._check_fitted()
        return save_feed_ranker(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> FeedRanker:
        from furima.ranking._pipeline_persistence import load_feed_ranker

        return load_feed_ranker(Path(path))


def _name(request: Any) -> str | None:
    user = RankRequest.of(request).user if not isinstance(request, RankRequest) else request.user
    return user


def _row(probabilities: dict[str, np.ndarray] | None, row: int) -> dict[str, float] | None:
    if probabilities is None:
        return None
    return {event: round(float(p[row]), 6) for event, p in probabilities.items()}


def _with_listings(
    interactions: Interactions, listings: pd.DataFrame, columns: ItemColumns | None
) -> Interactions:
    """The log with every catalog listing in its item map (new listings can be ranked)."""
    from furima.recommend._event_logs import listing_ids, with_catalog
    from furima.recommend._items import ItemColumns

    return with_catalog(interactions, listing_ids(listings, columns or ItemColumns()))
