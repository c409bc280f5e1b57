"""Reading and checking a policy file (TOML or YAML) into plain, validated records.

This module knows file formats and line numbers, not :class:`~furima.safety.Policy`: it turns
text into a list of dicts with checked values (and the line each policy starts on), and every
problem into a :class:`~furima.exceptions.PolicyError` naming the line and how to fix it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from furima.exceptions import PolicyError

__all__ = ["DEFAULT_DESCRIPTIONS", "FORMATS", "POLICY_KEYS", "check_records", "read_records"]

FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
POLICY_KEYS = (
    "name",
    "description",
    "kind",
    "examples",
    "keywords",
    "patterns",
    "action",
    "threshold",
)
_TOP_KEYS = ("policy",)
_KINDS = ("text", "nsfw_photo", "product_photo", "duplicate", "price")
_ACTIONS = ("block", "review", "allow")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
DEFAULT_DESCRIPTIONS = {
    "nsfw_photo": "The photo shows nudity or sexual content.",
    "product_photo": "The photo does not show a product (a screenshot, a selfie, a blank or "
    "unrelated picture).",
    "duplicate": "The same item is listed more than once (the same photo, text or product as "
    "another listing).",
    "price": "The price is far from what similar items sell for (a price far too low is a "
    "common sign of a scam).",
}


class Locator(Protocol):
    """Where things are in the file, as 1-based line numbers (``None`` when unknown)."""

    def top_line(self, key: str) -> int | None: ...

    def policy_line(self, index: int) -> int | None: ...

    def key_line(self, index: int, key: str) -> int | None: ...

    def item_line(self, index: int, key: str, position: int, value: str) -> int | None: ...


class NoLines:
    """A locator for records that come from no file (``PolicySet.from_dict``)."""

    def top_line(self, key: str) -> int | None:
        return None

    def policy_line(self, index: int) -> int | None:
        return None

    def key_line(self, index: int, key: str) -> int | None:
        return None

    def item_line(self, index: int, key: str, position: int, value: str) -> int | None:
        return None


def read_records(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The checked policy records of the file at ``path`` and the file's text."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PolicyError(
            f"policy files must end in .toml, .yaml or .yml, got {path.suffix or 'no suffix'!r}.",
            file=str(path),
        )
    if not path.is_file():
        raise PolicyError("policy file not found; check the path.", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(
            f"cannot read the policy file ({error}); it must be readable UTF-8 text.",
            file=str(path),
        ) from error
    return parse_records(text, fmt=fmt, source=str(path)), text


def parse_records(text: str, *, fmt: str, source: str) -> list[dict[str, Any]]:
    """Parse ``text`` (``fmt`` ``toml`` or ``yaml``) and check it; see :func:`check_records`."""
    if fmt == "toml":
        data, locator = _parse_toml(text, source)
    elif fmt == "yaml":
        data, locator = _parse_yaml(text, source)
    else:
        raise PolicyError(f"unknown policy format {fmt!r}; use 'toml' or 'yaml'.", file=source)
    return check_records(data, locator, source)


def check_records(data: Any, locator: Locator, source: str) -> list[dict[str, Any]]:
    """Checked policy records (keys of :data:`POLICY_KEYS` plus ``line``) from parsed data."""
    if data is None:  # an empty YAML file
        data = {}
    if not isinstance(data, Mapping):
        raise PolicyError(
            f"a policy file holds a list named 'policy', got a {type(data).__name__} at the top.",
            file=source,
            line=1,
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise PolicyError(
                f"unknown top-level key {key!r}{_suggest(str(key), _TOP_KEYS)} A policy file "
                "holds only a list of policies: [[policy]] tables in TOML, 'policy:' in YAML.",
                file=source,
                line=locator.top_line(str(key)),
            )
    raw = data.get("policy")
    if raw is None or (isinstance(raw, list) and not raw):
        raise PolicyError(
            "the file defines no policies; add at least one [[policy]] table (TOML) or an "
            "item under 'policy:' (YAML) with a name and a description.",
            file=source,
            line=locator.top_line("policy"),
        )
    if not isinstance(raw, list):
        raise PolicyError(
            f"'policy' must be a list of policies, got a {type(raw).__name__}; in TOML write "
            "each policy as a [[policy]] table.",
            file=source,
            line=locator.top_line("policy"),
        )
    records = [_check_policy(item, i, locator, source) for i, item in enumerate(raw)]
    _check_unique(records, source)
    return records


def _check_policy(item: Any, index: int, locator: Locator, source: str) -> dict[str, Any]:
    line = locator.policy_line(index)

    def fail(message: str, key: str | None = None) -> PolicyError:
        where = locator.key_line(index, key) if key else None
        return PolicyError(message, file=source, line=where or line)

    if not isinstance(item, Mapping):
        raise fail(f"policy {index + 1} must be a table of keys, got a {type(item).__name__}.")
    if not item:
        raise fail(f"policy {index + 1} is empty; give it at least a name and a description.")
    for key in item:
        if key not in POLICY_KEYS:
            raise fail(
                f"unknown key {key!r} in policy {index + 1}{_suggest(str(key), POLICY_KEYS)} "
                f"Allowed keys: {', '.join(sorted(POLICY_KEYS))}.",
                str(key),
            )
    name = _check_name(item.get("name"), index, fail)
    kind = _check_choice(item.get("kind", "text"), "kind", _KINDS, name, fail)
    record: dict[str, Any] = {
        "name": name,
        "description": _check_description(item.get("description"), kind, name, fail),
        "kind": kind,
        "action": _check_choice(item.get("action", "review"), "action", _ACTIONS, name, fail),
        "threshold": _check_threshold(item.get("threshold", 0.5), name, fail),
        "line": line,
    }
    for key in ("examples", "keywords", "patterns"):
        record[key] = _check_strings(item.get(key, []), key, name, fail)
    _check_patterns(record["patterns"], index, name, locator, source)
    return record


def _check_name(value: Any, index: int, fail: Any) -> str:
    if value is None:
        raise fail(f"policy {index + 1} has no name; add name = \"...\" (e.g. 'spam_scam').")
    if not isinstance(value, str) or not _NAME.match(value):
        raise fail(
            f"bad policy name {value!r}: a name is lower-case letters, digits and '_', "
            "starting with a letter (e.g. 'counterfeit').",
            "name",
        )
    return value


def _check_description(value: Any, kind: str, name: str, fail: Any) -> str:
    if value is None:
        if kind != "text":
            return DEFAULT_DESCRIPTIONS[kind]
        raise fail(
            f"policy {name!r} has no description; a text policy needs one: say in plain words "
            "what breaks it (zero-shot scoring compares listings with it).",
        )
    if not isinstance(value, str) or not value.strip():
        raise fail(f"the description of policy {name!r} must be non-empty text.", "description")
    return value.strip()


def _check_choice(value: Any, key: str, allowed: Sequence[str], name: str, fail: Any) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise fail(
            f"bad {key} {value!r} in policy {name!r}; use one of: {', '.join(allowed)}.", key
        )
    return value


def _check_threshold(value: Any, name: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(
            f"the threshold of policy {name!r} must be a number between 0 and 1, got {value!r}.",
            "threshold",
        )
    if not 0.0 < float(value) < 1.0:
        raise fail(
            f"the threshold of policy {name!r} must lie strictly between 0 and 1, got {value}.",
            "threshold",
        )
    return float(value)


def _check_strings(value: Any, key: str, name: str, fail: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise fail(
            f"{key} of policy {name!r} must be a list of strings; write {key} = [{value!r}].",
            key,
        )
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(
            f"{key} of policy {name!r} must be a list of non-empty strings, got {value!r}.", key
        )
    return tuple(v.strip() for v in value)


def _check_patterns(
    patterns: Sequence[str], index: int, name: str, locator: Locator, source: str
) -> None:
    for position, pattern in enumerate(patterns):
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            line = locator.item_line(index, "patterns", position, pattern)
            raise PolicyError(
                f"pattern {pattern!r} of policy {name!r} does not compile: {error}. Fix the "
                "regular expression (Python syntax; escape literal characters such as '(' "
                "with '\\').",
                file=source,
                line=line or locator.key_line(index, "patterns") or locator.policy_line(index),
            ) from error


def _check_unique(records: list[dict[str, Any]], source: str) -> None:
    seen: dict[str, int | None] = {}
    for record in records:
        name = record["name"]
        if name in seen:
            first = f" (first at line {seen[name]})" if seen[name] else ""
            raise PolicyError(
                f"policy name {name!r} is used twice{first}; give every policy its own name.",
                file=source,
                line=record["line"],
            )
        seen[name] = record["line"]


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else "."


def _parse_toml(text: str, source: str) -> tuple[Any, Locator]:
    import tomllib

    from furima.safety._policy_lines import TomlLines

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        line = int(found.group(1)) if found else max(1, text.count("\n") + 1)
        raise PolicyError(
            f"not valid TOML: {error}. Fix the syntax at that line.", file=source, line=line
        ) from error
    return data, TomlLines(text)


def _parse_yaml(text: str, source: str) -> tuple[Any, Locator]:
    import yaml

    from furima.safety._policy_lines import YamlLines

    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise PolicyError(
            f"not valid YAML: {problem}. Fix the syntax at that line.",
            file=source,
            line=mark.line + 1 if mark is not None else None,
        ) from error
    return data, YamlLines(node, source)
