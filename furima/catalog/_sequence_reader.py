"""``read_sequences``: the public benchmarks' ``user item item ...`` files to Interactions.

One line per user: the user id, then the user's items in time order, separated by white space
(the format of the Amazon Beauty and Sports files of the sequential recommendation papers).
Each event's timestamp is its position in the line.
"""

from __future__ import annotations

from pathlib import Path

from furima.catalog import _encoding
from furima.catalog._interactions import Interactions
from furima.catalog._readers import _check_file
from furima.catalog._schema import Problem, shown
from furima.exceptions import EmptyDataError, ValidationError

__all__ = ["read_sequences"]

_SHOWN_PROBLEMS = 5
_HINT = (
    "Each line must be a user id, then that user's items in time order, separated by spaces; "
    "one line per user, no blank lines between them."
)


def read_sequences(path: str | Path) -> Interactions:
    """Read a ``user item item ...`` file (blank lines at the very end are ignored).

    Raises:
        DataError: The file is missing or not a file. EmptyDataError: it holds no lines.
        ValidationError: Blank lines between users, a user with no items, a user on two
            lines, or bytes that are not UTF-8; every problem with its 1-based line number.
    """
    path = Path(path)
    _check_file(path)
    sequences: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    blank: list[int] = []
    problems: list[Problem] = []
    n_lines = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = _encoding.decode(raw)
            fields = text.split()
            if not fields:
                blank.append(number)
                continue
            n_lines = number
            problem = _problem(number, text, fields, first_line)
            first_line.setdefault(fields[0], number)
            if problem:
                problems.append(Problem(number, "", problem))
            else:
                sequences[fields[0]] = fields[1:]
    problems += [Problem(n, "", "line is blank") for n in blank if n < n_lines]
    if problems:
        raise _error(sorted(problems), n_lines, str(path))
    if not sequences:
        raise EmptyDataError("the file holds only blank lines.", file=str(path))
    return Interactions.from_sequences(sequences)


def _problem(number: int, text: str, fields: list[str], first_line: dict[str, int]) -> str:
    """What is wrong with one non-blank line ('' when nothing)."""
    user = fields[0]
    if _encoding.undecodable_bytes(text):
        return f"line is not valid UTF-8 (bytes {_encoding.undecodable_bytes(text)})"
    if user in first_line:
        return (
            f"user {shown(user)} already has a line (line {first_line[user]}); put each user's "
            "items on one line, in time order"
        )
    if len(fields) == 1:
        return f"user {shown(user)} has no items; drop the line or add the user's items"
    return ""


def _error(problems: list[Problem], n_lines: int, file: str) -> ValidationError:
    n_bad = len({problem.row for problem in problems})
    lines = [f"  line {p.row}: {p.reason}" for p in problems[:_SHOWN_PROBLEMS]]
    if len(problems) > _SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(problems) - _SHOWN_PROBLEMS} more problems")
    return ValidationError(
        f"{n_bad} of {n_lines} lines are not 'user item item ...':\n"
        + "\n".join(lines)
        + f"\n{_HINT}",
        problems=[(p.row, "", p.reason) for p in problems],
        file=file,
    )
