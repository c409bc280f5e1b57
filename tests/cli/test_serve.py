"""`furima serve`: parses its options into ServeSettings and hands the app to uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from furima.cli import app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    return calls


def test_serve_passes_settings_and_address(
    run: CliRunner, served: list[dict[str, Any]], tmp_path: Path
) -> None:
    folder = tmp_path / "assistant"
    folder.mkdir()
    args = ["serve", "--listing-assistant", str(folder), "--host", "0.0.0.0", "--port", "8123"]
    result = run.invoke(app, [*args, "--max-upload-mb", "2", "--max-text-chars", "500"])
    assert result.exit_code == 0, result.output
    [call] = served
    assert (call["host"], call["port"], call["log_level"]) == ("0.0.0.0", 8123, "info")
    settings = call["app"].state.settings
    assert settings.listing_assistant == folder
    assert settings.max_upload_bytes == 2 * 1024 * 1024
    assert settings.max_text_chars == 500


def test_defaults(run: CliRunner, served: list[dict[str, Any]]) -> None:
    result = run.invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8000)
    assert served[0]["app"].state.settings.listing_assistant is None


def test_missing_assistant_folder_is_a_usage_error(
    run: CliRunner, served: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = run.invoke(app, ["serve", "--listing-assistant", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "is not a folder; pass the folder written by ListingAssistant.save" in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_serve_is_listed_in_help(run: CliRunner) -> None:
    result = run.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--listing-assistant" in result.output
