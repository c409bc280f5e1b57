"""Fine-tuning the photo backbone on a catalog's own labels, on a GPU when there is one.

ImageNet features group fashion photos by product type only loosely. Training
EfficientNet-Lite0 end to end, with one classification head per label column (article type,
colour, gender, ...), pulls photos of the same kind together. The heads are dropped
afterwards: what is kept is the pooled 1280-d backbone, exported to ONNX in a folder with a
manifest, which :class:`PhotoEncoder` runs on CPU in place of the stock weights
(``PhotoEncoder(backbone=folder)``), so every model built on photo features (classifiers,
joint embedding, search pools) uses it unchanged.

The folder is written atomically (see :mod:`furima._artifacts`)::

    backbone.onnx    pixels (N, 3, S, S) in [-1, 1] -> features (N, 1280)
    manifest.json    image size, label columns and classes, settings, validation accuracy,
                     digests of the validation photos, data fingerprint, checksums

The validation photos' digests (:func:`photo_digest`) let a listing assistant fitted on the
same catalog calibrate its confidences on photos the backbone never trained on: features of
photos the backbone was tuned on are easier than a new listing's, and thresholds chosen on
them would fill fields too eagerly.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from furima._artifacts import ArtifactKind, save_atomically, stamp
from furima._progress import tracker
from furima.exceptions import DataError, ModelFormatError

if TYPE_CHECKING:
    import torch

    from furima.features._images import ImageInput

__all__ = ["BACKBONE_FILE", "TUNED_BACKBONE", "PhotoTuning", "photo_digest", "tune_photo_backbone"]

BACKBONE_FILE = "backbone.onnx"
TUNED_BACKBONE = ArtifactKind(
    format="furima.photo_backbone",
    version=1,
    noun="tuned furima photo backbone",
    written_by="tune_photo_backbone() or `furima photo tune`",
    too_new=(
        "in format {saved}; this furima reads photo backbone format {supported} and older. "
        "Upgrade furima, or tune the backbone again with this version."
    ),
    damaged="the backbone is corrupt, truncated or was modified. Tune it again.",
    error=ModelFormatError,
)
_IGNORED = -100  # label code of a photo without a value in that column


@dataclass(frozen=True)
class PhotoTuning:
    """How the backbone is fine-tuned.

    Attributes:
        epochs: Passes over the photos.
        batch_size: Photos per step.
        learning_rate: AdamW's peak rate (after a one-epoch warm-up, then cosine decay to 0).
        weight_decay: AdamW's decoupled weight decay.
        label_smoothing: Cross-entropy label smoothing, which keeps the features from
            collapsing onto the training classes.
        zoom: Smallest share of the photo's side a random training crop keeps (with random
            horizontal flips; colours are never jittered, since colour is often a label).
        image_size: Side of the square input, as :class:`PhotoEncoder` resizes photos.
            ``None``: 224 (ImageNet's) on a GPU; on a CPU, the photos' own longer side (the
            median of a sample) rounded up to a multiple of 32, from 64 to 224. Compute grows
            with the square of the side: 224 px takes minutes on a GPU but hours on a CPU.
            Upsampling adds no detail but gives the network finer feature maps, worth a
            little (times and accuracies in ``docs/benchmarks.md``).
        device: ``"cuda"``, ``"cpu"`` or ``None`` (a GPU when PyTorch sees one).
        seed: Seeds initialisation, shuffling and augmentation.
    """

    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    zoom: float = 0.8
    image_size: int | None = None
    device: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("PhotoTuning needs epochs >= 1 and batch_size >= 2.")
        if not 0.0 < self.zoom <= 1.0:
            raise ValueError(f"PhotoTuning.zoom must be in (0, 1], got {self.zoom}.")


@dataclass(frozen=True)
class _Labels:
    """One label column: its classes and each photo's class code (``_IGNORED`` when absent)."""

    classes: list[str]
    codes: np.ndarray


def tune_photo_backbone(
    photos: Sequence[ImageInput],
    labels: Mapping[str, Sequence[Any]],
    path: str | Path,
    *,
    settings: PhotoTuning | None = None,
    validation: tuple[Sequence[ImageInput], Mapping[str, Sequence[Any]]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune EfficientNet-Lite0 on labelled photos and save it to the folder ``path``.

    Args:
        photos: Training photos (bytes, paths or PIL images).
        labels: Label columns, each one value per photo (``None``/NaN/``""``: unknown).
        path: Folder to write (replaced atomically when it exists).
        settings: Training settings (defaults: :class:`PhotoTuning`).
        validation: Held-out photos and the same label columns; their top-1 accuracy per
            column is measured with the trained heads and written into the manifest.
        progress: Show progress bars.

    Returns:
        The manifest written beside the backbone.

    Photos are decoded once and held in memory (and on the GPU) at ``image_size``: 150 KB per
    photo at 224, so 6.6 GB for 44k photos.
    """
    columns = _label_columns(labels, len(photos))
    settings, size, device = _resolved(settings or PhotoTuning(), photos)
    started = time.perf_counter()
    with tracker(progress) as bar:
        pixels = _decode_all(photos, size, bar, "Decoding training photos")
        held_out = None
        if validation is not None:
            held_pixels = _decode_all(validation[0], size, bar, "Decoding validation photos")
            held_out = (held_pixels, _validation_codes(columns, validation[1], len(held_pixels)))
        trained = _train(pixels, columns, settings, device, bar)
        accuracy = _accuracy(trained, *held_out, device) if held_out is not None else {}
    manifest = _manifest(pixels, columns, settings, accuracy, device, started)
    if validation is not None:
        manifest["held_out_photos"] = sorted({photo_digest(photo) for photo in validation[0]})
    backbone = trained.backbone.to("cpu").float().eval()

    def write(folder: Path) -> None:
        from furima.features._photo import export_model

        export_model(backbone, folder / BACKBONE_FILE, size)
        stamp(folder, manifest)

    save_atomically(Path(path), write)
    return manifest


def photo_digest(photo: ImageInput) -> str:
    """A short SHA-256 of a photo's encoded bytes (a path's file, or a PIL image's pixels)."""
    from os import PathLike

    if isinstance(photo, bytes | bytearray | memoryview):
        data = bytes(photo)
    elif isinstance(photo, str | PathLike):
        data = Path(photo).read_bytes()
    else:
        data = photo.tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def _label_columns(labels: Mapping[str, Sequence[Any]], rows: int) -> dict[str, _Labels]:
    if not labels:
        raise DataError("tune_photo_backbone needs at least one label column to learn from.")
    if rows < 2:
        raise DataError(f"tune_photo_backbone needs at least 2 photos, got {rows}.")
    columns = {}
    for name, values in labels.items():
        if len(values) != rows:
            raise DataError(
                f"label column {name!r} has {len(values)} values for {rows} photos: give one "
                "value per photo (None where unknown)."
            )
        known = [_label(value) for value in values]
        classes = sorted({value for value in known if value is not None})
        if len(classes) < 2:
            raise DataError(
                f"label column {name!r} has {len(classes)} distinct value(s); a column to learn "
                "from needs at least 2. Drop it or add photos of other classes."
            )
        position = {value: code for code, value in enumerate(classes)}
        codes = np.array([_IGNORED if v is None else position[v] for v in known], np.int64)
        columns[name] = _Labels(classes, codes)
    return columns


def _validation_codes(
    columns: Mapping[str, _Labels], labels: Mapping[str, Sequence[Any]], rows: int
) -> dict[str, np.ndarray]:
    missing = sorted(set(columns) - set(labels))
    if missing:
        raise DataError(f"validation labels lack the column(s) {missing} that training uses.")
    codes = {}
    for name, column in columns.items():
        if len(labels[name]) != rows:
            raise DataError(
                f"validation column {name!r} has {len(labels[name])} values for {rows} photos."
            )
        position: dict[str | None, int] = {v: code for code, v in enumerate(column.classes)}
        codes[name] = np.array(
            [position.get(_label(value), _IGNORED) for value in labels[name]], np.int64
        )
    return codes


def _label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


_GPU_IMAGE_SIZE = 224
_CPU_IMAGE_SIZES = (64, 224)  # the automatic size on a CPU stays within these
_SIZE_SAMPLE = 200  # photos whose dimensions set the automatic size


def _resolved(settings: PhotoTuning, photos: Sequence[ImageInput]) -> tuple[PhotoTuning, int, str]:
    """``settings`` with the device and image size chosen (see :class:`PhotoTuning`), then
    that size and device."""
    import torch

    device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
    size = settings.image_size
    if size is None:
        size = _GPU_IMAGE_SIZE if device != "cpu" else _cpu_image_size(photos)
    return replace(settings, device=device, image_size=size), size, device


def _cpu_image_size(photos: Sequence[ImageInput]) -> int:
    """The photos' median longer side (over an even sample), rounded up to a multiple of 32
    and kept within :data:`_CPU_IMAGE_SIZES`."""
    from furima.features._images import image_dimensions

    step = max(1, len(photos) // _SIZE_SAMPLE)
    sides = [
        max(image_dimensions(photos[i], name=f"photo {i}")) for i in range(0, len(photos), step)
    ]
    rounded = -(-int(np.median(sides)) // 32) * 32
    low, high = _CPU_IMAGE_SIZES
    return int(min(max(rounded, low), high))


def _decode_all(photos: Sequence[ImageInput], size: int, bar: Any, step: str) -> np.ndarray:
    """All photos as one ``(n, size, size, 3)`` uint8 array, decoded on every core."""
    import os

    from furima.features._images import decode_image

    out = np.empty((len(photos), size, size, 3), np.uint8)
    bar.start(step, total=len(photos))

    def decode(position: int) -> None:
        out[position] = decode_image(photos[position], size=size, name=f"photo {position}")

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for done, _ in enumerate(pool.map(decode, range(len(photos))), start=1):
            if done % 256 == 0 or done == len(photos):
                bar.update(done)
    return out


def _train(
    pixels: np.ndarray,
    columns: Mapping[str, _Labels],
    settings: PhotoTuning,
    device: str,
    bar: Any,
) -> Any:
    import torch

    torch.manual_seed(settings.seed)
    model = _headed_backbone({name: len(c.classes) for name, c in columns.items()})
    model = model.to(device).to(memory_format=torch.channels_last).train()
    images = torch.from_numpy(pixels).to(device)
    targets = {name: torch.from_numpy(c.codes).to(device) for name, c in columns.items()}
    steps_per_epoch = max(1, len(pixels) // settings.batch_size)
    optimiser = torch.optim.AdamW(
        model.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        fused=True,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, _warm_cosine(steps_per_epoch, steps_per_epoch * settings.epochs)
    )
    loss_of = torch.nn.CrossEntropyLoss(
        ignore_index=_IGNORED, label_smoothing=settings.label_smoothing
    )
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    bar.start("Tuning the photo backbone", total=settings.epochs * steps_per_epoch)
    for epoch in range(settings.epochs):
        order = torch.randperm(len(pixels), device=device, generator=generator)
        for step in range(steps_per_epoch):
            rows = order[step * settings.batch_size : (step + 1) * settings.batch_size]
            batch = _augment(_network_input(images[rows]), settings.zoom, generator)
            with _autocast(device):
                outputs = model(batch)
                loss = sum(loss_of(outputs[name], targets[name][rows]) for name in columns)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            bar.update(epoch * steps_per_epoch + step + 1)
    return model.eval()


def _warm_cosine(warmup: int, total: int) -> Any:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return factor


def _network_input(batch: torch.Tensor) -> torch.Tensor:
    """uint8 ``(n, S, S, 3)`` to the float ``(n, 3, S, S)`` in [-1, 1] that PhotoEncoder feeds."""
    import torch

    scaled = batch.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return scaled.contiguous(memory_format=torch.channels_last)


def _augment(batch: torch.Tensor, zoom: float, generator: torch.Generator) -> torch.Tensor:
    """A random square crop of each photo (side ``zoom``..1 of the photo), resized back, and
    flipped left-right half of the time: one affine resampling on the device."""
    import torch
    import torch.nn.functional as F

    n = len(batch)
    uniform = torch.rand(n, 3, device=batch.device, generator=generator)
    scale = zoom + (1.0 - zoom) * uniform[:, 0]
    shift = (1.0 - scale)[:, None] * (2.0 * uniform[:, 1:] - 1.0)
    flip = torch.where(torch.rand(n, device=batch.device, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3, device=batch.device)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.contiguous(memory_format=torch.channels_last)


def _autocast(device: str) -> Any:
    import contextlib

    import torch

    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _headed_backbone(classes: Mapping[str, int]) -> Any:
    """The pooled EfficientNet-Lite0 with one dropout + linear head per label column."""
    import torch

    from furima.features._photo import FEATURE_DIM, pooled_backbone, weights_path

    class Headed(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.backbone = pooled_backbone(weights_path())
            self.heads = torch.nn.ModuleDict(
                {
                    name: torch.nn.Sequential(
                        torch.nn.Dropout(0.2), torch.nn.Linear(FEATURE_DIM, count)
                    )
                    for name, count in classes.items()
                }
            )

        def forward(self, pixels: torch.Tensor) -> dict[str, torch.Tensor]:
            features = self.backbone(pixels)
            return {name: head(features) for name, head in self.heads.items()}

    return Headed()


def _accuracy(
    model: Any, pixels: np.ndarray, codes: Mapping[str, np.ndarray], device: str
) -> dict[str, float]:
    """Top-1 accuracy of each head on the held-out photos that have a value in its column."""
    import torch

    right = dict.fromkeys(codes, 0)
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(pixels), 256):
            batch = _network_input(torch.from_numpy(pixels[start : start + 256]).to(device))
            outputs = model(batch)
            for name, column in codes.items():
                truth = torch.from_numpy(column[start : start + 256]).to(device)
                right[name] += int((outputs[name].argmax(dim=1) == truth).sum())
    return {
        name: round(right[name] / max(1, int((column != _IGNORED).sum())), 4)
        for name, column in codes.items()
    }


def _manifest(
    pixels: np.ndarray,
    columns: Mapping[str, _Labels],
    settings: PhotoTuning,
    accuracy: dict[str, float],
    device: str,
    started: float,
) -> dict[str, Any]:
    from furima._artifacts import library_versions
    from furima.features._photo import FEATURE_DIM

    fingerprint = hashlib.sha256(np.ascontiguousarray(pixels[:, ::8, ::8]).tobytes())
    for name, column in columns.items():
        fingerprint.update(name.encode())
        fingerprint.update(column.codes.tobytes())
    return {
        "format": TUNED_BACKBONE.format,
        "format_version": TUNED_BACKBONE.version,
        "base": "efficientnet-lite0",
        "dim": FEATURE_DIM,
        "image_size": settings.image_size,
        "labels": {name: column.classes for name, column in columns.items()},
        "settings": asdict(settings),
        "rows": len(pixels),
        "validation_top1": accuracy,
        "device": device,
        "fit_s": round(time.perf_counter() - started, 1),
        "data_fingerprint": fingerprint.hexdigest()[:16],
        "versions": library_versions(("torch",)),
    }
