"""Settings for the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# OpenMP workers that spin while waiting starve each other on a 2-core CI machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session", autouse=True)
def furima_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One throwaway cache (ONNX exports) per test run, never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("furima-cache")
    previous = os.environ.get("FURIMA_CACHE_DIR")
    os.environ["FURIMA_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("FURIMA_CACHE_DIR", None)
    else:
        os.environ["FURIMA_CACHE_DIR"] = previous
