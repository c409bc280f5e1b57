"""Near-duplicate listing texts: MinHash signatures over word shingles, searched with LSH.

A text's shingles are its words (case-folded, NFKC-normalised); words in scripts written
without spaces (Japanese, Chinese, Thai) give their character pairs instead, so
``ナイキのスニーカー 27cm`` and ``ナイキ スニーカー 27cm`` share most shingles. The MinHash
signature estimates the Jaccard similarity of two shingle sets; ``datasketch``'s LSH finds the
catalog texts likely to be above the threshold without comparing every pair.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["TextSignatures", "shingles"]

_WORD = re.compile(r"\w+")
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SCHEME = "affine32"  # datasketch's 32-bit hash values, stored as uint32
_LSH_MARGIN = 0.1  # LSH looks this far below the threshold, then the estimate decides


def shingles(text: str) -> set[str]:
    """The shingle set of a text (see the module docstring)."""
    out: set[str] = set()
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if len(word) > 1 and _UNSPACED.search(word):
            out.update(word[i : i + 2] for i in range(len(word) - 1))
        else:
            out.add(word)
    return out


class TextSignatures:
    """MinHash signatures of catalog texts with an LSH index over them.

    Args:
        threshold: Estimated Jaccard similarity from which two texts are near duplicates.
        num_perm: MinHash permutations (more: a finer estimate, bigger signatures).
        seed: MinHash seed (signatures of different seeds are not comparable).
    """

    def __init__(self, *, threshold: float = 0.8, num_perm: int = 128, seed: int = 1) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the text threshold must be in (0, 1], got {threshold}.")
        self.threshold = threshold
        self.num_perm = num_perm
        self.seed = seed
        self.signatures = np.zeros((0, num_perm), dtype=np.uint32)
        self._lsh = self._new_lsh()

    def __len__(self) -> int:
        return len(self.signatures)

    def signatures_of(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(n, num_perm)`` uint32 signatures, and which texts have any word (the others'
        signatures mean nothing and must not be compared)."""
        from datasketch import MinHash

        sets = [sorted(shingles(text)) for text in texts]
        has_words = np.array([bool(items) for items in sets], dtype=bool)
        hashes = MinHash.bulk(
            [[item.encode("utf-8") for item in items] for items in sets],
            num_perm=self.num_perm,
            seed=self.seed,
            scheme=SCHEME,
        )
        signatures = np.array([h.hashvalues for h in hashes], dtype=np.uint32)
        return signatures.reshape(len(texts), self.num_perm), has_words

    def add(self, signatures: np.ndarray) -> None:
        """Append signatures; their keys are their positions."""
        start = len(self.signatures)
        self._insert(signatures, start)
        self.signatures = np.concatenate([self.signatures, signatures])

    def near(self, signatures: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query signature, ``(positions, jaccard)`` of the catalog texts at or above the
        threshold, most similar first."""
        from datasketch import LeanMinHash

        out = []
        for signature in signatures:
            keys = self._lsh.query(LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME))
            positions = np.array(sorted(int(key) for key in keys), dtype=np.int64)
            jaccard = (self.signatures[positions] == signature).mean(axis=1)
            keep = np.flatnonzero(jaccard >= self.threshold)
            order = keep[np.argsort(-jaccard[keep], kind="stable")]
            out.append((positions[order], jaccard[order]))
        return out

    def _insert(self, signatures: np.ndarray, start: int) -> None:
        from datasketch import LeanMinHash

        with self._lsh.insertion_session() as session:
            for offset, signature in enumerate(signatures):
                session.insert(
                    start + offset, LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME)
                )

    def _new_lsh(self) -> Any:
        from datasketch import MinHashLSH

        floor = max(self.threshold - _LSH_MARGIN, 0.05)
        return MinHashLSH(threshold=floor, num_perm=self.num_perm)

    @classmethod
    def restore(
        cls, signatures: np.ndarray, *, threshold: float, num_perm: int, seed: int
    ) -> TextSignatures:
        """Signatures saved earlier, with the LSH rebuilt over them."""
        index = cls(threshold=threshold, num_perm=num_perm, seed=seed)
        index.add(np.asarray(signatures, dtype=np.uint32).reshape(-1, num_perm))
        return index
