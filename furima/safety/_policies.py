"""Policies as data: the marketplace's rules, each with a description, examples, rules, an
action and a threshold."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from furima.exceptions import PolicyError
from furima.safety._results import Action

__all__ = [
    "Policy",
    "PolicyKind",
    "PolicySet",
    "default_policies",
    "load_policies",
    "parse_policies",
]


class PolicyKind(StrEnum):
    """Which check scores a policy."""

    TEXT = "text"  # rules, a classifier on labelled listings, zero-shot similarity
    NSFW_PHOTO = "nsfw_photo"  # open_nsfw on the listing's photo
    PRODUCT_PHOTO = "product_photo"  # the photo is not like any product photo in the catalog
    DUPLICATE = "duplicate"  # the same photo, text or product as another listing
    PRICE = "price"  # price far outside the price model's interval


@dataclass(frozen=True)
class Policy:
    """One rule of the marketplace.

    Attributes:
        name: Short id (``[a-z][a-z0-9_]*``), used in results, the queue and labels.
        description: What breaks the policy, in plain words (any language).
        kind: Which check scores it.
        examples: Listings texts that break it (zero-shot evidence before labels exist).
        keywords: Words or phrases that match case-insensitively as whole words.
        patterns: Regular expressions (Python syntax, case-insensitive).
        action: What happens to a listing whose score reaches ``threshold``.
        threshold: Score in (0, 1) at which the action applies.
        line: The line of the policy file where the policy starts (for messages).
    """

    name: str
    description: str
    kind: PolicyKind = PolicyKind.TEXT
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    action: Action = Action.REVIEW
    threshold: float = 0.5
    line: int | None = None


@dataclass(frozen=True)
class PolicySet:
    """The policies of one marketplace, in file order, with where they came from.

    Attributes:
        policies: The policies; names are unique.
        source: The file they were read from (``<string>`` when parsed from text).
    """

    policies: tuple[Policy, ...]
    source: str = "<string>"

    def __post_init__(self) -> None:
        names = [policy.name for policy in self.policies]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise PolicyError(
                f"policy names must be unique, but {', '.join(map(repr, twice))} appear more "
                "than once; give every policy its own name.",
                file=self.source,
            )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(policy.name for policy in self.policies)

    def __getitem__(self, name: str) -> Policy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(f"no policy named {name!r}; the policies are {', '.join(self.names)}.")

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def of_kind(self, kind: PolicyKind | str) -> tuple[Policy, ...]:
        """The policies scored by one check (``kind`` as a :class:`PolicyKind` or its value)."""
        wanted = PolicyKind(kind)
        return tuple(policy for policy in self.policies if policy.kind == wanted)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, e.g. to save inside a model; :meth:`from_dict` reads it."""
        return {"source": self.source, "policy": [_policy_dict(p) for p in self.policies]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicySet:
        """The policy set :meth:`to_dict` wrote, checked as a policy file would be."""
        from furima.safety._policy_file import NoLines, check_records

        source = str(data.get("source", "<dict>"))
        lines = {entry.get("name"): entry.get("line") for entry in data.get("policy") or []}
        body = {"policy": [_without_line(entry) for entry in data.get("policy") or []]}
        records = check_records(body, NoLines(), source)
        for record in records:
            record["line"] = lines.get(record["name"])
        return _policy_set(records, source)


def load_policies(path: str | Path) -> PolicySet:
    """Read and check a policy file (``.toml``, ``.yaml`` or ``.yml``).

    Raises:
        PolicyError: The file is missing, unreadable or not valid TOML/YAML, or a policy in it
            is wrong (unknown key, missing name or description, duplicate name, bad regex,
            threshold outside (0, 1), unknown action or kind, ...); the message names the
            line and says how to fix it.
    """
    from furima.safety._policy_file import read_records

    records, _ = read_records(Path(path))
    return _policy_set(records, str(path))


def default_policies() -> PolicySet:
    """The policy file that ships with furima (``furima/safety/policies/default.toml``): spam
    and scams, weapons, drugs, counterfeits, taking the sale off the platform, adult photos,
    photos that are not product photos, duplicate listings and odd prices. A starting point to
    copy and edit."""
    return load_policies(Path(__file__).with_name("policies") / "default.toml")


def parse_policies(text: str, *, fmt: str, source: str = "<string>") -> PolicySet:
    """Check policies written as TOML (``fmt="toml"``) or YAML (``fmt="yaml"``) text."""
    from furima.safety._policy_file import parse_records

    return _policy_set(
        parse_records(text, fmt=fmt.lower().lstrip(".").replace("yml", "yaml"), source=source),
        source,
    )


def _policy_set(records: list[dict[str, Any]], source: str) -> PolicySet:
    policies = tuple(
        Policy(
            name=record["name"],
            description=record["description"],
            kind=PolicyKind(record["kind"]),
            examples=record["examples"],
            keywords=record["keywords"],
            patterns=record["patterns"],
            action=Action(record["action"]),
            threshold=record["threshold"],
            line=record["line"],
        )
        for record in records
    )
    return PolicySet(policies=policies, source=source)


def _policy_dict(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": policy.description,
        "kind": str(policy.kind),
        "examples": list(policy.examples),
        "keywords": list(policy.keywords),
        "patterns": list(policy.patterns),
        "action": str(policy.action),
        "threshold": policy.threshold,
        "line": policy.line,
    }


def _without_line(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {key: value for key, value in entry.items() if key != "line"}
    return entry
