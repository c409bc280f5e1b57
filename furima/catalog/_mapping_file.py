"""What listing and interaction column mappings share: reading one from JSON, checking a file's
columns against it, and turning any accepted form (preset name, dict, JSON path) into one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Self, TypeVar

from furima.exceptions import SchemaError

__all__ = ["MappingFile", "resolve_mapping"]


class MappingFile:
    """A column mapping built from a dict, and so from a JSON file holding that dict."""

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        """Build from the mapping's JSON form."""
        raise NotImplementedError

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, without repeats."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, path: str | Path) -> Self:
        """Read a mapping from a JSON file holding one object (see :meth:`from_dict`)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError("mapping file not found; check the path.", file=str(path)) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaError(f"cannot read the mapping as JSON: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise SchemaError(
                f"a mapping file must hold one JSON object, got {type(data).__name__}.",
                file=str(path),
            )
        try:
            return cls.from_dict(data)
        except SchemaError as exc:
            raise SchemaError(str(exc), file=str(path)) from None

    def check_columns(self, columns: Iterable[str], *, file: str) -> None:
        """Raise SchemaError naming the mapped columns that ``columns`` lacks."""
        present = [str(column) for column in columns]
        missing = [column for column in self.source_columns() if column not in present]
        if missing:
            raise SchemaError(
                f"the mapping needs columns {missing} that the file does not have; "
                f"the file has {present}. Fix the mapping or pass another one.",
                file=file,
            )


M = TypeVar("M", bound=MappingFile)


def resolve_mapping(
    mapping: M | Mapping[str, object] | str | Path | None,
    columns: Iterable[str],
    *,
    file: str,
    kind: type[M],
    detect: Callable[[list[str]], M],
    preset: Callable[[str, list[str]], M],
    fit_to_file: Callable[[M, list[str]], M] | None = None,
) -> M:
    """Any accepted form of ``mapping`` checked against the file's ``columns``.

    ``None`` detects it from the columns; a ``kind`` instance is used as is; a dict is its
    JSON form; a :class:`~pathlib.Path` or a string ending in ``.json`` is a JSON file; any
    other string names a preset. ``fit_to_file`` may drop optional fields the file lacks
    before the columns are checked.
    """
    present = [str(column) for column in columns]
    if mapping is None:
        resolved = detect(present)
    elif isinstance(mapping, kind):
        resolved = mapping
    elif isinstance(mapping, Mapping):
        resolved = kind.from_dict(mapping)
    elif isinstance(mapping, Path) or str(mapping).lower().endswith(".json"):
        resolved = kind.from_json(str(mapping))
    else:
        resolved = preset(str(mapping), present)
    if fit_to_file is not None:
        resolved = fit_to_file(resolved, present)
    resolved.check_columns(present, file=file)
    return resolved
