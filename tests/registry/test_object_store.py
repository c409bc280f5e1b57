"""The registry with its artifacts in object storage (S3 API, served by moto on loopback)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from furima.pricing import PriceSuggester
from furima.registry import ModelRegistry

BUCKET = "furima-models"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3-compatible server on loopback with an empty bucket; its URL."""
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "furima-test",
        "AWS_SECRET_ACCESS_KEY": "furima-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def test_artifacts_go_to_the_bucket_and_come_back_for_serving(
    s3_endpoint: str, price_model_folder: Path, tmp_path: Path
) -> None:
    import boto3

    registry = ModelRegistry(
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        artifact_root=f"s3://{BUCKET}/registry",
        cache=tmp_path / "cache",
    )
    version = registry.log_model(price_model_folder, alias="champion")
    assert version.source.startswith(f"s3://{BUCKET}/registry/price/")
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET)
    keys = {item["Key"].rsplit("/", 1)[-1] for item in listed["Contents"]}
    assert {"manifest.json", "arrays.npz", "stacker_point.txt"} <= keys
    champion = registry.deployment("price").champion
    assert champion is not None
    assert champion.path.is_relative_to(tmp_path / "cache")  # downloaded once for loading
    listings = pd.DataFrame({"name": ["Nike Men Black Running Shoes"], "brand": ["Nike"]})
    served = PriceSuggester.load(champion.path).predict(listings)
    np.testing.assert_allclose(served, PriceSuggester.load(price_model_folder).predict(listings))
    assert registry.deployment("price").champion == champion  # the cached copy is reused
