"""Where a registry lives, and how its traffic policy routes requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from furima.registry import RegistryLocation, TrafficPolicy


def test_a_folder_means_embedded_sqlite(tmp_path: Path) -> None:
    location = RegistryLocation.parse(tmp_path / "reg")
    assert location.tracking_uri == f"sqlite:///{tmp_path / 'reg' / 'mlflow.db'}"
    assert location.artifact_root == (tmp_path / "reg" / "artifacts").as_uri()
    assert location.local_folder == tmp_path / "reg"


def test_a_database_needs_an_artifact_root() -> None:
    with pytest.raises(ValueError, match="needs an artifact root"):
        RegistryLocation.parse("postgresql://furima@db/registry")
    location = RegistryLocation.parse("postgresql://furima:secret@db/registry", "s3://b/furima/")
    assert location.artifact_root == "s3://b/furima"
    assert location.display() == "postgresql://furima:***@db/registry"
    assert location.local_folder is None


def test_unknown_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="must be a folder or a database URL"):
        RegistryLocation.parse("ftp://example/registry")


def test_environment_variables_choose_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FURIMA_REGISTRY", "postgresql://u@h/r")
    monkeypatch.setenv("FURIMA_ARTIFACT_ROOT", str(tmp_path))
    location = RegistryLocation.from_env()
    assert (location.tracking_uri, location.artifact_root) == (
        "postgresql://u@h/r",
        tmp_path.as_uri(),
    )


def test_canary_share_and_sticky_routing() -> None:
    policy = TrafficPolicy(canary_percent=20, sticky="user")
    routes = [policy.route(f"user-{i}") for i in range(5000)]
    assert 0.17 < routes.count("challenger") / len(routes) < 0.23
    assert all(policy.route(f"user-{i}") == routes[i] for i in range(200))  # the same each time
    assert TrafficPolicy().route("anyone") == "champion"
    assert TrafficPolicy(canary_percent=100).route(None) == "challenger"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"canary_percent": 120}, "canary_percent must be between 0 and 100, but got 120."),
        ({"sticky": "session"}, "sticky must be 'user', 'listing' or None, not 'session'."),
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TrafficPolicy(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_policies_round_trip_through_json() -> None:
    policy = TrafficPolicy(canary_percent=5.5, shadow=True, sticky="listing")
    assert TrafficPolicy.from_json(policy.to_json()) == policy
    assert TrafficPolicy.from_json(None) == TrafficPolicy()
