"""Atomic folder saves with a checksummed JSON manifest.

A saved artifact is a folder reached through ``path``, a symlink to a hidden version folder
beside it (``.name@<pid>-xxxx``). Saving writes a new version folder, fsyncs it, and swaps the
link with one rename, so readers see the old artifact or the new one, never a mix, and a crash
at any point (even SIGKILL) leaves the previous artifact loadable. Version folders left behind
by a killed save are removed by the next successful save to the same path.

Price models, vector indexes and search pools all save this way; each describes itself and
the wording of its load errors with an :class:`ArtifactKind`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from furima.exceptions import ModelFormatError

__all__ = [
    "MANIFEST",
    "ArtifactKind",
    "check_files",
    "library_versions",
    "read_arrays",
    "read_manifest",
    "save_atomically",
    "sha256",
    "stamp",
    "write_file_atomically",
]

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ArtifactKind:
    """What a saved folder holds, and how errors on loading it read.

    Attributes:
        format: The manifest's ``format`` value.
        version: The newest ``format_version`` this furima reads.
        noun: What a folder without a manifest is not (``"furima price model"``).
        written_by: What writes a good folder (``"save()"``).
        too_new: Message tail for a newer format; ``{saved}`` and ``{supported}`` are filled in.
        damaged: What to do when a file fails its checksum.
        error: The exception raised.
        oldest: The oldest ``format_version`` this furima reads.
        too_old: Message tail for a format older than ``oldest``: why it is not read, and
            what to do.
    """

    format: str
    version: int
    noun: str
    written_by: str
    too_new: str
    damaged: str
    error: type[ModelFormatError] = ModelFormatError
    oldest: int = 1
    too_old: str = ""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions(libraries: tuple[str, ...]) -> dict[str, str]:
    """furima's version and each installed library's, for a manifest."""
    from importlib import metadata

    import furima

    return {"furima": furima.__version__} | {name: metadata.version(name) for name in libraries}


def stamp(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` into ``folder`` with the checksum of every file already there."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest["files"] = {str(p.relative_to(folder)): sha256(p) for p in files}
    manifest.setdefault("created_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))


def save_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(folder)`` on a fresh version folder, then point ``path`` at it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    version = Path(tempfile.mkdtemp(prefix=f".{path.name}@{os.getpid()}-", dir=path.parent))
    try:
        version.chmod(0o777 & ~_umask())
        write(version)
        _fsync_tree(version)
        _point(path, version)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    _remove_orphans(path, keep=version)
    return path


def write_file_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(file)`` on a temp file beside ``path``, then rename it to ``path``: never
    half a file, and nothing left behind when ``write`` fails. The file is readable by all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes 0600
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_tree(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            with file.open("rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _point(path: Path, version: Path) -> None:
    """Make ``path`` a symlink to ``version`` atomically and delete the version it replaced."""
    previous = path.resolve() if path.is_symlink() else None
    if path.exists() and not path.is_symlink():  # a plain folder, e.g. a copied index
        previous = Path(tempfile.mkdtemp(prefix=f".{path.name}@{os.getpid()}-", dir=path.parent))
        os.replace(path, previous)
    link = path.with_name(f".{path.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    try:
        os.replace(link, path)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    if previous is not None and previous != version.resolve():
        shutil.rmtree(previous, ignore_errors=True)


def _remove_orphans(path: Path, keep: Path) -> None:
    """Delete version folders of ``path`` left by saves whose process no longer runs."""
    for folder in path.parent.glob(f".{path.name}@*"):
        owner = folder.name.split("@", 1)[1].split("-", 1)[0]
        if folder != keep and owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_manifest(path: Path, kind: ArtifactKind) -> dict[str, Any]:
    """The manifest of a saved ``kind`` artifact, checked for format and version."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise kind.error(
            f"{str(path)!r} is not a {kind.noun}: it has no {MANIFEST}. Point at the folder "
            f"written by {kind.written_by}."
        )
    try:
        manifest: dict[str, Any] = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise kind.error(f"{str(file)!r} is not valid JSON ({error}).") from error
    if manifest.get("format") != kind.format:
        raise kind.error(
            f"{str(path)!r} holds a {manifest.get('format')!r} artifact, not a {kind.format!r}."
        )
    version = manifest.get("format_version")
    saved_by = manifest.get("versions", {}).get("furima", "an unknown version")
    if not isinstance(version, int) or version > kind.version:
        tail = kind.too_new.format(saved=version, supported=kind.version)
        raise kind.error(f"{str(path)!r} was saved by furima {saved_by} {tail}")
    if version < kind.oldest:
        raise kind.error(
            f"{str(path)!r} was saved by furima {saved_by} in format {version}, {kind.too_old}"
        )
    return manifest


def check_files(path: Path, manifest: dict[str, Any], kind: ArtifactKind) -> None:
    """Raise ``kind.error`` unless every file matches its manifest checksum."""
    for name, expected in manifest.get("files", {}).items():
        file = Path(path) / name
        if not file.is_file():
            raise kind.error(f"{str(path)!r} is incomplete: {name} is missing.")
        with contextlib.suppress(OSError):
            if sha256(file) == expected:
                continue
        raise kind.error(
            f"{str(file)!r} does not match its checksum in the manifest: {kind.damaged}"
        )


def read_arrays(file: Path, keys: tuple[str, ...], *, fix: str) -> dict[str, Any]:
    """The arrays of a saved ``.npz`` (never unpickled), or a :class:`ModelFormatError` that
    says what is wrong with the file; ``fix`` says how to make a good one ("save it again")."""
    import numpy as np

    if not file.is_file():
        raise ModelFormatError(f"{str(file)!r} is missing: {fix}.")
    try:
        with np.load(file, allow_pickle=False) as data:
            missing = [key for key in keys if key not in data.files]
            if missing:
                raise ModelFormatError(f"{str(file)!r} lacks {', '.join(missing)}: {fix}.")
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as error:
        raise ModelFormatError(f"{str(file)!r} is damaged ({error}); {fix}.") from error
