"""Policy files: TOML and YAML load into a PolicySet; every mistake names its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from furima.exceptions import PolicyError
from furima.safety._policies import (
    Policy,
    PolicyKind,
    PolicySet,
    load_policies,
    parse_policies,
)
from furima.safety._results import Action

DEFAULT = Path(__file__).parents[2] / "furima" / "safety" / "policies" / "default.toml"

GOOD_TOML = """\
# marketplace rules
[[policy]]
name = "counterfeit"
description = "Fake or replica branded goods."
examples = ["Super copy watch", "ブランド財布 コピー品"]
keywords = ["replica", "偽物"]
patterns = ['\\b1:1\\b']
action = "block"
threshold = 0.7

[[policy]]
name = "adult_photo"
kind = "nsfw_photo"
action = "block"
threshold = 0.8
"""

GOOD_YAML = """\
policy:
  - name: counterfeit
    description: Fake or replica branded goods.
    examples: ["Super copy watch", "ブランド財布 コピー品"]
    keywords: [replica, 偽物]
    patterns: ['\\b1:1\\b']
    action: block
    threshold: 0.7
  - name: adult_photo
    kind: nsfw_photo
    action: block
    threshold: 0.8
"""


@pytest.mark.parametrize("fmt, text", [("toml", GOOD_TOML), ("yaml", GOOD_YAML)])
def test_good_file_loads_with_values_defaults_and_lines(fmt: str, text: str) -> None:
    policies = parse_policies(text, fmt=fmt, source=f"rules.{fmt}")
    assert policies.names == ("counterfeit", "adult_photo")
    counterfeit = policies["counterfeit"]
    assert counterfeit.kind is PolicyKind.TEXT
    assert counterfeit.examples == ("Super copy watch", "ブランド財布 コピー品")
    assert counterfeit.keywords == ("replica", "偽物")
    assert counterfeit.patterns == (r"\b1:1\b",)
    assert (counterfeit.action, counterfeit.threshold) == (Action.BLOCK, 0.7)
    assert counterfeit.line == 2
    photo = policies["adult_photo"]
    assert photo.line == (11 if fmt == "toml" else 9)
    assert photo.description == "The photo shows nudity or sexual content."  # default
    assert policies.of_kind("nsfw_photo") == (photo,)
    assert policies.of_kind(PolicyKind.TEXT) == (counterfeit,)
    assert len(policies) == 2 and list(policies) == [counterfeit, photo]
    assert "adult_photo" in policies and policies.source == f"rules.{fmt}"


def test_files_load_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(GOOD_TOML, encoding="utf-8")
    (tmp_path / "rules.yml").write_text(GOOD_YAML, encoding="utf-8")
    from_toml = load_policies(tmp_path / "rules.toml")
    from_yaml = load_policies(str(tmp_path / "rules.yml"))
    assert from_toml.policies[0].keywords == from_yaml.policies[0].keywords
    assert from_toml.source == str(tmp_path / "rules.toml")


def test_dict_round_trip_keeps_everything() -> None:
    policies = parse_policies(GOOD_TOML, fmt="toml", source="rules.toml")
    assert PolicySet.from_dict(policies.to_dict()) == policies


def test_unknown_policy_name_lists_the_known_ones() -> None:
    policies = parse_policies(GOOD_TOML, fmt="toml")
    with pytest.raises(KeyError, match="no policy named 'spam'; the policies are counterfeit"):
        policies["spam"]


def test_default_policy_file_loads() -> None:
    policies = load_policies(DEFAULT)
    assert policies.names == (
        "spam_scam",
        "weapons",
        "drugs",
        "counterfeit",
        "off_platform",
        "adult_photo",
        "not_a_product_photo",
        "duplicate_listing",
        "price_anomaly",
    )
    assert policies["adult_photo"].kind is PolicyKind.NSFW_PHOTO
    assert (policies["adult_photo"].action, policies["adult_photo"].threshold) == (
        Action.BLOCK,
        0.8,
    )
    assert policies["not_a_product_photo"].kind is PolicyKind.PRODUCT_PHOTO
    assert policies["duplicate_listing"].kind is PolicyKind.DUPLICATE
    assert policies["price_anomaly"].kind is PolicyKind.PRICE
    assert "偽物" in policies["counterfeit"].keywords
    assert "現金のみ" in policies["off_platform"].keywords
    assert all(p.line for p in policies)


def _error(text: str, fmt: str = "toml") -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policies(text, fmt=fmt, source=f"p.{fmt}")
    return str(caught.value)


POLICY = '[[policy]]\nname = "spam"\ndescription = "Spam."\n'


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            POLICY + '\n[[policy]]\nname = "scam"\ndescription = "x"\ntreshold = 0.3\n',
            "file 'p.toml': line 8: unknown key 'treshold' in policy 2; did you mean "
            "'threshold'? Allowed keys: action, description, examples, keywords, kind, name, "
            "patterns, threshold.",
        ),
        (
            "policies = 1\n" + POLICY,
            "file 'p.toml': line 1: unknown top-level key 'policies'; did you mean 'policy'?",
        ),
        (POLICY + "\n[[policy]]\n", "line 5: policy 2 is empty; give it at least a name"),
        (
            POLICY + '\n[[policy]]\ndescription = "x"\n',
            "line 5: policy 2 has no name; add name",
        ),
        (
            POLICY + '\n[[policy]]\nname = "scam"\n',
            "line 5: policy 'scam' has no description; a text policy needs one",
        ),
        (
            POLICY + '\n[[policy]]\nname = "spam"\ndescription = "again"\n',
            "line 5: policy name 'spam' is used twice (first at line 1); give every policy "
            "its own name.",
        ),
        (
            POLICY + '\n[[policy]]\nname = "Bad Name"\ndescription = "x"\n',
            "line 6: bad policy name 'Bad Name': a name is lower-case letters",
        ),
        (
            POLICY + 'patterns = [\n  "ok",\n  "(unclosed",\n]\n',
            "line 6: pattern '(unclosed' of policy 'spam' does not compile: missing ), "
            "unterminated subpattern at position 0.",
        ),
        (POLICY + "threshold = 1.5\n", "line 4: the threshold of policy 'spam' must lie "),
        (POLICY + "threshold = 0\n", "line 4: the threshold of policy 'spam' must lie "),
        (POLICY + 'threshold = "high"\n', "line 4: the threshold of policy 'spam' must be a "),
        (
            POLICY + 'action = "delete"\n',
            "line 4: bad action 'delete' in policy 'spam'; use one of: block, review, allow.",
        ),
        (
            POLICY + 'kind = "image"\n',
            "line 4: bad kind 'image' in policy 'spam'; use one of: text, nsfw_photo",
        ),
        (
            POLICY + 'keywords = "replica"\n',
            "line 4: keywords of policy 'spam' must be a list of strings; write keywords = "
            "['replica'].",
        ),
        (POLICY + "examples = [1, 2]\n", "line 4: examples of policy 'spam' must be a list of "),
        ("# nothing here\n", "the file defines no policies; add at least one [[policy]]"),
        (POLICY + "threshold = \n", "line 4: not valid TOML: Invalid value (at line 4"),
    ],
)
def test_bad_toml_names_the_line_and_the_problem(text: str, expected: str) -> None:
    assert expected in _error(text)


YAML_POLICY = "policy:\n  - name: spam\n    description: Spam.\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            YAML_POLICY + "    treshold: 0.3\n",
            "file 'p.yaml': line 4: unknown key 'treshold' in policy 1; did you mean 'threshold'?",
        ),
        (
            YAML_POLICY + "  - name: scam\n    description: x\n    patterns:\n      - ok\n"
            "      - '[a-'\n",
            "line 8: pattern '[a-' of policy 'scam' does not compile: unterminated character "
            "set at position 0.",
        ),
        (YAML_POLICY + "  - {}\n", "line 4: policy 2 is empty"),
        (YAML_POLICY + "  - name: spam\n    description: x\n", "line 4: policy name 'spam' is"),
        (YAML_POLICY + "    threshold: 2\n", "line 4: the threshold of policy 'spam' must lie"),
        (YAML_POLICY + "    name: again\n", "line 4: key 'name' is written twice"),
        ("policies:\n  - name: x\n", "line 1: unknown top-level key 'policies'"),
        ("policy: spam\n", "line 1: 'policy' must be a list of policies"),
        ("policy:\n  - name: [x\n", "not valid YAML: expected ',' or ']'"),
        ("", "the file defines no policies"),
        ("- name: x\n", "line 1: a policy file holds a list named 'policy', got a list"),
    ],
)
def test_bad_yaml_names_the_line_and_the_problem(text: str, expected: str) -> None:
    assert expected in _error(text, "yaml")


def test_yaml_syntax_error_names_its_line() -> None:
    message = _error("policy:\n  - name: spam\n    description: [x\n    action: block\n", "yaml")
    assert re.search(r"line \d+: not valid YAML", message)


def test_missing_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found; check the path"):
        load_policies(tmp_path / "nope.toml")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(PolicyError, match=r"must end in \.toml, \.yaml or \.yml, got '\.json'"):
        load_policies(tmp_path / "p.json")
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(PolicyError, match=r"cannot read the policy file .* readable UTF-8"):
        load_policies(tmp_path / "bad.toml")


def test_error_carries_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(POLICY + "action = 'nuke'\n")
    with pytest.raises(PolicyError) as caught:
        load_policies(path)
    assert (caught.value.file, caught.value.line) == (str(path), 4)


def test_policy_set_from_policies_in_code() -> None:
    policy = Policy(name="spam", description="Spam.")
    assert PolicySet((policy,)).names == ("spam",)
    with pytest.raises(PolicyError, match="policy names must be unique, but 'spam' appear"):
        PolicySet((policy, policy), source="code")
