"""The public surface of furima.catalog."""

from __future__ import annotations

import subprocess
import sys

import furima.catalog


def test_all_names_exist() -> None:
    for name in furima.catalog.__all__:
        assert getattr(furima.catalog, name) is not None


def test_import_stays_light() -> None:
    code = (
        "import sys, furima.catalog; "
        "print([m for m in ('duckdb', 'torch', 'rich', 'typer') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
