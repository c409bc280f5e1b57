"""The thumbnail check that decides whether two photos are the same photo.

Re-encoding, resizing, mirroring and cropping change a photo's pixels and its perceptual hash
but not what it shows. The check lines the candidate's 32x32 thumbnail up with the photo's:
each side of each axis of the candidate is cut by 0 to 12.5% (the cuts chosen per axis from
the row and column content profiles, in both orientations, then moved a step at a time while
that helps), resampled to 16x16, and compared over the pixels that are not background (the
median border colour) in either. Two numbers remain:

- the mean colour difference there, small for a copy (JPEG noise, resampling) and large for
  another product photographed the same way;
- the colour shift, the largest per-channel mean of the signed difference: a copy keeps its
  colours, while the same product in another colour (a black wallet against a brown one)
  shifts them, even when the shapes line up perfectly.

Photos that look the same still pass (shade variants of one lipstick shot identically).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from furima.safety._photo_hashes import THUMBNAIL

__all__ = ["thumbnail_distance"]

_COMPARE = 16  # side at which thumbnails are compared (JPEG noise and blur average out)
_MAX_CUT = 0.125  # largest share of each side a crop may remove
_CUT_STEP = 0.0125
_STEPS = round(_MAX_CUT / _CUT_STEP) + 1  # cut positions per side of an axis
_KEPT_PER_AXIS = 2  # best cuts kept per axis from the profiles
_REFINE_ROUNDS = 2
_MOVES = tuple((axis, side, step) for axis in (0, 1) for side in (0, 1) for step in (-1, 1))
_BACKGROUND_GAP = 0.1  # colour distance (0-1) from the background that makes a pixel content


def thumbnail_distance(
    queries: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How far each query thumbnail is from its candidate's at the best alignment.

    Args:
        queries: ``(m, 32, 32, 3)`` uint8 thumbnails.
        candidates: ``(m, 32, 32, 3)`` uint8 thumbnails, one per query.

    Returns:
        ``(difference, shift)``, each ``(m,)`` float32 on the 0-255 scale (see the module
        docstring).
    """
    if len(queries) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    pairs = _Pairs.of(queries, candidates)
    best = _Alignment.worst(len(queries))
    for mirrored in (False, True):
        best = best.better(_coarse(pairs, mirrored))
    best = _refined(pairs, best)
    difference, shift = _compare(pairs, best.rows, best.columns, best.mirrored)
    return difference * 255.0, shift * 255.0


@dataclass(frozen=True)
class _Pairs:
    """What every alignment of the pairs reuses: the candidates, their background and the
    profiles of their cuts; the queries at compare size, plain and mirrored, and their
    content masks."""

    original: np.ndarray  # (m, THUMBNAIL, THUMBNAIL * 3)
    background: np.ndarray  # (m, 1, 1, 3)
    row_profiles: np.ndarray  # (m, cuts, _COMPARE), centred and unit length
    column_profiles: np.ndarray
    queries: tuple[np.ndarray, np.ndarray]  # (m, _COMPARE, _COMPARE, 3): plain, mirrored
    content: tuple[np.ndarray, np.ndarray]  # (m, _COMPARE, _COMPARE) bool
    darkness: np.ndarray  # (m, THUMBNAIL, THUMBNAIL): distance from the background colour
    query_darkness: tuple[np.ndarray, np.ndarray]  # (m, _COMPARE, _COMPARE)

    @classmethod
    def of(cls, queries: np.ndarray, candidates: np.ndarray) -> _Pairs:
        cuts = _cut_matrices()
        original = candidates.astype(np.float32) / 255.0
        background = _background(original)
        darkness = np.abs(original - background).mean(axis=3)
        query = _crop(queries.astype(np.float32) / 255.0, cuts[0], cuts[0])
        content = _content(query, _background(query))
        query_darkness = np.abs(query - _background(query)).mean(axis=3)
        return cls(
            original.reshape(len(original), THUMBNAIL, THUMBNAIL * 3),
            background,
            _centred(np.einsum("hcs,ms->mhc", cuts, darkness.mean(axis=2))),
            _centred(np.einsum("hcs,ms->mhc", cuts, darkness.mean(axis=1))),
            (query, query[:, :, ::-1]),
            (content, content[:, :, ::-1]),
            darkness,
            (query_darkness, query_darkness[:, :, ::-1]),
        )


@dataclass(frozen=True)
class _Alignment:
    """Per pair: the cuts of the candidate's rows and columns (indices into the cut matrices),
    whether the query is mirrored, and the difference and colour shift (0-1) left."""

    rows: np.ndarray
    columns: np.ndarray
    mirrored: np.ndarray
    difference: np.ndarray
    shift: np.ndarray

    @classmethod
    def worst(cls, m: int) -> _Alignment:
        zeros = np.zeros(m, dtype=np.int64)
        infinite = np.full(m, np.inf, dtype=np.float32)
        return cls(zeros, zeros, np.zeros(m, dtype=bool), infinite, infinite)

    def better(self, other: _Alignment) -> _Alignment:
        wins = other.difference < self.difference
        fields = zip(self._fields(), other._fields(), strict=True)
        return _Alignment(*(np.where(wins, new, old) for old, new in fields))

    def _fields(self) -> tuple[np.ndarray, ...]:
        return self.rows, self.columns, self.mirrored, self.difference, self.shift


def _coarse(pairs: _Pairs, mirrored: bool) -> _Alignment:
    """The best of the row and column cuts whose profiles fit the query's best."""
    darkness = pairs.query_darkness[int(mirrored)]
    rows = _best_cuts(pairs.row_profiles, darkness.mean(axis=2))
    columns = _best_cuts(pairs.column_profiles, darkness.mean(axis=1))
    flags = np.full(len(rows), mirrored)
    best = _Alignment.worst(len(rows))
    for row in rows.T:
        for column in columns.T:
            gap = _darkness_gap(pairs, row, column, flags)
            best = best.better(_Alignment(row, column, flags, gap, gap))
    return best


def _refined(pairs: _Pairs, start: _Alignment) -> _Alignment:
    """``start`` with one side of one axis moved a cut step at a time while that helps."""
    best = start
    for _ in range(_REFINE_ROUNDS):
        for axis, side, step in _MOVES:
            rows = _moved(best.rows, side, step) if axis == 0 else best.rows
            columns = _moved(best.columns, side, step) if axis == 1 else best.columns
            gap = _darkness_gap(pairs, rows, columns, best.mirrored)
            best = best.better(_Alignment(rows, columns, best.mirrored, gap, gap))
    return best


def _moved(cuts: np.ndarray, side: int, step: int) -> np.ndarray:
    """Cut indices with their start (``side`` 0) or end (1) one step on, kept in range."""
    start, end = np.divmod(cuts, _STEPS)
    if side == 0:
        start = np.clip(start + step, 0, _STEPS - 1)
    else:
        end = np.clip(end + step, 0, _STEPS - 1)
    moved: np.ndarray = start * _STEPS + end
    return moved


def _compare(
    pairs: _Pairs, rows: np.ndarray, columns: np.ndarray, mirrored: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Difference and colour shift (0-1) of each query against its candidate cut this way."""
    cuts = _cut_matrices()
    m = len(rows)
    aligned = _crop(pairs.original.reshape(m, THUMBNAIL, THUMBNAIL, 3), cuts[rows], cuts[columns])
    flip = mirrored[:, None, None]
    query = np.where(flip[..., None], pairs.queries[1], pairs.queries[0])
    content = _content(aligned, pairs.background) | np.where(flip, *pairs.content[::-1])
    pixels = np.maximum(content.sum(axis=(1, 2)), 1)
    signed = (aligned - query) * content[..., None]
    difference = np.abs(signed).mean(axis=3).sum(axis=(1, 2)) / pixels
    shift = np.abs(signed.sum(axis=(1, 2)) / pixels[:, None]).max(axis=1)
    return difference.astype(np.float32), shift.astype(np.float32)


def _darkness_gap(
    pairs: _Pairs, rows: np.ndarray, columns: np.ndarray, mirrored: np.ndarray
) -> np.ndarray:
    """Mean difference of the distance-from-background maps: cheap, one channel; it picks
    the alignment that :func:`_compare` then measures in colour."""
    cuts = _cut_matrices()
    aligned = np.matmul(np.matmul(cuts[rows], pairs.darkness), cuts[columns].transpose(0, 2, 1))
    query = np.where(mirrored[:, None, None], *pairs.query_darkness[::-1])
    gap: np.ndarray = np.abs(aligned - query).mean(axis=(1, 2))
    return gap


def _best_cuts(cut_profiles: np.ndarray, query_profile: np.ndarray) -> np.ndarray:
    """The ``_KEPT_PER_AXIS`` cuts whose profiles correlate best with the query's, ``(m, k)``."""
    correlation = np.einsum("mhc,mc->mh", cut_profiles, _centred(query_profile))
    kept: np.ndarray = np.argsort(-correlation, axis=1)[:, :_KEPT_PER_AXIS]
    return kept


def _background(pictures: np.ndarray) -> np.ndarray:
    """Each picture's background colour, the median of its border pixels, ``(m, 1, 1, 3)``."""
    border = np.concatenate(
        [pictures[:, 0], pictures[:, -1], pictures[:, :, 0], pictures[:, :, -1]], axis=1
    )
    result: np.ndarray = np.median(border, axis=1)[:, None, None, :]
    return result


def _content(pictures: np.ndarray, background: np.ndarray) -> np.ndarray:
    content: np.ndarray = np.abs(pictures - background).max(axis=3) > _BACKGROUND_GAP
    return content


def _centred(profiles: np.ndarray) -> np.ndarray:
    centred = profiles - profiles.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    result: np.ndarray = centred / np.maximum(norms, 1e-6)
    return result


def _crop(pictures: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``rows @ picture @ columns.T`` per channel: each picture cut and resampled to
    ``_COMPARE`` pixels a side. ``rows`` / ``columns``: one matrix for all, or one each."""
    m, height, width, _ = pictures.shape
    across = np.matmul(rows, pictures.reshape(m, height, width * 3))  # (m, C, W * 3)
    across = across.reshape(m, _COMPARE, width, 3)
    cut = columns[:, None] if columns.ndim == 3 else columns[None, None]
    result: np.ndarray = np.matmul(cut, across)  # (m, C, C, 3)
    return result


@cache
def _cut_matrices() -> np.ndarray:
    """Area-averaging matrices ``(cuts, _COMPARE, THUMBNAIL)``, one per (start, end) cut of
    an axis; the first keeps the whole axis."""
    steps = np.arange(_STEPS) * _CUT_STEP
    matrices = [_area_matrix(start, end) for start in steps for end in steps]
    return np.stack(matrices).astype(np.float32)


def _area_matrix(start: float, end: float) -> np.ndarray:
    """Averages the span ``[start, 1 - end)`` of an axis into ``_COMPARE`` equal bins."""
    low, high = start * THUMBNAIL, (1.0 - end) * THUMBNAIL
    edges = low + (high - low) * np.arange(_COMPARE + 1) / _COMPARE
    pixels = np.arange(THUMBNAIL)
    overlap = np.minimum(edges[1:, None], pixels[None] + 1) - np.maximum(edges[:-1, None], pixels)
    weights = np.clip(overlap, 0.0, None)
    result: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return result
