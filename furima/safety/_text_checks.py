"""Text checks: every listing's text scored against each text policy, with reasons.

Per policy, the score is the higher of the rules (a keyword or pattern match scores 1.0) and a
model: a supervised classifier when the marketplace has labelled enough listings for the
policy (``min_labels`` of each class), zero-shot similarity in the multilingual sentence space
otherwise (:mod:`furima.safety._zero_shot`). Listings known to break a policy are kept, so a
finding can name the nearest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from furima.exceptions import DataError, NotFittedError
from furima.safety._policies import Policy, PolicyKind, PolicySet
from furima.safety._results import Finding
from furima.safety._rules import RuleMatcher
from furima.safety._text_explain import Explainer
from furima.safety._text_inputs import check_embeddings, check_ids, check_labels, check_texts
from furima.safety._text_models import SupervisedModel, TextFeatures, fit_supervised
from furima.safety._zero_shot import ZeroShotModel, fit_zero_shot

__all__ = ["TextChecker"]

SUPERVISED = "supervised"
ZERO_SHOT = "zero_shot"
MIN_BACKGROUND = 20


class TextChecker:
    """Scores listing texts against the text policies of a policy set.

    Args:
        policies: The marketplace's policies; only ``text`` ones are checked here.
        encoder: Sentence encoder with ``encode(texts)`` and ``dim`` (default: the multilingual
            USE, :class:`furima.features.MultilingualUSEEncoder`).
        min_labels: Labelled listings of each class (breaks / keeps) a policy needs for a
            supervised classifier; with fewer it is scored zero-shot.
        sentence_weight: Weight of the sentence vector beside the TF-IDF blocks in the
            supervised classifier (0 leaves it out).
        zero_shot_rate: Share of the background (catalog) listings a zero-shot policy is
            expected to catch; a listing more policy-like than ``1 - rate`` of them scores 0.5.
        Cs: Inverse regularisation strengths tried by cross-validation.
        n_folds: Cross-validation folds (fewer when a class has fewer labels).
        max_known: Known violating listings kept per policy for evidence (the last ones).
        random_state: Seed of the cross-validation folds.
    """

    def __init__(
        self,
        policies: PolicySet | Sequence[Policy],
        *,
        encoder: Any = None,
        min_labels: int = 10,
        sentence_weight: float = 1.0,
        zero_shot_rate: float = 0.01,
        Cs: Sequence[float] = (1.0, 10.0, 100.0, 1000.0),
        n_folds: int = 5,
        max_known: int = 5000,
        random_state: int = 0,
    ) -> None:
        self.policies = policies if isinstance(policies, PolicySet) else PolicySet(tuple(policies))
        self.encoder = encoder
        self.min_labels = min_labels
        self.sentence_weight = sentence_weight
        self.zero_shot_rate = zero_shot_rate
        self.Cs = tuple(Cs)
        self.n_folds = n_folds
        self.max_known = max_known
        self.random_state = random_state

    @property
    def text_policies(self) -> tuple[Policy, ...]:
        return self.policies.of_kind(PolicyKind.TEXT)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors of ``texts``, to pass to :meth:`findings` as ``embeddings``."""
        return self._vectors(check_texts(texts), None, "embeddings")

    def fit(
        self,
        texts: Sequence[str],
        labels: Any = None,
        *,
        ids: Sequence[Any] | None = None,
        background: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        background_embeddings: np.ndarray | None = None,
    ) -> Self:
        """Learn every text policy's model.

        Args:
            texts: Listing texts (name and description joined).
            labels: Per policy name, 0 (keeps the policy), 1 (breaks it) or NaN (unknown) for
                each text: a dict of sequences or a DataFrame of label columns.
            ids: Listing ids of ``texts``; listings labelled 1 are kept, so findings can
                name the nearest known violation.
            background: Unlabelled texts (e.g. the catalog's listings) that zero-shot policies
                are calibrated against; ``texts`` not labelled 1 join them.
            embeddings: Sentence vectors of ``texts`` from :meth:`encode`, if already made.
            background_embeddings: The same for ``background``.
        """
        texts = check_texts(texts)
        columns = check_labels(labels, len(texts), self.policies.policies)
        listing_ids = check_ids(ids, len(texts))
        backdrop = check_texts(background, "background")
        self.modes_ = {p.name: self._mode(columns.get(p.name)) for p in self.text_policies}
        self._explainer: Explainer | None = None
        vectors = None
        if self._uses_vectors(listing_ids is not None):
            vectors = self._vectors(texts, embeddings, "embeddings")
        self._fit_supervised(texts, vectors, columns)
        own = self._policy_text_vectors()
        self.examples_ = {name: rows[1:] for name, rows in own.items() if len(rows) > 1}
        self.zero_shot_: dict[str, ZeroShotModel] = {}
        if own:
            extra = self._vectors(backdrop, background_embeddings, "background_embeddings")
            self._fit_zero_shot(own, vectors, extra, columns)
        self._keep_known(vectors, columns, listing_ids)
        return self

    @property
    def explainer_(self) -> Explainer:
        """Turns scores into findings with reasons and evidence (built once after fit)."""
        explainer = getattr(self, "_explainer", None)
        if explainer is None:  # none yet, or refitted
            explainer = Explainer(self.examples_, self.known_, self.supervised_, self.features_)
            self._explainer = explainer
        return explainer

    def scores(
        self, texts: Sequence[str], *, embeddings: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Per text policy, each text's score (the higher of rules and model), without reasons."""
        texts = check_texts(texts)
        model, _ = self._model_scores(texts, embeddings)
        out = {}
        for policy in self.text_policies:
            rules = np.array([self.matchers_[policy.name].score(text) for text in texts])
            out[policy.name] = np.where(_empty(texts), 0.0, np.maximum(model[policy.name], rules))
        return out

    def findings(
        self, texts: Sequence[str], *, embeddings: np.ndarray | None = None
    ) -> dict[str, list[Finding]]:
        """Per text policy, one :class:`Finding` per text, with reasons and evidence."""
        texts = check_texts(texts)
        model, context = self._model_scores(texts, embeddings)
        empty = _empty(texts)
        out: dict[str, list[Finding]] = {}
        for policy in self.text_policies:
            matches = [self.matchers_[policy.name].matches(text) for text in texts]
            out[policy.name] = self.explainer_.findings(
                policy, model[policy.name], matches, empty, *context
            )
        return out

    def _model_scores(
        self, texts: list[str], embeddings: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], tuple[np.ndarray | None, Any]]:
        self._check_fitted()
        vectors = None
        if self._needs_vectors_at_check():
            vectors = self._vectors(texts, embeddings, "embeddings")
        features = None
        if self.features_ is not None:
            features = self.features_.transform(texts, vectors)
        scores: dict[str, np.ndarray] = {}
        for name, supervised in self.supervised_.items():
            scores[name] = supervised.probabilities(features)
        for name, zero_shot in self.zero_shot_.items():
            assert vectors is not None  # zero-shot policies need sentence vectors
            scores[name] = zero_shot.scores(vectors)
        return scores, (vectors, features)

    def _mode(self, labels: np.ndarray | None) -> str:
        if labels is None:
            return ZERO_SHOT
        positives, negatives = int(np.sum(labels == 1)), int(np.sum(labels == 0))
        enough = min(positives, negatives) >= self.min_labels
        return SUPERVISED if enough else ZERO_SHOT

    def _uses_vectors(self, has_ids: bool) -> bool:
        modes = set(self.modes_.values())
        return ZERO_SHOT in modes or (SUPERVISED in modes and self.sentence_weight > 0) or has_ids

    def _needs_vectors_at_check(self) -> bool:
        return bool(self.zero_shot_ or self.known_ or (self.supervised_ and self.sentence_weight))

    def _fit_supervised(
        self, texts: list[str], vectors: np.ndarray | None, columns: dict[str, np.ndarray]
    ) -> None:
        names = [name for name, mode in self.modes_.items() if mode == SUPERVISED]
        self.features_ = TextFeatures(self.sentence_weight).fit(texts) if names else None
        self.supervised_: dict[str, SupervisedModel] = {}
        if self.features_ is None:
            return
        features = self.features_.transform(texts, vectors)
        for name in names:
            rows = np.flatnonzero(~np.isnan(columns[name]))
            self.supervised_[name] = fit_supervised(
                features[rows],
                columns[name][rows],
                Cs=self.Cs,
                n_folds=self.n_folds,
                random_state=self.random_state,
            )

    def _fit_zero_shot(
        self,
        own: dict[str, np.ndarray],
        vectors: np.ndarray | None,
        extra: np.ndarray,
        columns: dict[str, np.ndarray],
    ) -> None:
        for policy in self.text_policies:
            if policy.name not in own:
                continue
            labels = columns.get(policy.name)
            parts, backdrop = [own[policy.name]], [extra]
            if vectors is not None:
                breaks = labels == 1 if labels is not None else np.zeros(len(vectors), bool)
                parts.append(vectors[breaks])
                backdrop.append(vectors[~breaks])
            background = np.vstack(backdrop)
            if len(background) < MIN_BACKGROUND:
                raise DataError(
                    f"policy {policy.name!r} has too few labels for a classifier, and zero-shot "
                    f"scoring needs at least {MIN_BACKGROUND} background texts (the catalog's "
                    f"listings) to calibrate against; got {len(background)}. Pass "
                    "background=<catalog texts>, or label at least "
                    f"{self.min_labels} listings that break it and {self.min_labels} that don't."
                )
            self.zero_shot_[policy.name] = fit_zero_shot(
                np.vstack(parts), background, rate=self.zero_shot_rate
            )

    def _policy_text_vectors(self) -> dict[str, np.ndarray]:
        """Per zero-shot policy, the vectors of its description and examples (one batch)."""
        chosen = [p for p in self.text_policies if self.modes_[p.name] == ZERO_SHOT]
        texts = [text for p in chosen for text in (p.description, *p.examples)]
        if not texts:
            return {}
        vectors = self._vectors(texts, None, "policy texts")
        out, start = {}, 0
        for policy in chosen:
            out[policy.name] = vectors[start : start + 1 + len(policy.examples)]
            start += 1 + len(policy.examples)
        return out

    def _keep_known(
        self, vectors: np.ndarray | None, columns: dict[str, np.ndarray], ids: list[str] | None
    ) -> None:
        self.known_: dict[str, tuple[np.ndarray, list[str]]] = {}
        if vectors is None or ids is None:
            return
        for name, labels in columns.items():
            rows = np.flatnonzero(labels == 1)[-self.max_known :]
            if len(rows):
                self.known_[name] = (vectors[rows], [ids[i] for i in rows])

    def _vectors(self, texts: list[str], given: Any, what: str) -> np.ndarray:
        encoder = self._encoder()
        if given is not None:
            return check_embeddings(given, len(texts), encoder.dim, what)
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.asarray(encoder.encode(texts), dtype=np.float32)

    def _encoder(self) -> Any:
        if self.encoder is None:
            from furima.features import MultilingualUSEEncoder

            self.encoder = MultilingualUSEEncoder()
        return self.encoder

    def _check_fitted(self) -> None:
        if not hasattr(self, "modes_"):
            raise NotFittedError("this TextChecker is not fitted yet; call fit() first.")

    @property
    def matchers_(self) -> dict[str, RuleMatcher]:
        """The compiled rules of every text policy (built once)."""
        if not hasattr(self, "_matchers"):
            self._matchers = {p.name: RuleMatcher(p) for p in self.text_policies}
        return self._matchers

    def write(self, folder: Path) -> dict[str, Any]:
        """Write the fitted state into ``folder``; returns the JSON-ready description that
        :meth:`read` takes back."""
        from furima.safety._text_persistence import write_checker

        self._check_fitted()
        return write_checker(self, Path(folder))

    @classmethod
    def read(cls, folder: Path, description: dict[str, Any], *, encoder: Any = None) -> TextChecker:
        """The checker :meth:`write` saved into ``folder`` with ``description``."""
        from furima.safety._text_persistence import read_checker

        return read_checker(cls, Path(folder), description, encoder)


def _empty(texts: list[str]) -> np.ndarray:
    return np.array([not text.strip() for text in texts], dtype=bool)
