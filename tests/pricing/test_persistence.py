"""Saved price models: identical predictions after a round trip, a manifest that tells what
the model is, clear errors for models this furima cannot trust, and atomic replacement."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import furima
from furima._artifacts import sha256
from furima.exceptions import ModelFormatError
from furima.pricing import PriceSuggester, _persistence

EXPECTED_FILES = ["arrays.npz", "stacker_high.txt", "stacker_low.txt", "stacker_point.txt"]


@pytest.fixture
def saved(small_model: PriceSuggester, tmp_path: Path) -> Path:
    return small_model.save(tmp_path / "models" / "price")


def manifest_of(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text())
    return manifest


def entries(folder: Path) -> list[str]:
    """Everything in ``folder``, hidden temporary folders included."""
    return sorted(p.name for p in folder.iterdir())


def test_load_gives_identical_predictions(
    small_model: PriceSuggester, saved: Path, myntra_150: pd.DataFrame
) -> None:
    loaded = PriceSuggester.load(saved)
    new = myntra_150.iloc[::7]
    np.testing.assert_array_equal(loaded.predict(new), small_model.predict(new))
    np.testing.assert_array_equal(loaded.predict_interval(new), small_model.predict_interval(new))
    assert loaded.suggest(new) == small_model.suggest(new)
    query = pd.DataFrame({"name": ["Roadster Men Blue Slim Fit Jeans"], "gender": ["Men"]})
    assert loaded.suggest(query) == small_model.suggest(query)
    assert loaded.metrics_ == small_model.metrics_
    assert loaded.training_ == small_model.training_
    assert loaded.attribute_columns_ == ["gender", "primary_color"]


def test_manifest_contents(small_model: PriceSuggester, saved: Path) -> None:
    manifest = manifest_of(saved)
    assert manifest["format"] == "furima.price_model"
    assert manifest["format_version"] == _persistence.FORMAT_VERSION == 2
    assert manifest["versions"]["furima"] == furima.__version__
    assert set(manifest["versions"]) >= {"numpy", "scikit-learn", "lightgbm", "pandas"}
    assert manifest["data_fingerprint"] == small_model.data_fingerprint_
    assert len(manifest["data_fingerprint"]) == 64
    assert manifest["metrics"] == small_model.metrics_
    assert set(manifest["metrics"]) == {"validation_rmsle", "validation_coverage", "margin"}
    assert manifest["params"]["coverage"] == 0.8
    assert manifest["training"]["rows"] == 150
    assert [m["kind"] for m in manifest["members"]] == [
        "text_ridge",
        "joined_text_ridge",
        "neighbours",
        "key_encoding",
        "name_quantities",
    ]
    assert manifest["stacker"]["linear_weight"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert sorted(manifest["files"]) == EXPECTED_FILES
    assert entries(saved) == sorted(["manifest.json", *EXPECTED_FILES])
    for name, digest in manifest["files"].items():
        assert digest == sha256(saved / name)
        assert len(digest) == 64 and int(digest, 16) >= 0


def test_arrays_load_without_pickle(saved: Path) -> None:
    with np.load(saved / "arrays.npz", allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
        assert "m2/reference_ids" in archive.files


def test_newer_format_version_says_upgrade_or_refit(saved: Path) -> None:
    manifest = manifest_of(saved)
    manifest["format_version"] = 999
    manifest["versions"]["furima"] = "9.0.0"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError) as info:
        PriceSuggester.load(saved)
    message = str(info.value)
    assert "saved by furima 9.0.0 in model format 999" in message
    assert f"reads format {_persistence.FORMAT_VERSION} and older" in message
    assert "Upgrade furima, or refit" in message and "furima price fit" in message


def test_format_1_manifest_still_loads(
    small_model: PriceSuggester, saved: Path, myntra_150: pd.DataFrame
) -> None:
    """Format 1 had no linear weight: a saved linear blend was the whole point estimate."""
    manifest = manifest_of(saved)
    manifest["format_version"] = 1
    weight = manifest["stacker"].pop("linear_weight")
    manifest["stacker"]["point_model"] = "linear" if weight == 1.0 else "boosted"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    loaded = PriceSuggester.load(saved)
    assert loaded.stacker_.linear_weight_ == (1.0 if weight == 1.0 else 0.0)
    if weight in (0.0, 1.0):
        np.testing.assert_array_equal(loaded.predict(myntra_150), small_model.predict(myntra_150))


def test_other_artifact_format_is_refused(saved: Path) -> None:
    manifest = manifest_of(saved)
    manifest["format"] = "furima.search_index"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"holds a 'furima\.search_index' artifact"):
        PriceSuggester.load(saved)


def test_manifest_that_is_not_json(saved: Path) -> None:
    (saved / "manifest.json").write_text('{"format": "furima.price_model",')
    with pytest.raises(ModelFormatError, match=r"manifest\.json' is not valid JSON"):
        PriceSuggester.load(saved)


def test_tampered_arrays_fail_the_checksum(saved: Path) -> None:
    data = bytearray((saved / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (saved / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFormatError) as info:
        PriceSuggester.load(saved)
    assert "arrays.npz" in str(info.value)
    assert "does not match its checksum" in str(info.value)


def test_missing_stacker_file(saved: Path) -> None:
    (saved / "stacker_low.txt").unlink()
    with pytest.raises(ModelFormatError, match=r"is incomplete: stacker_low\.txt is missing"):
        PriceSuggester.load(saved)


def test_missing_manifest(saved: Path, tmp_path: Path) -> None:
    (saved / "manifest.json").unlink()
    with pytest.raises(ModelFormatError, match=r"it has no manifest\.json"):
        PriceSuggester.load(saved)
    with pytest.raises(ModelFormatError, match="is not a furima price model"):
        PriceSuggester.load(tmp_path / "never-saved")


def model_entries(saved: Path) -> list[str]:
    """What a saved model leaves in its folder: the link and the version folder it names."""
    assert saved.is_symlink()
    return sorted([saved.name, saved.resolve().name])


def test_save_over_an_existing_model_replaces_it(
    small_model: PriceSuggester, saved: Path, myntra_150: pd.DataFrame
) -> None:
    other = PriceSuggester(coverage=0.5, random_state=1).fit(myntra_150.iloc[:60])
    (saved / "stray.txt").write_text("left by someone")
    assert other.save(saved) == saved
    assert entries(saved.parent) == model_entries(saved)  # no temporary or retired folders left
    assert entries(saved) == sorted(["manifest.json", *EXPECTED_FILES])
    loaded = PriceSuggester.load(saved)
    assert manifest_of(saved)["training"]["rows"] == 60
    assert loaded.coverage == 0.5
    np.testing.assert_array_equal(loaded.predict(myntra_150), other.predict(myntra_150))


def test_crash_while_writing_keeps_the_previous_model(
    small_model: PriceSuggester,
    saved: Path,
    myntra_150: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = small_model.predict(myntra_150)
    other = PriceSuggester(coverage=0.5, random_state=1).fit(myntra_150.iloc[:60])
    written: list[str] = []
    current = saved.resolve()

    def manifest_then_crash(*args: object, **kwargs: object) -> dict[str, Any]:
        # arrays.npz and the LightGBM files are already in the staging folder.
        written.extend(p.name for p in saved.parent.glob(".price@*/*") if p.parent != current)
        raise OSError("No space left on device")

    monkeypatch.setattr(_persistence, "_manifest", manifest_then_crash)
    with pytest.raises(OSError, match="No space left on device"):
        other.save(saved)
    assert sorted(written) == EXPECTED_FILES
    assert entries(saved.parent) == model_entries(saved)
    assert manifest_of(saved)["training"]["rows"] == 150
    np.testing.assert_array_equal(PriceSuggester.load(saved).predict(myntra_150), before)


def test_crash_at_the_swap_keeps_the_previous_model(
    small_model: PriceSuggester,
    saved: Path,
    myntra_150: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = PriceSuggester(coverage=0.5, random_state=1).fit(myntra_150.iloc[:60])
    before = model_entries(saved)

    def crash(src: str | Path, dst: str | Path) -> None:
        raise OSError("killed")

    monkeypatch.setattr("furima._artifacts.os.replace", crash)
    with pytest.raises(OSError, match="killed"):
        other.save(saved)
    monkeypatch.undo()
    assert PriceSuggester.load(saved).training_["rows"] == 150
    assert entries(saved.parent) == before  # the new version and its link are cleaned up


def test_saved_folder_has_ordinary_permissions(saved: Path, tmp_path: Path) -> None:
    reference = tmp_path / "plain"
    reference.mkdir()
    assert stat.S_IMODE(saved.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)
