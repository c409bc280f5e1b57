"""``Recommender``: interaction logs in; "for you" feeds and "more like this" out.

It fits several candidate generators, learns how to blend them on each user's second-to-last
event (never a training target), and answers in the marketplace's own ids: sold or filtered
listings are left out, every listing carries a reason, and whatever had to be done differently
(an unknown user, unknown listings in a history) is said in the answer's notes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from furima._progress import tracker
from furima.catalog._interactions import Interactions
from furima.catalog._splits import NextItemTargets
from furima.exceptions import DataError, NotFittedError
from furima.recommend._answers import Recommendations, RecommendedItem
from furima.recommend._base import CandidateGenerator, Histories, mask_scores, top_k
from furima.recommend._blend import Blend, learn_blend, standardised
from furima.recommend._event_logs import (
    listing_ids,
    merge_events,
    reindexed,
    training_split,
    with_catalog,
)
from furima.recommend._items import ItemCatalog, ItemColumns
from furima.recommend._popularity import Popularity
from furima.recommend._reasons import Explainer

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

__all__ = ["DEFAULT_GENERATORS", "GENERATORS", "Recommender", "make_generator"]

GENERATORS: dict[str, str] = {
    "popularity": "furima.recommend._popularity:Popularity",
    "item_knn": "furima.recommend._item_knn:ItemKNN",
    "ease": "furima.recommend._ease:EASE",
    "als": "furima.recommend._als:ALS",
    "sequential": "furima.recommend._sequential:SequentialRecommender",
    "content": "furima.recommend._content:ContentSimilarity",
}
"""Generator names and the classes behind them (imported when used)."""

DEFAULT_GENERATORS: tuple[str, ...] = ("popularity", "item_knn", "ease", "als", "sequential")
MAX_K = 1000


def generator_class(name: str) -> type[CandidateGenerator]:
    """The class registered under ``name`` in :data:`GENERATORS`."""
    if name not in GENERATORS:
        raise DataError(
            f"unknown generator {name!r}; choose from {', '.join(GENERATORS)}, or pass a "
            f"CandidateGenerator instance."
        )
    module, attribute = GENERATORS[name].split(":")
    cls: type[CandidateGenerator] = getattr(importlib.import_module(module), attribute)
    return cls


def make_generator(name: str, **params: Any) -> CandidateGenerator:
    """A fresh generator by name, with ``params`` for its ``__init__``."""
    return generator_class(name)(**params)


class Recommender:
    """Personalised feeds and similar listings from interaction logs.

    Args:
        generators: Generator names (:data:`GENERATORS`) or unfitted instances; ``content``
            needs ``content_vectors`` in :meth:`fit`.
        refit: After the blend is learned on the validation events, refit every generator
            on all events (the sequential model for the epochs that validated best).
        max_blend_queries: Validation users sampled to learn the blend weights.
        seed: Seeds the blend's sample (generators take their own seeds).
    """

    def __init__(
        self,
        generators: Sequence[str | CandidateGenerator] = DEFAULT_GENERATORS,
        *,
        refit: bool = False,
        max_blend_queries: int = 3000,
        seed: int = 0,
    ) -> None:
        self.generators = tuple(generators)
        self.refit = refit
        self.max_blend_queries = max_blend_queries
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        interactions: Interactions,
        *,
        valid: NextItemTargets | None = None,
        listings: pd.DataFrame | None = None,
        columns: ItemColumns | None = None,
        content_vectors: np.ndarray | None = None,
        progress: bool = False,
    ) -> Self:
        """Fit the generators and learn their blend.

        Args:
            interactions: The events (dense indices with id maps).
            valid: Next-item queries to choose the blend on. Without them, each user's last
                event is held out for that (leave-last-out) and the generators learn from
                the rest.
            listings: The catalog, for display fields, filters and sold listings; its ids
                must be the log's item ids.
            columns: Which columns of ``listings`` to use.
            content_vectors: Item vectors ``[n_items, d]`` for the ``content`` generator.
                The ``sequential`` generator, named by its name, learns from the listings'
                category and attribute columns too (side information, as brand and category
                ids are on the public benchmarks).
            progress: Show progress on stderr.
        """
        _check_events(interactions)
        columns = columns or ItemColumns()
        if listings is not None:  # new listings are appended: valid's indices stay right
            interactions = with_catalog(interactions, listing_ids(listings, columns))
        train, valid = training_split(interactions, valid)
        self.items_ = (
            ItemCatalog.empty(interactions.n_items)
            if listings is None
            else ItemCatalog.from_listings(listings, columns, interactions.items)
        )
        templates = [self._template(g, content_vectors) for g in self.generators]
        with tracker(progress) as bar:
            fitted, self.fit_seconds_ = {}, {}
            for template in templates:
                bar.start(f"fitting {template.name}")
                started = time.perf_counter()
                fitted[template.name] = _fit(copy.deepcopy(template), train, valid)
                self.fit_seconds_[template.name] = time.perf_counter() - started
            bar.start("learning the blend")
            self.blend_, self.validation_ = self._learn_blend(fitted, valid)
            if self.refit and valid is not None:
                bar.start("refitting on all events")
                fitted = {t.name: _refit(t, fitted[t.name], interactions) for t in templates}
        self.generators_ = {name: fitted[name] for name in self.blend_.used}
        self.fallback_ = Popularity().fit(interactions)
        self.interactions_ = interactions
        self._index_histories()
        self.columns_ = columns
        return self

    def _template(
        self, generator: str | CandidateGenerator, content_vectors: np.ndarray | None
    ) -> CandidateGenerator:
        if not isinstance(generator, str):
            return generator
        if generator == "content":
            if content_vectors is None:
                raise DataError(
                    "the 'content' generator needs content_vectors (item vectors from the "
                    "feature pool, one row per item); pass them to fit() or leave it out."
                )
            return make_generator("content", vectors=content_vectors)
        if generator == "sequential" and self.items_.has_attributes():
            return make_generator("sequential", item_attributes=self.items_.attribute_ids())
        return make_generator(generator)

    def _learn_blend(
        self, fitted: dict[str, CandidateGenerator], valid: NextItemTargets | None
    ) -> tuple[Blend, dict[str, float]]:
        if valid is None or len(valid) == 0 or len(fitted) == 1:
            return Blend(dict.fromkeys(fitted, 1.0)), {}
        score_fns = {name: generator.score for name, generator in fitted.items()}
        return learn_blend(score_fns, valid, max_queries=self.max_blend_queries, seed=self.seed)

    def _index_histories(self) -> None:
        events = self.interactions_
        self.history_offsets_ = events.offsets()
        self.history_items_ = events.item.astype(np.int64)

    def partial_fit(self, interactions: Interactions) -> Self:
        """Learn from new events without a full refit: the counts and similarities are
        refitted on all events so far, a sequential model trains on from where it was, the
        blend weights stay. New users are added; listings the model has never seen need a
        refit (they have no place in the trained models)."""
        self._check_fitted()
        merged = merge_events(self.interactions_, interactions)
        for name, generator in self.generators_.items():
            if hasattr(generator, "partial_fit"):
                generator.partial_fit(reindexed(interactions, merged))
            else:
                self.generators_[name] = copy.deepcopy(generator).fit(merged)
        self.fallback_ = Popularity().fit(merged)
        self.interactions_ = merged
        self._index_histories()
        return self

    # ------------------------------------------------------------------ answering
    def recommend(
        self,
        users: Sequence[str] | None = None,
        *,
        histories: Sequence[Sequence[str]] | None = None,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Recommendations]:
        """A feed for each user (their logged history) or each explicit history (fold-in).

        Give exactly one of ``users`` and ``histories``. An unknown user or an empty history
        gets popular listings, and the answer's notes say so.
        """
        self._check_fitted()
        _check_k(k)
        if (users is None) == (histories is None):
            raise DataError("give exactly one of users or histories.")
        if users is not None:
            queries = [self._user_history(str(user)) for user in users]
            names: list[str | None] = [str(user) for user in users]
        else:
            assert histories is not None
            queries = [self._history_of(history) for history in histories]
            names = [None] * len(queries)
        return self._answer(queries, names, k, filters, similar=False)

    def similar_items(
        self, items: Sequence[str], *, k: int = 10, filters: Mapping[str, Any] | None = None
    ) -> list[Recommendations]:
        """Listings like each given one ("more like this"), the listing itself left out."""
        self._check_fitted()
        _check_k(k)
        queries = []
        for item in items:
            index = self.interactions_.items.index([str(item)])[0]
            notes = [] if index >= 0 else [f"listing {item!r} is unknown: popular listings instead"]
            queries.append((np.array([index] if index >= 0 else [], dtype=np.int64), notes))
        return self._answer(queries, [str(i) for i in items], k, filters, similar=True)

    def _user_history(self, user: str) -> tuple[np.ndarray, list[str]]:
        index = self.interactions_.users.index([user])[0]
        if index < 0:
            return np.zeros(0, np.int64), [f"user {user!r} is unknown: popular listings instead"]
        start, stop = self.history_offsets_[index], self.history_offsets_[index + 1]
        return self.history_items_[start:stop], []

    def _history_of(self, history: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        if isinstance(history, str):
            raise DataError("each history is a list of listing ids, not one string.")
        indices = self.interactions_.items.index([str(h) for h in history])
        notes = []
        unknown = [str(h) for h, i in zip(history, indices, strict=True) if i < 0]
        if unknown:
            notes.append(f"left out {len(unknown)} unknown listing(s): {', '.join(unknown[:5])}")
        known = indices[indices >= 0]
        if not len(known):
            notes.append("the history is empty: popular listings instead")
        return known, notes

    def _answer(
        self,
        queries: list[tuple[np.ndarray, list[str]]],
        names: list[str | None],
        k: int,
        filters: Mapping[str, Any] | None,
        *,
        similar: bool,
    ) -> list[Recommendations]:
        allowed = self.items_.allowed(filters)
        histories = [history for history, _ in queries]
        weighted = self.blend_.weighted(self._scores(histories))
        popular = standardised(self.fallback_.score(histories))
        if weighted:
            empty = np.array([len(h) == 0 for h in histories])
            scores = np.where(empty[:, None], popular, sum(weighted.values()))
        else:
            scores = popular
        mask_scores(scores, histories, allowed)
        ids, best = top_k(scores, k)
        explainer = Explainer(
            self.items_,
            self.interactions_.items,
            getattr(self.generators_.get("item_knn"), "similarity_", None),
        )
        answers = []
        for row, ((history, notes), name) in enumerate(zip(queries, names, strict=True)):
            chosen = ids[row][ids[row] >= 0]
            if len(chosen) < k:
                notes = [*notes, f"only {len(chosen)} listing(s) can be recommended here"]
            contributions = {n: part[row, chosen] for n, part in weighted.items()}
            explained = explainer.explain(chosen, history, contributions, similar=similar)
            external = self.interactions_.items.external(chosen)
            items = [
                RecommendedItem(id=str(i), score=round(float(s), 6), reason=r, source=src)
                for i, s, (r, src) in zip(external, best[row], explained, strict=False)
            ]
            answers.append(Recommendations(query=name, items=items, notes=notes))
        return answers

    def _scores(self, histories: Histories) -> dict[str, np.ndarray]:
        if all(len(h) == 0 for h in histories):
            return {}
        safe = [h if len(h) else np.zeros(1, np.int64) for h in histories]
        return {name: gen.score(safe) for name, gen in self.generators_.items()}

    # ------------------------------------------------------------------ catalog access
    def listing(self, item_id: str) -> dict[str, Any] | None:
        """Display fields of a listing (``None`` when unknown)."""
        self._check_fitted()
        index = self.interactions_.items.index([str(item_id)])[0]
        return None if index < 0 else {"id": str(item_id), **self.items_.display(int(index))}

    def photo(self, item_id: str) -> bytes | None:
        """The listing's JPEG, when the catalog had photos."""
        self._check_fitted()
        index = self.interactions_.items.index([str(item_id)])[0]
        if index < 0 or self.items_.photos is None:
            return None
        return self.items_.photos[int(index)] or None

    def users_sample(self, n: int = 10) -> list[str]:
        """Up to ``n`` known users with the longest histories (for pickers and smoke tests)."""
        self._check_fitted()
        lengths = np.diff(self.history_offsets_)
        order = np.argsort(-lengths, kind="stable")[: max(n, 0)]
        return [str(u) for u in self.interactions_.users.external(order)]

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.interactions_.n_items

    def _check_fitted(self) -> None:
        if not hasattr(self, "generators_"):
            raise NotFittedError("This Recommender is not fitted yet; call fit() or load().")

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted recommender to the folder ``path`` atomically."""
        from furima.recommend._persistence import save_recommender

        self._check_fitted()
        return save_recommender(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """A recommender saved by :meth:`save`."""
        from furima.recommend._persistence import load_recommender

        return load_recommender(path)


def _check_events(interactions: Interactions) -> None:
    if len(interactions) == 0:
        raise DataError("the interaction log is empty; a recommender needs events to learn from.")
    if interactions.n_items < 2:
        raise DataError("the interaction log names fewer than 2 listings; nothing to recommend.")


def _check_k(k: int) -> None:
    if not isinstance(k, int | np.integer) or not 1 <= k <= MAX_K:
        raise DataError(f"k must be an integer in [1, {MAX_K}], but got {k!r}.")


def _fit(
    generator: CandidateGenerator, train: Interactions, valid: NextItemTargets | None
) -> CandidateGenerator:
    if valid is not None and "valid" in inspect.signature(generator.fit).parameters:
        return generator.fit(train, valid=valid)  # type: ignore[call-arg]
    return generator.fit(train)


def _refit(
    template: CandidateGenerator, fitted: CandidateGenerator, interactions: Interactions
) -> CandidateGenerator:
    """``template`` fitted on all events; a model that stopped early trains for as many
    epochs as validated best."""
    fresh = copy.deepcopy(template)
    best_epoch = getattr(fitted, "best_epoch_", None)
    if best_epoch is not None and hasattr(fresh, "epochs"):
        fresh.epochs = int(best_epoch)
    return fresh.fit(interactions)
