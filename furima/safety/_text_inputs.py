"""Checks on what callers hand the text checker: texts, labels per policy, listing ids and
precomputed sentence vectors. Each problem is a :class:`~furima.exceptions.DataError` that
says how to fix it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from furima.exceptions import DataError
from furima.safety._policies import Policy, PolicyKind

__all__ = ["check_embeddings", "check_ids", "check_labels", "check_texts"]


def check_texts(texts: Any, what: str = "texts") -> list[str]:
    """Texts as a list of strings; ``None`` and NaN become empty strings."""
    if isinstance(texts, str):
        raise DataError(f"{what} must be a list of texts; wrap a single text in a list.")
    if texts is None:
        return []
    checked = []
    for position, text in enumerate(texts):
        if text is None or (isinstance(text, float) and math.isnan(text)):
            checked.append("")
        elif isinstance(text, str):
            checked.append(text)
        else:
            raise DataError(
                f"{what}[{position}] must be a string, got {type(text).__name__} ({text!r}); "
                "pass the listing's name and description joined into one string."
            )
    return checked


def check_labels(labels: Any, n_texts: int, policies: Sequence[Policy]) -> dict[str, np.ndarray]:
    """Labels per text policy as float arrays of 0, 1 and NaN (unknown), one value per text.

    ``labels`` is ``None``, a mapping from policy name to a sequence, or a DataFrame whose
    columns are policy names.
    """
    if labels is None:
        return {}
    columns = _columns(labels)
    known = {policy.name: policy for policy in policies}
    text_names = [policy.name for policy in policies if policy.kind == PolicyKind.TEXT]
    checked = {}
    for name, values in columns.items():
        if name not in known:
            raise DataError(
                f"labels name an unknown policy {name!r}; the text policies are "
                f"{', '.join(text_names) or '(none)'}. Rename the label column or add the policy "
                "to the policy file."
            )
        if known[name].kind != PolicyKind.TEXT:
            raise DataError(
                f"policy {name!r} is a {known[name].kind} policy; the text checker learns only "
                f"text policies ({', '.join(text_names)}). Drop its labels here."
            )
        checked[name] = _label_values(name, values, n_texts)
    return checked


def check_ids(ids: Any, n_texts: int) -> list[str] | None:
    """Listing ids as strings, one per text (or ``None``)."""
    if ids is None:
        return None
    if isinstance(ids, str):
        raise DataError("ids must be a list of listing ids, one per text; got a single string.")
    checked = [str(item) for item in ids]
    if len(checked) != n_texts:
        raise DataError(
            f"got {len(checked)} ids for {n_texts} texts; give one listing id per text."
        )
    return checked


def check_embeddings(embeddings: Any, n_texts: int, dim: int, what: str) -> np.ndarray:
    """Sentence vectors as a ``(n_texts, dim)`` float32 array."""
    array = np.asarray(embeddings, dtype=np.float32)
    if array.shape != (n_texts, dim):
        raise DataError(
            f"{what} must have shape ({n_texts}, {dim}): one {dim}-d sentence vector per text "
            f"from the checker's encode(); got shape {array.shape}."
        )
    if not np.isfinite(array).all():
        raise DataError(f"{what} hold NaN or infinite values; encode the texts again.")
    return array


def _columns(labels: Any) -> dict[str, Any]:
    if hasattr(labels, "columns") and hasattr(labels, "__getitem__"):  # a DataFrame
        return {str(name): labels[name].to_numpy() for name in labels.columns}
    if isinstance(labels, Mapping):
        return {str(name): values for name, values in labels.items()}
    raise DataError(
        f"labels must map policy names to one 0/1 label per text (a dict or a DataFrame), got "
        f"a {type(labels).__name__}; e.g. labels={{'spam_scam': [0, 1, ...]}}."
    )


def _label_values(name: str, values: Any, n_texts: int) -> np.ndarray:
    if isinstance(values, str) or not hasattr(values, "__len__"):
        raise DataError(f"labels for policy {name!r} must be a sequence of 0/1, one per text.")
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    if len(items) != n_texts:
        raise DataError(
            f"labels for policy {name!r} have {len(items)} values for {n_texts} texts; give one "
            "label per text (NaN where unknown)."
        )
    out = np.full(n_texts, np.nan)
    for position, value in enumerate(items):
        if _missing(value):
            continue
        if isinstance(value, bool | int | float | np.integer | np.floating) and value in (0, 1):
            out[position] = float(value)
            continue
        raise DataError(
            f"labels for policy {name!r} must be 0 (keeps the policy), 1 (breaks it) or NaN "
            f"(unknown); got {value!r} at position {position}. Map them first, e.g. "
            f"(frame['label'] == 'spam').astype(int)."
        )
    return out


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA."""
    if value is None or type(value).__name__ == "NAType":
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)
