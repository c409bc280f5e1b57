"""ServeSettings: typed, validated at the edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from furima.serve import ServeSettings


def test_defaults() -> None:
    settings = ServeSettings()
    assert settings.listing_assistant is None
    assert settings.max_upload_bytes == 10 * 1024 * 1024
    assert settings.max_text_chars == 2000


def test_a_string_path_becomes_a_path() -> None:
    assert ServeSettings(listing_assistant="models/a").listing_assistant == Path("models/a")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"max_upload_bytes": 0},
            "`max_upload_bytes` must be at least 1, but got 0.",
        ),
        (
            {"max_text_chars": -1},
            "`max_text_chars` must be at least 1, but got -1.",
        ),
        ({"max_queue": 0}, "`max_queue` must be at least 1, but got 0."),
        (
            {"poll_seconds": 0},
            "`poll_seconds` must be positive and `max_batch_wait_ms` zero or more, but got 0 "
            "and 2.0.",
        ),
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        ServeSettings(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_importing_furima_serve_does_not_import_fastapi() -> None:
    import subprocess
    import sys

    code = "import sys, furima.serve; print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_settings_round_trip_through_json_for_worker_processes() -> None:
    settings = ServeSettings(
        listing_assistant=Path("models/a"), registry="reg", tasks=("price",), max_queue=9
    )
    assert ServeSettings.from_json(settings.to_json()) == settings
