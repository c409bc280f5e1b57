"""What the price model needs at run time is declared, so `pip install furima` can fit one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def declared() -> set[str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return {re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].lower() for d in dependencies}


def test_pricing_libraries_are_declared() -> None:
    # lightgbm is imported by furima.pricing (_stacker.py, _persistence.py).
    assert declared() >= {"numpy", "scipy", "pandas", "scikit-learn", "lightgbm"}
