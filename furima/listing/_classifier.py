"""AttributeClassifier: category, colour, gender, ... from photo and text features.

One small network with a softmax head per field, trained on encoder outputs (EfficientNet
photo features, MiniLM title features). It answers from a photo alone, from words alone, or
from both. Probabilities are calibrated per field and input mode by temperature scaling on
held-out rows, then mixed with the nearest catalog photos' votes and re-estimated from how
they agree (see :mod:`furima.listing._agreement`); each field gets the confidence threshold
above which its predictions were right at least ``target_precision`` of the time on those
rows.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from furima._progress import tracker
from furima.exceptions import DataError, NotFittedError
from furima.listing._agreement import AgreementModel, CatalogNeighbours, neighbour_votes
from furima.listing._calibration import (
    expected_calibration_error,
    fill_threshold,
    fit_temperature,
    softmax,
)

__all__ = ["MODES", "AttributeClassifier"]

PHOTO, TEXT, BOTH = "photo", "text", "photo+text"
MODES = (PHOTO, TEXT, BOTH)
_MIN_THRESHOLD = 0.5
_UNKNOWN, _UNNAMED = -1, -2  # label codes: no value; a value the classifier has no class for
# Standardised photo inputs are clipped to this many standard deviations: a colour-histogram
# cell that catalog photos almost never fill would otherwise turn a new photo that fills it
# into an input thousands of deviations out, far beyond anything the network was trained on.
_MAX_DEVIATIONS = 10.0
_MIN_NEIGHBOUR_PHOTOS = 20  # fewer photos: confidences are not re-estimated from neighbours


class AttributeClassifier:
    """Calibrated multi-field classifier on photo and/or text features.

    Args:
        hidden: Width of the shared hidden layer.
        dropout: Dropout after the hidden layer.
        input_dropout: Dropout on photo features while training (feature noise).
        epochs: Passes over the training rows.
        batch_size: Rows per step (capped at an eighth of the rows for small catalogs).
        learning_rate: Peak learning rate of the one-cycle schedule (AdamW).
        weight_decay: AdamW weight decay.
        label_smoothing: Cross-entropy label smoothing.
        calibration_share: Share of rows held out to fit temperatures and thresholds.
        target_precision: Filled fields should be right this often (sets the thresholds).
        per_field_thresholds: One threshold per field, each meeting ``target_precision`` on
            its own; by default one threshold for all fields (calibrated confidences mean
            the same in every field), which fills more fields at the same overall precision.
        neighbour_agreement: Mix the nearest catalog photos' votes into each field's
            probabilities and re-estimate the top value's confidence from how they agree (see
            :mod:`furima.listing._agreement`): more fields right, and more filled at the same
            precision, for a copy of each catalog photo's hidden vector (2 KB a photo).
        members: Networks trained from different seeds whose logits are averaged (an
            ensemble: about half a point of accuracy for each doubling, at that training cost).
        seed: Seed of the split, initialisation and batches.
        threads: Members trained at once, one thread each (``None``: one per CPU core). The
            weights do not depend on it.
    """

    def __init__(
        self,
        *,
        hidden: int = 1024,
        dropout: float = 0.3,
        input_dropout: float = 0.2,
        epochs: int = 30,
        batch_size: int = 512,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        label_smoothing: float = 0.1,
        calibration_share: float = 0.1,
        target_precision: float = 0.95,
        per_field_thresholds: bool = False,
        neighbour_agreement: bool = True,
        members: int = 3,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.calibration_share = calibration_share
        self.target_precision = target_precision
        self.per_field_thresholds = per_field_thresholds
        self.neighbour_agreement = neighbour_agreement
        self.members = members
        self.seed = seed
        self.threads = threads

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, as given to ``__init__``."""
        names = inspect.signature(AttributeClassifier).parameters
        return {name: getattr(self, name) for name in names}

    # -- fitting -------------------------------------------------------------------------

    def fit(
        self,
        labels: Mapping[str, Sequence[Any] | np.ndarray],
        *,
        photos: np.ndarray | None = None,
        texts: np.ndarray | None = None,
        has_photo: np.ndarray | None = None,
        has_text: np.ndarray | None = None,
        calibration_rows: np.ndarray | None = None,
        learnable: Mapping[str, Collection[str]] | None = None,
        progress: bool = False,
    ) -> AttributeClassifier:
        """Learn every field in ``labels`` (field -> one value per row; blank means unknown).

        Give ``photos`` ``[n, d]`` and/or ``texts`` ``[n, e]``; ``has_photo`` / ``has_text``
        mark rows without one (their feature rows are ignored). ``calibration_rows``: the
        row positions to hold out for temperatures and thresholds (default: a seeded
        ``calibration_share`` of the rows). ``learnable``: per field, the only values to learn
        (e.g. brands with enough listings). Rows with another value teach nothing, but they
        are not unknown: a new listing may carry a value the classifier cannot name, so held-out
        rows like them count as misses, and the field's probabilities are scaled by the share
        of held-out values it can name (what is left is "a value it has no class for").
        """
        self._check_params()
        rows = _rows(photos, texts)
        present = _presence(rows, photos, texts, has_photo, has_text)
        self.fields_ = list(labels)
        if not self.fields_:
            raise DataError("give at least one field to learn, e.g. {'article_type': [...]}.")
        codes = self._encode_labels(labels, rows, learnable or {})
        self.photo_dim_ = 0 if photos is None else photos.shape[1]
        self.text_dim_ = 0 if texts is None else texts.shape[1]
        self._fit_scaling(photos, present[:, 0])
        features = self._scaled(photos, texts, rows)
        train, held = self._split(rows, calibration_rows)
        self._train(features, present, codes, train, progress)
        self.neighbours_ = self._catalog_neighbours(features[0], present[:, 0], codes)
        self._calibrate(features, present, codes, held)
        return self

    def _check_params(self) -> None:
        if not 0 < self.calibration_share < 0.5:
            raise ValueError(
                f"calibration_share must be in (0, 0.5), got {self.calibration_share}."
            )
        if not 0 < self.target_precision <= 1:
            raise ValueError(f"target_precision must be in (0, 1], got {self.target_precision}.")
        if min(self.epochs, self.hidden, self.members) < 1:
            raise ValueError(
                "epochs, hidden and members must be >= 1, got "
                f"{self.epochs}, {self.hidden}, {self.members}."
            )

    def _encode_labels(
        self, labels: Mapping[str, Any], rows: int, learnable: Mapping[str, Collection[str]]
    ) -> np.ndarray:
        unknown_fields = sorted(set(learnable) - set(self.fields_))
        if unknown_fields:
            raise DataError(f"learnable names fields without labels: {unknown_fields}.")
        self.classes_: dict[str, np.ndarray] = {}
        codes = np.full((rows, len(self.fields_)), _UNKNOWN, dtype=np.int64)
        for j, name in enumerate(self.fields_):
            values = pd.Series(np.asarray(labels[name], dtype=object), dtype="string")
            if len(values) != rows:
                raise DataError(f"field {name!r} has {len(values)} labels for {rows} rows.")
            values = values.str.strip()
            values = values.where(values != "")
            if values.notna().sum() == 0:
                raise DataError(f"field {name!r} has no labels; give values or drop the field.")
            named = values.isin(list(learnable[name])) if name in learnable else values.notna()
            if not named.any():
                raise DataError(f"field {name!r} has no learnable labels; widen `learnable`.")
            factorised, uniques = pd.factorize(values.where(named), sort=True)
            codes[:, j] = np.where(values.notna() & ~named, _UNNAMED, factorised)
            self.classes_[name] = np.asarray(uniques, dtype=object).astype(str)
        return codes

    def _fit_scaling(self, photos: np.ndarray | None, has_photo: np.ndarray) -> None:
        if photos is None or not has_photo.any():
            self.photo_mean_ = np.zeros(self.photo_dim_, np.float32)
            self.photo_scale_ = np.ones(self.photo_dim_, np.float32)
            return
        seen = photos[has_photo]
        self.photo_mean_ = seen.mean(axis=0).astype(np.float32)
        self.photo_scale_ = (1 / (seen.std(axis=0) + 1e-6)).astype(np.float32)

    def _scaled(
        self, photos: np.ndarray | None, texts: np.ndarray | None, rows: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Standardised photo features (clipped); text vectors (unit length) scaled to unit
        variance."""
        p = np.zeros((rows, self.photo_dim_), np.float32)
        if photos is not None:
            standardised = (photos - self.photo_mean_) * self.photo_scale_
            p = np.clip(standardised, -_MAX_DEVIATIONS, _MAX_DEVIATIONS).astype(np.float32)
        t = np.zeros((rows, self.text_dim_), np.float32)
        if texts is not None:
            t = (texts * math.sqrt(max(self.text_dim_, 1))).astype(np.float32)
        return p, t

    def _split(
        self, rows: int, calibration_rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if calibration_rows is not None:
            held = np.unique(np.asarray(calibration_rows, dtype=np.int64))
            if len(held) == 0 or held[0] < 0 or held[-1] >= rows:
                raise DataError(f"calibration_rows must be row positions in [0, {rows}).")
            train = np.setdiff1d(np.arange(rows), held)
        else:
            order = np.random.default_rng(self.seed).permutation(rows)
            count = max(1, round(rows * self.calibration_share))
            train, held = np.sort(order[count:]), np.sort(order[:count])
        if len(train) < 2:
            raise DataError(f"need at least 2 labelled rows to train on, got {len(train)}.")
        return train, held

    def _train(
        self,
        features: tuple[np.ndarray, np.ndarray],
        present: np.ndarray,
        codes: np.ndarray,
        train: np.ndarray,
        progress: bool,
    ) -> None:
        from furima.listing._classifier_training import train_members

        photos, texts = features
        classes = [len(self.classes_[name]) for name in self.fields_]
        with tracker(progress) as bar:
            bar.start(
                f"training classifiers ({len(self.fields_)} fields, {self.members} members)",
                total=self.epochs * self.members,
            )
            self.weights_ = train_members(
                self,
                photos[train],
                texts[train],
                present[train],
                codes[train],
                classes,
                bar.update,
            )

    def _catalog_neighbours(
        self, photos: np.ndarray, has_photo: np.ndarray, codes: np.ndarray
    ) -> CatalogNeighbours | None:
        """Every photo the classifier saw (trained on or held out), in its hidden layer, with
        its labels; ``None`` with too few photos to have neighbours."""
        rows = np.flatnonzero(has_photo)
        if not self.neighbour_agreement or len(rows) <= _MIN_NEIGHBOUR_PHOTOS:
            return None
        return CatalogNeighbours.of(self._photo_hidden(photos[rows]), codes[rows])

    def _photo_hidden(self, photos: np.ndarray) -> np.ndarray:
        """The first member's hidden layer for standardised photos alone (no words)."""
        words = np.zeros((len(photos), self.text_dim_), np.float32)
        x = self._inputs(photos, words, _mode_flags(PHOTO, len(photos)))
        return _gelu(x @ self.weights_[0]["w1"] + self.weights_[0]["b1"])

    def _calibrate(
        self,
        features: tuple[np.ndarray, np.ndarray],
        present: np.ndarray,
        codes: np.ndarray,
        held: np.ndarray,
    ) -> None:
        """Temperatures, agreement models, thresholds and calibration metrics per field and
        input mode."""
        self.temperatures_: dict[str, dict[str, float]] = {name: {} for name in self.fields_}
        self.named_shares_: dict[str, dict[str, float]] = {name: {} for name in self.fields_}
        self.agreement_: dict[str, dict[str, AgreementModel]] = {n: {} for n in self.fields_}
        self.thresholds_: dict[str, dict[str, float]] = {name: {} for name in self.fields_}
        self.calibration_: dict[str, dict[str, dict[str, float]]] = {n: {} for n in self.fields_}
        found = self._held_neighbours(features[0], present[:, 0], held)
        for mode in MODES:
            flags = _mode_flags(mode, len(held))
            usable = (present[held] >= flags).all(axis=1)
            if not usable.any():
                continue
            rows = held[usable]
            logits = self._logits(features[0][rows], features[1][rows], flags[usable])
            outcomes = {
                name: self._calibrate_field(
                    j, mode, logits[name], codes[rows, j], _rows_of(found, usable, mode)
                )
                for j, name in enumerate(self.fields_)
            }
            self._set_thresholds(mode, outcomes)

    def _held_neighbours(
        self, photos: np.ndarray, has_photo: np.ndarray, held: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The nearest catalog photos of every held-out row (itself left out), found once for
        all photo modes; rows without a photo get none (only the text mode uses them)."""
        if self.neighbours_ is None or not has_photo[held].any():
            return None
        with_photo = held[has_photo[held]]
        own = np.searchsorted(np.flatnonzero(has_photo), with_photo)
        positions, similarity = self.neighbours_.search(
            self._photo_hidden(photos[with_photo]), own=own
        )
        everyone = np.zeros((len(held), positions.shape[1]), dtype=positions.dtype)
        scores = np.zeros((len(held), positions.shape[1]), dtype=similarity.dtype)
        everyone[has_photo[held]], scores[has_photo[held]] = positions, similarity
        return everyone, scores

    def _calibrate_field(
        self,
        field: int,
        mode: str,
        logits: np.ndarray,
        labels: np.ndarray,
        found: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit the field's temperature on the rows it can name, its named share on all
        labelled rows and, given the rows' nearest catalog photos (``found``), its agreement
        model; return their confidences and correctness."""
        name = self.fields_[field]
        temperature = fit_temperature(logits, labels)  # ignores negative codes
        labelled = labels != _UNKNOWN
        named_share = float(np.mean(labels[labelled] >= 0)) if labelled.any() else 1.0
        before = softmax(logits[labelled])
        after = softmax(logits[labelled], temperature) * named_share
        correct = (after.argmax(axis=1) == labels[labelled]).astype(np.float64)
        confidence = after.max(axis=1)
        self.temperatures_[name][mode] = temperature
        self.named_shares_[name][mode] = named_share
        metrics = self.calibration_[name][mode] = {
            "rows": int(labelled.sum()),
            "temperature": temperature,
            "named_share": named_share,
            "accuracy_temperature": float(correct.mean()) if len(correct) else float("nan"),
            "ece_before": expected_calibration_error(before.max(axis=1), correct),
            "ece_temperature": expected_calibration_error(confidence, correct),
        }
        if found is not None and self.neighbours_ is not None:
            similarity = found[1][labelled]
            codes = self.neighbours_.codes[found[0][labelled], field]
            votes = self._votes(self.neighbours_, field, codes, similarity)
            fitted = AgreementModel.fit(after, votes, labels[labelled], codes, similarity)
            if fitted is not None:
                self.agreement_[name][mode], confidence, correct = fitted
        metrics["accuracy"] = float(correct.mean()) if len(correct) else float("nan")
        metrics["ece"] = expected_calibration_error(confidence, correct)
        return confidence, correct

    def _votes(
        self, neighbours: CatalogNeighbours, field: int, codes: np.ndarray, similarity: np.ndarray
    ) -> np.ndarray:
        """The nearest photos' votes for each class of ``field``, smoothed toward the share of
        catalog photos carrying each."""
        classes = len(self.classes_[self.fields_[field]])
        return neighbour_votes(codes, similarity, neighbours.value_shares(field, classes))

    def _set_thresholds(
        self, mode: str, outcomes: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Fill thresholds for ``mode``: one shared by all fields (filled fields right
        ``target_precision`` of the time overall), or one per field."""
        if self.per_field_thresholds:
            chosen = {name: self._threshold_for(*outcome) for name, outcome in outcomes.items()}
        else:
            confidence = np.concatenate([c for c, _ in outcomes.values()])
            correct = np.concatenate([k for _, k in outcomes.values()])
            chosen = dict.fromkeys(outcomes, self._threshold_for(confidence, correct))
        for name, (confidence, correct) in outcomes.items():
            filled = confidence >= chosen[name]
            self.thresholds_[name][mode] = chosen[name]
            self.calibration_[name][mode].update(
                threshold=chosen[name],
                filled=float(filled.mean()) if len(filled) else 0.0,
                precision_filled=float(correct[filled].mean()) if filled.any() else float("nan"),
            )

    def _threshold_for(self, confidence: np.ndarray, correct: np.ndarray) -> float:
        # Calibrated confidence at or above the target precision is right that often by
        # itself, so the threshold never exceeds it (few held-out rows make it noisy); and a
        # value more likely wrong than right is never filled, however good the other fields.
        found = fill_threshold(confidence, correct, self.target_precision)
        return max(min(found, self.target_precision), _MIN_THRESHOLD)

    # -- predicting ----------------------------------------------------------------------

    def predict_proba(
        self,
        *,
        photos: np.ndarray | None = None,
        texts: np.ndarray | None = None,
        has_photo: np.ndarray | None = None,
        has_text: np.ndarray | None = None,
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """Calibrated probabilities per field ``[n, classes]``, and each row's input mode. A
        row's probabilities sum to the field's named share (1 unless ``fit`` was given
        ``learnable``)."""
        self._check_fitted()
        rows = _rows(photos, texts)
        self._check_dims(photos, texts)
        present = _presence(rows, photos, texts, has_photo, has_text)
        if not present.any(axis=1).all():
            raise DataError("every row needs a photo or a text to classify.")
        p, t = self._scaled(photos, texts, rows)
        logits = self._logits(p, t, present)
        modes = [_mode_of(row) for row in present]
        probabilities = {}
        for name, field_logits in logits.items():
            temperature = np.array([[self._by_mode(self.temperatures_, name, m)] for m in modes])
            share = np.array([[self._by_mode(self.named_shares_, name, m)] for m in modes])
            probabilities[name] = softmax(field_logits, temperature) * share
        self._apply_agreement(probabilities, p, np.array(modes))
        return probabilities, modes

    def _apply_agreement(
        self, probabilities: dict[str, np.ndarray], photos: np.ndarray, modes: np.ndarray
    ) -> None:
        """Mix the probabilities of rows with a photo with their nearest catalog photos' votes,
        and re-estimate the top value's confidence, in place, where the field and mode have an
        agreement model."""
        rows = np.flatnonzero(modes != TEXT)
        if self.neighbours_ is None or len(rows) == 0:
            return
        if not any(self.agreement_[name] for name in self.fields_):
            return
        neighbours = self.neighbours_
        positions, similarity = neighbours.search(self._photo_hidden(photos[rows]))
        for field, name in enumerate(self.fields_):
            for mode, model in self.agreement_[name].items():
                chosen = modes[rows] == mode
                if chosen.any():
                    codes = neighbours.codes[positions[chosen], field]
                    votes = self._votes(neighbours, field, codes, similarity[chosen])
                    target = rows[chosen]
                    probabilities[name][target] = model.apply(
                        probabilities[name][target], votes, codes, similarity[chosen]
                    )

    def predict(self, **features: Any) -> dict[str, np.ndarray]:
        """The most likely class per field (``predict_proba``'s arguments)."""
        probabilities, _ = self.predict_proba(**features)
        return {n: self.classes_[n][p.argmax(axis=1)] for n, p in probabilities.items()}

    def threshold(self, field: str, mode: str) -> float:
        """Confidence below which ``field`` is left empty for inputs of ``mode``."""
        self._check_fitted()
        if field not in self.thresholds_:
            raise KeyError(f"no field {field!r}; fields are {self.fields_}.")
        return self._by_mode(self.thresholds_, field, mode)

    @staticmethod
    def _by_mode(learned: Mapping[str, Mapping[str, float]], field: str, mode: str) -> float:
        """A per-field, per-mode calibration value; the photo's, then the text's, when ``mode``
        had no held-out rows (1.0 when neither had)."""
        by_mode = learned.get(field, {})
        return float(by_mode.get(mode, by_mode.get(PHOTO, by_mode.get(TEXT, 1.0))))

    @staticmethod
    def _inputs(photos: np.ndarray, texts: np.ndarray, flags: np.ndarray) -> np.ndarray:
        """The networks' input rows: the features a row has, and which it has."""
        return np.concatenate(
            [photos * flags[:, :1], texts * flags[:, 1:], flags.astype(np.float32)], axis=1
        )

    def _logits(self, photos: np.ndarray, texts: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
        x = self._inputs(photos, texts, flags)
        out = np.mean([_gelu(x @ w["w1"] + w["b1"]) @ w["w2"] + w["b2"] for w in self.weights_], 0)
        sizes = np.cumsum([len(self.classes_[name]) for name in self.fields_])[:-1]
        return dict(zip(self.fields_, np.split(out, sizes, axis=1), strict=True))

    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError("this AttributeClassifier is not fitted; call fit() first.")

    def _check_dims(self, photos: np.ndarray | None, texts: np.ndarray | None) -> None:
        for name, given, expected in (
            ("photos", photos, self.photo_dim_),
            ("texts", texts, self.text_dim_),
        ):
            if given is not None and given.shape[1] != expected:
                raise DataError(
                    f"{name} have {given.shape[1]} features but the classifier was trained "
                    f"on {expected}; encode them with the same encoder."
                )

    # -- state ---------------------------------------------------------------------------

    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays (for ``np.savez``) and JSON-ready learned values."""
        self._check_fitted()
        arrays = {
            f"{name}_{member}": array
            for member, weights in enumerate(self.weights_)
            for name, array in weights.items()
        }
        arrays.update(photo_mean=self.photo_mean_, photo_scale=self.photo_scale_)
        if self.neighbours_ is not None:
            arrays.update(
                neighbour_vectors=self.neighbours_.vectors, neighbour_codes=self.neighbours_.codes
            )
        learned = {
            "fields": self.fields_,
            "classes": {name: values.tolist() for name, values in self.classes_.items()},
            "photo_dim": self.photo_dim_,
            "text_dim": self.text_dim_,
            "temperatures": self.temperatures_,
            "named_shares": self.named_shares_,
            "agreement": {
                name: {mode: model.to_list() for mode, model in by_mode.items()}
                for name, by_mode in self.agreement_.items()
            },
            "thresholds": self.thresholds_,
            "calibration": self.calibration_,
        }
        return arrays, learned

    @classmethod
    def from_state(
        cls, arrays: Mapping[str, np.ndarray], learned: Mapping[str, Any], params: dict[str, Any]
    ) -> AttributeClassifier:
        """Rebuild a fitted classifier from :meth:`get_state` output and its parameters."""
        model = cls(**params)
        model.weights_ = [
            {name: arrays[f"{name}_{member}"] for name in ("w1", "b1", "w2", "b2")}
            for member in range(model.members)
        ]
        model.photo_mean_, model.photo_scale_ = arrays["photo_mean"], arrays["photo_scale"]
        model.fields_ = list(learned["fields"])
        model.classes_ = {n: np.asarray(v, dtype=object) for n, v in learned["classes"].items()}
        model.photo_dim_, model.text_dim_ = learned["photo_dim"], learned["text_dim"]
        model.temperatures_ = learned["temperatures"]
        model.named_shares_ = learned.get("named_shares", {})  # saved before: every value named
        model.neighbours_ = (  # saved before neighbour agreement: calibrated confidences only
            CatalogNeighbours(arrays["neighbour_vectors"], arrays["neighbour_codes"])
            if "neighbour_vectors" in arrays
            else None
        )
        model.agreement_ = {
            name: {mode: AgreementModel.from_list(c) for mode, c in by_mode.items()}
            for name, by_mode in learned.get("agreement", {}).items()
        }
        for name in model.fields_:
            model.agreement_.setdefault(name, {})
        model.thresholds_ = learned["thresholds"]
        model.calibration_ = learned["calibration"]
        return model


def _rows(photos: np.ndarray | None, texts: np.ndarray | None) -> int:
    if photos is None and texts is None:
        raise DataError("give photo features, text features, or both.")
    sizes = {len(a) for a in (photos, texts) if a is not None}
    if len(sizes) != 1:
        raise DataError(f"photos and texts must have the same number of rows, got {sizes}.")
    return sizes.pop()


def _presence(
    rows: int,
    photos: np.ndarray | None,
    texts: np.ndarray | None,
    has_photo: np.ndarray | None,
    has_text: np.ndarray | None,
) -> np.ndarray:
    """``[rows, 2]`` bools: which rows have a photo and which have a text."""

    def column(given: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        if given is None:
            return np.zeros(rows, dtype=bool)
        return np.ones(rows, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)

    return np.stack([column(photos, has_photo), column(texts, has_text)], axis=1)


def _rows_of(
    found: tuple[np.ndarray, np.ndarray] | None, usable: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """The held-out rows' neighbours for the rows a photo ``mode`` uses (none for text)."""
    if found is None or mode == TEXT:
        return None
    return found[0][usable], found[1][usable]


def _mode_flags(mode: str, rows: int) -> np.ndarray:
    flags = {PHOTO: (True, False), TEXT: (False, True), BOTH: (True, True)}[mode]
    return np.tile(np.array(flags, dtype=bool), (rows, 1))


def _mode_of(present: np.ndarray) -> str:
    return BOTH if present.all() else PHOTO if present[0] else TEXT


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (as trained)."""
    result: np.ndarray = 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))
    return result
