"""The supervised text model of a policy: TF-IDF words and characters plus the sentence vector,
a logistic regression with C chosen by cross-validation, and Platt-calibrated probabilities.

Word n-grams carry the vocabulary of a violation ("claim", "txt", "replica"), character
n-grams its spelling tricks and scripts without spaces (Japanese), and the multilingual
sentence vector its meaning across wording and languages. Everything learned is numbers and
strings, saved as arrays (no pickles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["SupervisedModel", "TextFeatures", "fit_supervised", "pack_strings", "unpack_strings"]

_WORDS = {"ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b", "min_df": 1}
_CHARS = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2}
_MAX_FEATURES = 200_000


class TextFeatures:
    """Word TF-IDF, character TF-IDF and the weighted sentence vector of texts, side by side.

    Args:
        sentence_weight: Scale of the (unit-length) sentence vector against the two TF-IDF
            blocks (each of unit length); 0 leaves it out.
    """

    def __init__(self, sentence_weight: float = 1.0) -> None:
        self.sentence_weight = sentence_weight

    def fit(self, texts: Sequence[str]) -> TextFeatures:
        self.words_ = _fit_vectorizer(_new_vectorizer(_WORDS), texts)
        self.chars_ = _fit_vectorizer(_new_vectorizer(_CHARS), texts)
        return self

    @property
    def n_words(self) -> int:
        """Number of word columns (the first block)."""
        return len(self.words_.vocabulary_)

    def word_terms(self) -> list[str]:
        vocabulary = self.words_.vocabulary_
        return sorted(vocabulary, key=vocabulary.__getitem__)

    def transform(self, texts: Sequence[str], embeddings: np.ndarray | None) -> sp.csr_matrix:
        import scipy.sparse as sp

        from furima.features import tfidf_transform

        blocks = [
            tfidf_transform(self.words_, list(texts)),
            tfidf_transform(self.chars_, list(texts)),
        ]
        if self.sentence_weight:
            if embeddings is None:
                raise ValueError("sentence vectors are needed for these features")
            blocks.append(sp.csr_matrix(embeddings * np.float32(self.sentence_weight)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for prefix, vectorizer in (("words", self.words_), ("chars", self.chars_)):
            vocabulary = vectorizer.vocabulary_
            data, offsets = pack_strings(sorted(vocabulary, key=vocabulary.__getitem__))
            arrays.update({f"{prefix}/terms": data, f"{prefix}/offsets": offsets})
            arrays[f"{prefix}/idf"] = vectorizer.idf_.astype(np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, sentence_weight: float, arrays: Mapping[str, np.ndarray]) -> TextFeatures:
        features = cls(sentence_weight)
        for prefix, params in (("words", _WORDS), ("chars", _CHARS)):
            vectorizer = _new_vectorizer(params)
            terms = unpack_strings(arrays[f"{prefix}/terms"], arrays[f"{prefix}/offsets"])
            vectorizer.vocabulary_ = {term: i for i, term in enumerate(terms)}
            vectorizer.fixed_vocabulary_ = True
            vectorizer.idf_ = arrays[f"{prefix}/idf"]
            setattr(features, f"{prefix}_", vectorizer)
        return features


@dataclass
class SupervisedModel:
    """A fitted linear model and its calibration: ``p = sigmoid(a * (x.w + b0) + b)``.

    Attributes:
        coef: One weight per feature column.
        intercept: The linear model's intercept.
        platt: ``(a, b)`` of the sigmoid fitted on out-of-fold decision values.
        metrics: Cross-validated figures on the training labels (``auprc``, ``f1`` and the
            ``f1_threshold`` that reaches it, ``C``, ``positives``, ``negatives``).
    """

    coef: np.ndarray
    intercept: float
    platt: tuple[float, float]
    metrics: dict[str, Any] = field(default_factory=dict)

    def decision(self, features: sp.csr_matrix) -> np.ndarray:
        return np.asarray(features @ self.coef, dtype=np.float64) + self.intercept

    def probabilities(self, features: sp.csr_matrix) -> np.ndarray:
        return _sigmoid(self.platt[0] * self.decision(features) + self.platt[1])

    def top_words(
        self, features: sp.csr_matrix, terms: Sequence[str], n_words: int, k: int = 3
    ) -> list[list[str]]:
        """Per row, the (up to ``k``) words that push its score up most."""
        words = features[:, :n_words].multiply(self.coef[:n_words]).tocsr()
        tops: list[list[str]] = []
        for row in range(words.shape[0]):
            start, end = words.indptr[row], words.indptr[row + 1]
            values, columns = words.data[start:end], words.indices[start:end]
            order = np.argsort(-values)[:k]
            tops.append([terms[columns[i]] for i in order if values[i] > 0])
        return tops

    def to_meta(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "platt": list(self.platt), "metrics": self.metrics}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], coef: np.ndarray) -> SupervisedModel:
        a, b = meta["platt"]
        return cls(coef, float(meta["intercept"]), (float(a), float(b)), dict(meta["metrics"]))


def fit_supervised(
    features: sp.csr_matrix,
    labels: np.ndarray,
    *,
    Cs: Sequence[float],
    n_folds: int,
    random_state: int,
) -> SupervisedModel:
    """Choose C by cross-validated AUPRC, calibrate on the out-of-fold scores, refit on all."""
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold

    y = labels.astype(int)
    folds = max(2, min(n_folds, int(y.sum()), int((1 - y).sum())))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=random_state).split(y, y))
    best: tuple[float, float, np.ndarray] | None = None
    for C in Cs:
        decisions = np.zeros(len(y))
        for train, held in splits:
            decisions[held] = (
                _logistic(C, random_state)
                .fit(features[train], y[train])
                .decision_function(features[held])
            )
        score = float(average_precision_score(y, decisions))
        if best is None or score > best[0] + 1e-6:
            best = (score, C, decisions)
    assert best is not None
    auprc, C, decisions = best
    platt = _platt(decisions, y)
    threshold, f1 = _best_f1(_sigmoid(platt[0] * decisions + platt[1]), y)
    final = _logistic(C, random_state).fit(features, y)
    metrics = {
        "auprc": round(auprc, 4),
        "f1": round(f1, 4),
        "f1_threshold": round(threshold, 4),
        "C": C,
        "positives": int(y.sum()),
        "negatives": int(len(y) - y.sum()),
    }
    return SupervisedModel(
        final.coef_[0].astype(np.float32), float(final.intercept_[0]), platt, metrics
    )


def _logistic(C: float, random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, solver="liblinear", max_iter=2000, random_state=random_state)


def _platt(decisions: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(decisions[:, None], y)
    return float(fitted.coef_[0, 0]), float(fitted.intercept_[0])


def _best_f1(probabilities: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The threshold with the highest F1 on these scores, and that F1."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, probabilities)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))
    return float(thresholds[best]), float(f1[best])


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -50, 50))))


def _new_vectorizer(params: Mapping[str, Any]) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        sublinear_tf=True, max_features=_MAX_FEATURES, dtype=np.float32, **params
    )


def _fit_vectorizer(vectorizer: TfidfVectorizer, texts: Sequence[str]) -> TfidfVectorizer:
    """Fit, lowering ``min_df`` to 1 when no term is shared by enough texts."""
    documents = [text if text.strip() else " " for text in texts]
    try:
        return vectorizer.fit(documents)
    except ValueError:  # empty vocabulary; "_" always makes a term, so this one fits
        return vectorizer.set_params(min_df=1).fit([*documents, "_"])


def pack_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array and their end offsets (compact, no pickles)."""
    encoded = [text.encode("utf-8") for text in strings]
    offsets = np.cumsum([len(item) for item in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def unpack_strings(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = data.tobytes()
    starts = np.concatenate([[0], offsets[:-1]]).tolist()
    return [
        raw[start:end].decode("utf-8") for start, end in zip(starts, offsets.tolist(), strict=True)
    ]
