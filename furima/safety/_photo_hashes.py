"""Photo fingerprints for duplicate search: pixel digests, perceptual hashes, thumbnails.

Each photo keeps three things:

- a digest of its decoded pixels (the same photo re-saved with other metadata or in another
  file format has the same digest);
- its perceptual hash (``imagehash.phash``, 64 bits), and that of its mirror image, so a
  mirrored copy is near in Hamming distance;
- a 32x32 colour thumbnail.

Perceptual hashes and photo vectors only propose candidates: catalogs of product photos on
plain backgrounds hold many photos of different products whose hashes are a few bits apart.
The thumbnail check of :mod:`._photo_alignment` decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from furima.features import decode_image

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["THUMBNAIL", "PhotoPrints", "hamming_neighbours", "photo_prints"]

THUMBNAIL = 48  # side of the stored thumbnail


@dataclass(frozen=True)
class PhotoPrints:
    """Fingerprints of ``n`` photos.

    Attributes:
        digests: ``(n,)`` bytes: BLAKE2b-128 of each photo's decoded RGB pixels and size.
        hashes: ``(n,)`` uint64 perceptual hashes.
        mirror_hashes: ``(n,)`` uint64 perceptual hashes of the mirror images.
        thumbnails: ``(n, 32, 32, 3)`` uint8.
    """

    digests: np.ndarray
    hashes: np.ndarray
    mirror_hashes: np.ndarray
    thumbnails: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)

    def take(self, rows: np.ndarray) -> PhotoPrints:
        return PhotoPrints(
            self.digests[rows], self.hashes[rows], self.mirror_hashes[rows], self.thumbnails[rows]
        )

    @classmethod
    def empty(cls) -> PhotoPrints:
        return cls(
            np.zeros(0, "S16"),
            np.zeros(0, np.uint64),
            np.zeros(0, np.uint64),
            np.zeros((0, THUMBNAIL, THUMBNAIL, 3), np.uint8),
        )

    @classmethod
    def concat(cls, parts: Sequence[PhotoPrints]) -> PhotoPrints:
        return cls(
            np.concatenate([part.digests for part in parts]),
            np.concatenate([part.hashes for part in parts]),
            np.concatenate([part.mirror_hashes for part in parts]),
            np.concatenate([part.thumbnails for part in parts]),
        )


def photo_prints(photos: Sequence[bytes], names: Sequence[str]) -> PhotoPrints:
    """Fingerprints of encoded photos; a broken photo raises ImageError with its ``name``."""
    from PIL import Image

    if not photos:
        return PhotoPrints.empty()
    digests, hashes, mirrors, thumbnails = [], [], [], []
    for photo, name in zip(photos, names, strict=True):
        pixels = decode_image(photo, name=name)
        picture = Image.fromarray(pixels)
        digests.append(_pixel_digest(pixels))
        hashes.append(_phash(picture))
        mirrors.append(_phash(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
        thumbnail = picture.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BOX)
        thumbnails.append(np.asarray(thumbnail, dtype=np.uint8))
    return PhotoPrints(
        np.array(digests, dtype="S16"),
        np.array(hashes, dtype=np.uint64),
        np.array(mirrors, dtype=np.uint64),
        np.stack(thumbnails),
    )


def _pixel_digest(pixels: np.ndarray) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(pixels.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.digest()


def _phash(picture: Image.Image) -> int:
    import imagehash

    bits = imagehash.phash(picture).hash.ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming_neighbours(
    queries: np.ndarray, mirrors: np.ndarray, catalog: np.ndarray, radius: int, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, up to ``k`` catalog rows within ``radius`` bits of the query's hash or of its
    mirror image's, nearest first, as ``(rows, distances)``."""
    out = []
    for start in range(0, len(queries), 64):  # 64 x catalog distances at a time
        pair = np.stack([queries[start : start + 64], mirrors[start : start + 64]], axis=1)
        distances = np.bitwise_count(pair[:, :, None] ^ catalog[None, None, :]).min(axis=1)
        for row in distances:
            near = np.flatnonzero(row <= radius)
            nearest = near[np.argsort(row[near], kind="stable")[:k]]
            out.append((nearest, row[nearest].astype(np.int64)))
    return out
