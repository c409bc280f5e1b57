"""Line numbers of policies and keys in a policy file, for error messages.

TOML's parser keeps no positions, so :class:`TomlLines` scans the text: the n-th ``[[policy]]``
header starts the n-th policy, and a key's line is the first ``key =`` inside that block.
YAML's composer keeps every node's position, so :class:`YamlLines` reads them off the node tree.
"""

from __future__ import annotations

import json
import re
from typing import Any

from furima.exceptions import PolicyError

__all__ = ["TomlLines", "YamlLines"]

_TOML_POLICY_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(?:policy|\"policy\"|'policy')[ \t]*\]\]")
_TOML_ANY_HEADER = re.compile(r"^[ \t]*\[")


class TomlLines:
    """Where policies and keys are in TOML text (1-based lines)."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._headers = [i for i, line in enumerate(self._lines) if _TOML_POLICY_HEADER.match(line)]
        tables = [i for i, line in enumerate(self._lines) if _TOML_ANY_HEADER.match(line)]
        self._first_table = tables[0] if tables else len(self._lines)

    def top_line(self, key: str) -> int | None:
        top = _key_pattern(key)
        table = re.compile(rf"^[ \t]*\[\[?[ \t]*{_key_alternatives(key)}[ \t]*[\].]")
        for number, line in enumerate(self._lines):
            if table.match(line):
                return number + 1
            if number < self._first_table and top.match(line):
                return number + 1
        return None

    def policy_line(self, index: int) -> int | None:
        if index < len(self._headers):
            return self._headers[index] + 1
        return self.top_line("policy")  # inline tables: policy = [{...}, ...]

    def key_line(self, index: int, key: str) -> int | None:
        if index >= len(self._headers):
            return None
        pattern = _key_pattern(key)
        for number in self._block(index):
            if pattern.match(self._lines[number]):
                return number + 1
        return None

    def item_line(self, index: int, key: str, position: int, value: str) -> int | None:
        start = self.key_line(index, key)
        if start is None:
            return None
        spellings = (value, json.dumps(value, ensure_ascii=False)[1:-1])
        for number in self._block(index):
            if number + 1 >= start and any(s in self._lines[number] for s in spellings):
                return number + 1
        return start

    def _block(self, index: int) -> range:
        start = self._headers[index]
        end = start + 1
        while end < len(self._lines) and not _TOML_ANY_HEADER.match(self._lines[end]):
            end += 1
        return range(start + 1, end)


def _key_alternatives(key: str) -> str:
    escaped = re.escape(key)
    return rf"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*{_key_alternatives(key)}[ \t]*=")


class YamlLines:
    """Where policies and keys are in a composed YAML document (1-based lines).

    Also rejects a key written twice in one mapping, which YAML loaders accept silently
    (the last value wins) but which is always a mistake in a policy file.
    """

    def __init__(self, root: Any, source: str) -> None:
        self._root = root
        _reject_duplicate_keys(root, source)

    def top_line(self, key: str) -> int | None:
        found = _entry(self._root, key)
        return found[0].start_mark.line + 1 if found else None

    def policy_line(self, index: int) -> int | None:
        item = self._policy_node(index)
        return item.start_mark.line + 1 if item is not None else self.top_line("policy")

    def key_line(self, index: int, key: str) -> int | None:
        found = _entry(self._policy_node(index), key)
        return found[0].start_mark.line + 1 if found else None

    def item_line(self, index: int, key: str, position: int, value: str) -> int | None:
        found = _entry(self._policy_node(index), key)
        if not found:
            return None
        items = getattr(found[1], "value", None)
        if isinstance(items, list) and position < len(items):
            return int(items[position].start_mark.line) + 1
        return int(found[0].start_mark.line) + 1

    def _policy_node(self, index: int) -> Any:
        found = _entry(self._root, "policy")
        items = getattr(found[1], "value", None) if found else None
        if isinstance(items, list) and index < len(items):
            return items[index]
        return None


def _entry(node: Any, key: str) -> tuple[Any, Any] | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key:
            return key_node, value_node
    return None


def _reject_duplicate_keys(node: Any, source: str) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                raise PolicyError(
                    f"key {key_node.value!r} is written twice in one mapping; keep one.",
                    file=source,
                    line=key_node.start_mark.line + 1,
                )
            seen.add(key_node.value)
            _reject_duplicate_keys(value_node, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)
