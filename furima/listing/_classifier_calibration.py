"""Calibration of :class:`~furima.listing.AttributeClassifier` on its held-out rows.

Per field and input mode: a softmax temperature, the share of labelled values the field can
name, an agreement model with the nearest catalog photos' votes (see
:mod:`furima.listing._agreement`), the confidence threshold above which values are filled, and
the metrics that show how well each step did. Kept apart from the classifier: it takes the
held-out rows' logits, labels and neighbours as plain arrays, and hands back plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from furima.listing._agreement import AgreementModel, CatalogNeighbours, neighbour_votes
from furima.listing._calibration import (
    expected_calibration_error,
    fill_threshold,
    fit_temperature,
    softmax,
)
from furima.listing._classifier_inputs import TEXT, UNKNOWN

__all__ = ["Calibrator", "field_votes", "held_out_neighbours", "rows_of"]

_MIN_THRESHOLD = 0.5


def field_votes(
    neighbours: CatalogNeighbours,
    field: int,
    classes: int,
    codes: np.ndarray,
    similarity: np.ndarray,
) -> np.ndarray:
    """The nearest photos' votes for each of the ``classes`` of ``field``, smoothed toward the
    share of catalog photos carrying each."""
    return neighbour_votes(codes, similarity, neighbours.value_shares(field, classes))


def held_out_neighbours(
    neighbours: CatalogNeighbours, hidden: np.ndarray, has_photo: np.ndarray, held: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest catalog photos (positions, similarities) of every ``held`` row, given the
    hidden vectors of those with a photo (each left out of its own search); the rows without
    a photo get zeros (only the text mode uses them)."""
    with_photo = held[has_photo[held]]
    own = np.searchsorted(np.flatnonzero(has_photo), with_photo)
    positions, similarity = neighbours.search(hidden, own=own)
    everyone = np.zeros((len(held), positions.shape[1]), dtype=positions.dtype)
    scores = np.zeros((len(held), positions.shape[1]), dtype=similarity.dtype)
    everyone[has_photo[held]], scores[has_photo[held]] = positions, similarity
    return everyone, scores


def rows_of(
    found: tuple[np.ndarray, np.ndarray] | None, usable: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """The held-out rows' neighbours for the rows a photo ``mode`` uses (none for text)."""
    if found is None or mode == TEXT:
        return None
    return found[0][usable], found[1][usable]


class Calibrator:
    """Learns the calibration of every field, one input mode at a time.

    Args:
        fields: The classifier's fields, in the order of its label columns.
        classes: Each field's classes.
        neighbours: The catalog photos in the classifier's hidden layer, or ``None``.
        target_precision: Filled fields should be right this often (sets the thresholds).
        per_field_thresholds: One threshold per field rather than one for all.
    """

    def __init__(
        self,
        fields: list[str],
        classes: Mapping[str, np.ndarray],
        neighbours: CatalogNeighbours | None,
        target_precision: float,
        per_field_thresholds: bool,
    ) -> None:
        self.fields = fields
        self.classes = classes
        self.neighbours = neighbours
        self.target_precision = target_precision
        self.per_field_thresholds = per_field_thresholds
        self.temperatures: dict[str, dict[str, float]] = {name: {} for name in fields}
        self.named_shares: dict[str, dict[str, float]] = {name: {} for name in fields}
        self.agreement: dict[str, dict[str, AgreementModel]] = {name: {} for name in fields}
        self.thresholds: dict[str, dict[str, float]] = {name: {} for name in fields}
        self.metrics: dict[str, dict[str, dict[str, float]]] = {name: {} for name in fields}

    def calibrate_mode(
        self,
        mode: str,
        logits: Mapping[str, np.ndarray],
        codes: np.ndarray,
        found: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        """Calibrate every field for ``mode`` on held-out rows: their logits per field, their
        ``[rows, fields]`` label codes and (photo modes) their nearest catalog photos."""
        outcomes = {
            name: self._calibrate_field(j, mode, logits[name], codes[:, j], found)
            for j, name in enumerate(self.fields)
        }
        self._set_thresholds(mode, outcomes)

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
        name = self.fields[field]
        temperature = fit_temperature(logits, labels)  # ignores negative codes
        labelled = labels != UNKNOWN
        named_share = float(np.mean(labels[labelled] >= 0)) if labelled.any() else 1.0
        before = softmax(logits[labelled])
        after = softmax(logits[labelled], temperature) * named_share
        correct = (after.argmax(axis=1) == labels[labelled]).astype(np.float64)
        confidence = after.max(axis=1)
        self.temperatures[name][mode] = temperature
        self.named_shares[name][mode] = named_share
        metrics = self.metrics[name][mode] = {
            "rows": int(labelled.sum()),
            "temperature": temperature,
            "named_share": named_share,
            "accuracy_temperature": float(correct.mean()) if len(correct) else float("nan"),
            "ece_before": expected_calibration_error(before.max(axis=1), correct),
            "ece_temperature": expected_calibration_error(confidence, correct),
        }
        if found is not None and self.neighbours is not None:
            similarity = found[1][labelled]
            codes = self.neighbours.codes[found[0][labelled], field]
            classes = len(self.classes[name])
            votes = field_votes(self.neighbours, field, classes, codes, similarity)
            fitted = AgreementModel.fit(after, votes, labels[labelled], codes, similarity)
            if fitted is not None:
                self.agreement[name][mode], confidence, correct = fitted
        metrics["accuracy"] = float(correct.mean()) if len(correct) else float("nan")
        metrics["ece"] = expected_calibration_error(confidence, correct)
        return confidence, correct

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
            self.thresholds[name][mode] = chosen[name]
            self.metrics[name][mode].update(
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
