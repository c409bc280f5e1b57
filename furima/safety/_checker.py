"""SafetyChecker: every listing scored against every policy, with one decision and its reasons.

The checker learns from the marketplace's catalog (and labelled listings when there are any),
then checks new listings in batches:

- ``text`` policies: rules, a classifier on labelled listings, or zero-shot similarity to the
  policy's description and examples in the multilingual sentence space (:mod:`._text_checks`);
- ``nsfw_photo``: Yahoo open_nsfw on the photo; ``product_photo``: the photo is unlike the
  catalog's product photos (:mod:`._photo_checks`);
- ``duplicate``: the same photo or near-same text as a catalog listing (:mod:`._duplicates`),
  and, with a :class:`~furima.safety.ProductMatcher`, the same product in other words;
- ``price``: a price far outside the price model's range for the listing (:mod:`._price_check`).

Each check gives a :class:`Finding` per listing and policy; the policy's threshold and action
turn it into a :class:`PolicyVerdict`, and the most severe verdict is the listing's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd

from furima.exceptions import DataError, ImageError, NotFittedError
from furima.safety._listings import SafetyListings, safety_listings
from furima.safety._policies import Policy, PolicyKind
from furima.safety._price_check import PriceAnomalyCheck
from furima.safety._results import Action, Finding, ListingCheck, PolicyVerdict

if TYPE_CHECKING:
    from furima.features import PhotoEncoder
    from furima.pricing import PriceSuggester
    from furima.safety._duplicates import DuplicateFinder
    from furima.safety._matching import ProductMatcher
    from furima.safety._photo_checks import NSFWScorer, ProductPhotoCheck
    from furima.safety._policies import PolicySet
    from furima.safety._same_product import SameProductCheck
    from furima.safety._text_checks import TextChecker

__all__ = ["SafetyChecker"]

_MIN_PRICED = 50  # priced catalog listings needed to learn a price model for the price policy
_ZERO_SHOT = "zero_shot"  # furima.safety._text_checks.ZERO_SHOT, without importing it


class SafetyChecker:
    """Checks listings against a marketplace's policies.

    Args:
        policies: The policies (see :func:`~furima.safety.load_policies`).
        price_model: A fitted price model for ``price`` policies; ``None`` fits one on the
            catalog's prices when a price policy exists.
        matcher: A fitted :class:`~furima.safety.ProductMatcher`: ``duplicate`` policies then
            also flag the same product written in other words (candidates from a text index).
        currency: Shown before prices in reasons (``"¥"``).
        threads: onnxruntime threads for the photo networks (``None``: all cores).
        max_background: Catalog listings (a seeded sample) that zero-shot text scores are
            placed against; more cost sentence encoding time at fit and change little.
        seed: Seed of that sample.
    """

    def __init__(
        self,
        policies: PolicySet,
        *,
        price_model: PriceSuggester | None = None,
        matcher: ProductMatcher | None = None,
        currency: str = "",
        threads: int | None = None,
        max_background: int = 2000,
        seed: int = 0,
    ) -> None:
        self.policies = policies
        self.price_model = price_model
        self.matcher = matcher
        self.currency = currency
        self.threads = threads
        self.max_background = max_background
        self.seed = seed

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        catalog: pd.DataFrame,
        labels: pd.DataFrame | None = None,
        *,
        progress: bool = False,
    ) -> Self:
        """Learn from the marketplace's listings.

        Args:
            catalog: Listings (``listing_id``, ``name``, ``description``, ``price``, ...; a
                ``photo`` column of JPEG/PNG bytes when photos are checked). They are the
                background for zero-shot scores, the photos unfamiliar photos are told from,
                the listings duplicates are found among, and the price model's data.
            labels: Labelled listings for supervised text policies: a ``text`` column (or
                ``name``/``description``) and one 0/1 column per policy name (NaN where a
                listing is not labelled for that policy), e.g. from ``ReviewQueue.labels()``.
        """
        listings = safety_listings(catalog, role="catalog")
        self.text_: TextChecker | None = self._fit_text(listings, labels)
        photo_vectors = self._photo_vectors(listings) if self._needs_photo_vectors() else None
        self.product_photos_: ProductPhotoCheck | None = None
        if self._has(PolicyKind.PRODUCT_PHOTO) and photo_vectors is not None:
            from furima.safety._photo_checks import ProductPhotoCheck

            self.product_photos_ = ProductPhotoCheck().fit(photo_vectors[listings.has_photo])
        self.duplicates_: DuplicateFinder | None = None
        self.same_product_: SameProductCheck | None = None
        if self._has(PolicyKind.DUPLICATE):
            self.duplicates_ = self._fit_duplicates(listings, photo_vectors)
            if self.matcher is not None:
                from furima.safety._same_product import SameProductCheck

                self.same_product_ = SameProductCheck(self.matcher).fit(listings.frame)
        self.price_check_: PriceAnomalyCheck | None = self._fit_price(listings.frame, progress)
        self.n_catalog_ = len(listings)
        return self

    def _fit_text(
        self, listings: SafetyListings, labels: pd.DataFrame | None
    ) -> TextChecker | None:
        if not self._has(PolicyKind.TEXT):
            return None
        from furima.safety._text_checks import TextChecker

        checker = TextChecker(self.policies, random_state=self.seed)
        background = listings.texts
        if len(background) > self.max_background:
            rows = np.random.default_rng(self.seed).choice(
                len(background), self.max_background, replace=False
            )
            background = [background[i] for i in np.sort(rows)]
        if labels is None or len(labels) == 0:
            return checker.fit([], None, background=background)
        labelled = labelled_texts(labels, self.policies)
        return checker.fit(
            list(labelled["text"]),
            labelled.drop(columns=["text", "listing_id"]),
            ids=list(labelled["listing_id"]),
            background=background,
        )

    def _fit_duplicates(
        self, listings: SafetyListings, photo_vectors: np.ndarray | None
    ) -> DuplicateFinder:
        from furima.safety._duplicates import DuplicateFinder

        if len(listings) == 0:
            raise DataError(
                "the duplicate check has no catalog to compare with: fit the checker on your "
                "listings (at least one), or remove the duplicate policy."
            )
        return DuplicateFinder().fit(listings.ids, listings.texts, listings.photos, photo_vectors)

    def _fit_price(self, catalog: pd.DataFrame, progress: bool) -> PriceAnomalyCheck | None:
        if not self._has(PolicyKind.PRICE):
            return None
        model = self.price_model
        if model is None:
            priced = catalog[pd.to_numeric(catalog["price"], errors="coerce") > 0]
            if len(priced) < _MIN_PRICED:
                raise DataError(
                    f"the price policy needs a price model, and the catalog has only "
                    f"{len(priced)} priced listings (at least {_MIN_PRICED} are needed to "
                    "learn one). Pass price_model=PriceSuggester.load(...), or remove the "
                    "price policy."
                )
            from furima.pricing import PriceSuggester

            model = PriceSuggester().fit(
                priced.drop(columns="photo", errors="ignore"), progress=progress
            )
        return PriceAnomalyCheck(model, currency=self.currency)

    # ---------------------------------------------------------------- check
    def check(self, listings: pd.DataFrame) -> list[ListingCheck]:
        """One :class:`ListingCheck` per listing, in order.

        Raises:
            DataError: A listing without text or photo, missing ``listing_id``, ...
            ImageError: A photo that cannot be decoded (naming the listing).
        """
        self._check_fitted()
        batch = safety_listings(listings, role="listings to check")
        findings = self.findings(batch)
        return [
            listing_check(
                listing_id, self.policies.policies, [findings[p.name][i] for p in self.policies]
            )
            for i, listing_id in enumerate(batch.ids)
        ]

    def findings(self, batch: SafetyListings) -> dict[str, list[Finding]]:
        """Every policy's findings for a validated batch (policy name -> one per listing)."""
        out: dict[str, list[Finding]] = {}
        if self.text_ is not None:
            out.update(self._text_findings(batch.texts))
        photo_vectors = self._photo_vectors(batch) if self._needs_photo_vectors() else None
        for policy in self.policies:
            if policy.kind is PolicyKind.NSFW_PHOTO:
                out[policy.name] = self._nsfw(batch, policy.threshold)
            elif policy.kind is PolicyKind.PRODUCT_PHOTO:
                out[policy.name] = self._product_photo(batch, photo_vectors)
            elif policy.kind is PolicyKind.DUPLICATE:
                out[policy.name] = self._duplicates(batch, photo_vectors)
            elif policy.kind is PolicyKind.PRICE:
                out[policy.name] = self._prices(batch)
        return out

    def _text_findings(self, texts: list[str]) -> dict[str, list[Finding]]:
        """The text checker's findings, those resting on zero-shot similarity alone marked."""
        assert self.text_ is not None
        found = self.text_.findings(texts)
        for name, findings in found.items():
            if self.text_.modes_[name] == _ZERO_SHOT:
                found[name] = [
                    f if any(e.kind == "rule" for e in f.evidence) else replace(f, basis=_ZERO_SHOT)
                    for f in findings
                ]
        return found

    def _nsfw(self, batch: SafetyListings, threshold: float) -> list[Finding]:
        from furima.safety._photo_checks import nsfw_findings

        findings = [Finding(0.0, ("no photo to check",))] * len(batch)
        rows = np.flatnonzero(batch.has_photo)
        if len(rows):
            try:
                scores = self._nsfw_scorer.scores([batch.photos[i] for i in rows])
            except ImageError:
                raise_named_photo_error(batch, rows)
                raise
            for row, finding in zip(rows, nsfw_findings(scores, threshold), strict=True):
                findings[row] = finding
        return findings

    def _product_photo(
        self, batch: SafetyListings, photo_vectors: np.ndarray | None
    ) -> list[Finding]:
        findings = [Finding(0.0, ("no photo to check",))] * len(batch)
        rows = np.flatnonzero(batch.has_photo)
        if self.product_photos_ is None or photo_vectors is None or len(rows) == 0:
            return findings
        for row, finding in zip(
            rows, self.product_photos_.findings(photo_vectors[rows]), strict=True
        ):
            findings[row] = finding
        return findings

    def _duplicates(self, batch: SafetyListings, photo_vectors: np.ndarray | None) -> list[Finding]:
        assert self.duplicates_ is not None
        found = self.duplicates_.find(batch.ids, batch.texts, batch.photos, photo_vectors)
        if self.same_product_ is None:
            return found
        matched = self.same_product_.findings(batch)
        return [strongest(first, second) for first, second in zip(found, matched, strict=True)]

    def _prices(self, batch: SafetyListings) -> list[Finding]:
        if self.price_check_ is None:
            return [Finding(0.0, ("no price model",))] * len(batch)
        return self.price_check_.findings(batch.frame)

    # --------------------------------------------------------- catalog growth
    def add_to_catalog(self, listings: pd.DataFrame) -> None:
        """Listings now live: later listings are checked for duplicates of them too."""
        self._check_fitted()
        if self.duplicates_ is None:
            return
        batch = safety_listings(listings, role="listings to add")
        vectors = self._photo_vectors(batch) if batch.has_photo.any() else None
        self.duplicates_.add(batch.ids, batch.texts, batch.photos, vectors)
        if self.same_product_ is not None:
            self.same_product_.add(batch.frame)
        self.n_catalog_ += len(batch)

    # --------------------------------------------------------------- helpers
    def _has(self, kind: PolicyKind) -> bool:
        return bool(self.policies.of_kind(kind))

    def _needs_photo_vectors(self) -> bool:
        return any(self._has(kind) for kind in (PolicyKind.PRODUCT_PHOTO, PolicyKind.DUPLICATE))

    def _photo_vectors(self, listings: SafetyListings) -> np.ndarray | None:
        rows = np.flatnonzero(listings.has_photo)
        if len(rows) == 0:
            return None
        try:
            encoded = self._photo_encoder.encode([listings.photos[i] for i in rows])
        except ImageError:
            raise_named_photo_error(listings, rows)
            raise
        out = np.zeros((len(listings), encoded.shape[1]), dtype=np.float32)
        out[rows] = encoded
        return out

    @property
    def _photo_encoder(self) -> PhotoEncoder:
        if getattr(self, "_photo_encoder_", None) is None:
            from furima.features import PhotoEncoder

            self._photo_encoder_ = PhotoEncoder(threads=self.threads)
        return self._photo_encoder_

    @property
    def _nsfw_scorer(self) -> NSFWScorer:
        if getattr(self, "_nsfw_scorer_", None) is None:
            from furima.safety._photo_checks import NSFWScorer

            self._nsfw_scorer_ = NSFWScorer(threads=self.threads)
        return self._nsfw_scorer_

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_catalog_"):
            raise NotFittedError(
                "This SafetyChecker is not fitted yet; call fit(catalog) or SafetyChecker.load()."
            )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_photo_encoder_", None)
        state.pop("_nsfw_scorer_", None)
        return state

    # ----------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        """Write the checker (policies, models, catalog hashes) as one folder, atomically."""
        from furima.safety._persistence import save_checker

        self._check_fitted()
        return save_checker(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> SafetyChecker:
        """Load a checker written by :meth:`save`."""
        from furima.safety._persistence import load_checker

        return load_checker(Path(path))


def listing_check(
    listing_id: str, policies: Sequence[Policy], findings: Sequence[Finding]
) -> ListingCheck:
    """Apply each policy's threshold and action to its finding, and decide the listing.

    Findings that rest on zero-shot similarity alone are held for review rather than blocked,
    and only the one of them furthest over its threshold acts: without labels or a matched
    rule, a listing is attributed to the single policy it reads most like.
    """
    lead = _leading_zero_shot(policies, findings)
    verdicts = tuple(
        PolicyVerdict(
            policy=policy.name,
            score=float(finding.score),
            threshold=policy.threshold,
            decision=_decision(policy, finding, acts=finding.basis != _ZERO_SHOT or i == lead),
            reasons=finding.reasons if finding.score >= policy.threshold else (),
            evidence=finding.evidence,
        )
        for i, (policy, finding) in enumerate(zip(policies, findings, strict=True))
    )
    decision = max((v.decision for v in verdicts), key=lambda a: a.severity, default=Action.ALLOW)
    acting = [
        v.score for v, p in zip(verdicts, policies, strict=True) if p.action is not Action.ALLOW
    ]
    return ListingCheck(
        listing_id=listing_id,
        decision=decision,
        verdicts=verdicts,
        risk=max(acting, default=0.0),
        uncertainty=max((closeness(v.score, v.threshold) for v in verdicts), default=0.0),
    )


def raise_named_photo_error(listings: SafetyListings, rows: np.ndarray) -> None:
    """Raise the first unreadable photo's error, naming its listing."""
    from furima.features import decode_image

    for row in rows:
        decode_image(listings.photos[row], name=f"the photo of listing {listings.ids[row]!r}")


def strongest(first: Finding, second: Finding) -> Finding:
    """The higher-scoring finding, with the other's reasons and evidence after its own."""
    high, low = (first, second) if first.score >= second.score else (second, first)
    if low.score <= 0:
        return high
    return replace(high, reasons=high.reasons + low.reasons, evidence=high.evidence + low.evidence)


def _decision(policy: Policy, finding: Finding, *, acts: bool) -> Action:
    if finding.score < policy.threshold or not acts:
        return Action.ALLOW
    if finding.basis == _ZERO_SHOT and policy.action is Action.BLOCK:
        return Action.REVIEW
    return policy.action


def _leading_zero_shot(policies: Sequence[Policy], findings: Sequence[Finding]) -> int | None:
    """Position of the zero-shot finding furthest over its threshold, as a share of the room
    above it (None: none is over)."""
    margins = [
        ((finding.score - policy.threshold) / (1.0 - policy.threshold), i)
        for i, (policy, finding) in enumerate(zip(policies, findings, strict=True))
        if finding.basis == _ZERO_SHOT and finding.score >= policy.threshold
    ]
    return max(margins)[1] if margins else None


def closeness(score: float, threshold: float) -> float:
    """1 when ``score`` sits on ``threshold``, falling linearly to 0 at 0 or 1."""
    span = threshold if score < threshold else 1.0 - threshold
    return float(max(0.0, 1.0 - abs(score - threshold) / max(span, 1e-9)))


def labelled_texts(labels: pd.DataFrame, policies: PolicySet) -> pd.DataFrame:
    """``listing_id``, ``text`` and one 0/1/NaN column per text policy, from a label frame.

    Columns of other policies (a reviewer's verdict on a duplicate or a price) are left out:
    only text policies learn from labels.
    """
    if "text" in labels.columns:
        text = labels["text"].fillna("").astype(str)
    elif "name" in labels.columns:
        description = labels.get("description", pd.Series("", index=labels.index))
        text = labels["name"].fillna("").astype(str) + "\n" + description.fillna("").astype(str)
    else:
        raise DataError(
            "labels need a `text` column (or `name` and `description`) beside one 0/1 column "
            f"per policy; got columns {list(labels.columns)}."
        )
    names = [p.name for p in policies.of_kind(PolicyKind.TEXT)]
    if not any(name in labels.columns for name in names):
        raise DataError(
            f"labels have no column for any text policy; add a 0/1 column named after one of "
            f"{names}."
        )
    ids = labels["listing_id"].astype(str) if "listing_id" in labels else labels.index.astype(str)
    out = pd.DataFrame({"listing_id": list(ids), "text": list(text)})
    for name in names:
        out[name] = labels[name].to_numpy(dtype=float) if name in labels else np.nan
    return out
