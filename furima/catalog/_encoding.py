"""Undecodable bytes: keep them visible instead of crashing or silently replacing them.

Text is decoded with the ``"furima-undecodable"`` error handler, which maps each byte that is
not valid UTF-8 to a private-use character (``U+10FF80``-``U+10FFFF``, one per byte). The
validator then finds those characters, names the row and column, and the rejects file shows
the original bytes as ``\\xNN``.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

__all__ = [
    "ERROR_HANDLER",
    "UNDECODABLE_PATTERN",
    "decode",
    "fix_surrogates",
    "is_valid_utf8",
    "show_bytes",
    "undecodable_bytes",
]

ERROR_HANDLER = "furima-undecodable"
_BASE = 0x10FF00
UNDECODABLE_PATTERN = "[\U0010ff80-\U0010ffff]"
_UNDECODABLE_RE = re.compile(UNDECODABLE_PATTERN)
_CHUNK_BYTES = 8 << 20


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(_BASE + byte) for byte in bad), error.end


codecs.register_error(ERROR_HANDLER, _mark_undecodable)


def decode(raw: bytes) -> str:
    """Decode UTF-8, marking undecodable bytes instead of raising."""
    return raw.decode("utf-8", ERROR_HANDLER)


def is_valid_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (streamed, constant memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def fix_surrogates(text: str) -> str:
    """Turn lone surrogates (``surrogateescape`` output) into marked bytes."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return decode(raw)


def show_bytes(text: str) -> str:
    """Replace marked bytes with ``\\xNN`` escapes for display."""
    return _UNDECODABLE_RE.sub(_escape, text)


def undecodable_bytes(text: str) -> str:
    """The marked bytes in ``text`` as ``\\xNN`` escapes, e.g. ``"\\xe9"``."""
    return "".join(_escape(match) for match in _UNDECODABLE_RE.finditer(text))


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()) - _BASE:02x}"
