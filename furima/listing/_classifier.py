"""AttributeClassifier: category, colour, gender, ... from photo and text features.

One small network with a softmax head per field, trained on encoder outputs (EfficientNet
photo features, MiniLM title features). It answers from a photo alone, from words alone, or
from both. Probabilities are calibrated per field and input mode by temperature scaling on
held-out rows, then mixed with the nearest catalog photos' votes and re-estimated from how
they agree (see :mod:`furima.listing._agreement`); each field gets the confidence threshold
above which its predictions were right at least ``target_precision`` of the time on those
rows.

The inputs are checked and put in shape in :mod:`furima.listing._classifier_inputs`, the
network is trained in :mod:`furima.listing._classifier_training` and calibrated in
:mod:`furima.listing._classifier_calibration`; this module holds the estimator and predicts.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from furima._progress import tracker
from furima.exceptions import DataError, NotFittedError
from furima.listing._agreement import AgreementModel, CatalogNeighbours
from furima.listing._calibration import softmax
from furima.listing._classifier_calibration import (
    Calibrator,
    field_votes,
    held_out_neighbours,
    rows_of,
)
from furima.listing._classifier_inputs import (
    MODES,
    PHOTO,
    TEXT,
    count_rows,
    encode_labels,
    mode_flags,
    mode_of,
    photo_scaling,
    presence,
    split_rows,
    standardised_photos,
)

__all__ = ["MODES", "AttributeClassifier"]

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
        rows = count_rows(photos, texts)
        present = presence(rows, photos, texts, has_photo, has_text)
        self.fields_ = list(labels)
        if not self.fields_:
            raise DataError("give at least one field to learn, e.g. {'article_type': [...]}.")
        codes, self.classes_ = encode_labels(labels, self.fields_, rows, learnable or {})
        self.photo_dim_ = 0 if photos is None else photos.shape[1]
        self.text_dim_ = 0 if texts is None else texts.shape[1]
        self.photo_mean_, self.photo_scale_ = photo_scaling(photos, present[:, 0], self.photo_dim_)
        features = self._scaled(photos, texts, rows)
        train, held = split_rows(rows, calibration_rows, self.calibration_share, self.seed)
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

    def _scaled(
        self, photos: np.ndarray | None, texts: np.ndarray | None, rows: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Standardised photo features (clipped); text vectors (unit length) scaled to unit
        variance."""
        p = np.zeros((rows, self.photo_dim_), np.float32)
        if photos is not None:
            p = standardised_photos(photos, self.photo_mean_, self.photo_scale_)
        t = np.zeros((rows, self.text_dim_), np.float32)
        if texts is not None:
            t = (texts * math.sqrt(max(self.text_dim_, 1))).astype(np.float32)
        return p, t

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
        x = self._inputs(photos, words, mode_flags(PHOTO, len(photos)))
        return _gelu(x @ self.weights_[0]["w1"] + self.weights_[0]["b1"])

    def _calibrate(
        self,
        features: tuple[np.ndarray, np.ndarray],
        present: np.ndarray,
        codes: np.ndarray,
        held: np.ndarray,
    ) -> None:
        """Temperatures, agreement models, thresholds and calibration metrics per field and
        input mode (see :mod:`furima.listing._classifier_calibration`)."""
        calibrator = Calibrator(
            self.fields_,
            self.classes_,
            self.neighbours_,
            self.target_precision,
            self.per_field_thresholds,
        )
        found = self._held_neighbours(features[0], present[:, 0], held)
        for mode in MODES:
            flags = mode_flags(mode, len(held))
            usable = (present[held] >= flags).all(axis=1)
            if not usable.any():
                continue
            rows = held[usable]
            logits = self._logits(features[0][rows], features[1][rows], flags[usable])
            calibrator.calibrate_mode(mode, logits, codes[rows], rows_of(found, usable, mode))
        self.temperatures_ = calibrator.temperatures
        self.named_shares_ = calibrator.named_shares
        self.agreement_ = calibrator.agreement
        self.thresholds_ = calibrator.thresholds
        self.calibration_ = calibrator.metrics

    def _held_neighbours(
        self, photos: np.ndarray, has_photo: np.ndarray, held: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The nearest catalog photos of every held-out row (itself left out), found once for
        all photo modes; rows without a photo get none (only the text mode uses them)."""
        if self.neighbours_ is None or not has_photo[held].any():
            return None
        hidden = self._photo_hidden(photos[held[has_photo[held]]])
        return held_out_neighbours(self.neighbours_, hidden, has_photo, held)

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
        rows = count_rows(photos, texts)
        self._check_dims(photos, texts)
        present = presence(rows, photos, texts, has_photo, has_text)
        if not present.any(axis=1).all():
            raise DataError("every row needs a photo or a text to classify.")
        p, t = self._scaled(photos, texts, rows)
        logits = self._logits(p, t, present)
        modes = [mode_of(row) for row in present]
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
                    classes = len(self.classes_[name])
                    votes = field_votes(neighbours, field, classes, codes, similarity[chosen])
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


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (as trained)."""
    result: np.ndarray = 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))
    return result
