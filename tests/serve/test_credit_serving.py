"""The ``credit`` task: ``POST /v1/credit:score`` from a registered scorecard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import furima.serve._tasks
from furima.registry import ModelRegistry
from furima.risk import CreditBlend
from furima.risk._scorecard import Scorecard
from furima.serve import ServeSettings, create_app, running_server
from furima.serve._task_credit import CREDIT_TASK, typical_fields

from .test_recommend_serving import wait_for

FIXTURE = Path(__file__).parents[1] / "fixtures" / "german_credit_400.parquet"
TARGET = "creditability"
PATH = "/v1/credit:score"


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


@pytest.fixture(scope="module")
def card(german: pd.DataFrame) -> Scorecard:
    return Scorecard(target=TARGET, bad_value="bad").fit(german.iloc[:300])


@pytest.fixture(scope="module")
def url(card: Scorecard, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    furima.serve._tasks.register_task(CREDIT_TASK)
    root = tmp_path_factory.mktemp("credit-serving")
    registry = ModelRegistry(root / "registry")
    registry.log_model(card.save(root / "credit"), task="credit", alias="champion")
    settings = ServeSettings(tasks=("credit",), poll_seconds=0.1, max_batch_wait_ms=1)
    with running_server(create_app(settings, registry=registry)) as base:
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        yield base


def fields_of(row: pd.Series) -> dict[str, Any]:
    """An applicant's fields as JSON values (numbers as floats, categories as text)."""
    return {str(k): (float(v) if isinstance(v, (int, np.integer)) else v) for k, v in row.items()}


def post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{PATH}", json=body, timeout=30)


def test_scores_applicants_in_order_as_the_scorecard_does(
    url: str, card: Scorecard, german: pd.DataFrame
) -> None:
    rows = german.iloc[300:302].drop(columns=TARGET)
    applicants = [
        {"applicant_id": f"a{i}", "fields": fields_of(row)}
        for i, (_, row) in enumerate(rows.iterrows())
    ]
    answer = post(url, {"applicants": applicants})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["applicant_id"] for s in body["scores"]] == ["a0", "a1"]
    expected = card.score(rows)
    np.testing.assert_allclose([s["score"] for s in body["scores"]], expected["score"])
    assert [s["reasons"] for s in body["scores"]] == expected["reasons"].tolist()
    assert all(0.0 <= s["probability_of_default"] <= 1.0 for s in body["scores"])
    assert body["model"]["task"] == "credit"


def test_a_declined_looking_applicant_gets_reasons(
    url: str, card: Scorecard, german: pd.DataFrame
) -> None:
    rows = german.drop(columns=TARGET)
    worst = rows.iloc[int(np.argmin(card.score(rows)["score"].to_numpy()))]
    answer = post(url, {"applicants": [{"fields": fields_of(worst)}]}).json()["scores"][0]
    assert answer["applicant_id"] is None
    assert answer["probability_of_default"] > 0.5 and len(answer["reasons"]) >= 1


def test_a_missing_field_is_scored_with_a_reason_naming_it(url: str, german: pd.DataFrame) -> None:
    fields = fields_of(german.drop(columns=TARGET).iloc[310])
    fields["credit_amount"] = None
    del fields["duration_in_month"]
    answer = post(url, {"applicants": [{"applicant_id": "m", "fields": fields}]})
    assert answer.status_code == 200, answer.text
    reasons = answer.json()["scores"][0]["reasons"]
    assert reasons[0].startswith("Duration in month: missing value (not provided)")
    assert reasons[1].startswith("Credit amount: missing value (not provided)")


def test_an_empty_applicant_and_a_typical_one_are_scored(
    url: str, card: Scorecard, tmp_path: Path
) -> None:
    typical = typical_fields(Scorecard.load(card.save(tmp_path / "card")))
    assert set(typical) == set(card.features_)
    body = {"applicants": [{"fields": {}}, {"fields": typical}]}
    empty, usual = post(url, body).json()["scores"]
    assert len(empty["reasons"]) == len(card.features_)  # every field stated as missing
    assert all("missing value" in reason for reason in empty["reasons"])
    assert not any("missing value" in reason for reason in usual["reasons"])
    assert 0.0 <= empty["probability_of_default"] <= 1.0


@pytest.mark.parametrize(
    ("applicant", "words"),
    [
        ({"fields": {"income": 3000.0}}, "field(s) ['income'] that the scorecard does not use"),
        ({"fields": {"credit_amount": "lots"}}, "text for the numeric field(s) ['credit_amount']"),
        ({"fields": {}, "name": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_fields_get_a_422_that_names_them(
    url: str, applicant: dict[str, Any], words: str
) -> None:
    answer = post(url, {"applicants": [applicant]})
    assert answer.status_code == 422
    assert words in answer.text
    if "income" in words:
        assert "age_in_years" in answer.text  # says which fields the scorecard uses


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"applicants": []}, "at least 1 item"),
        ({"applicants": [{"fields": {}}] * 1001}, "at most 1000 items"),
    ],
)
def test_applicant_counts_outside_1_to_1000_get_a_422(
    url: str, body: dict[str, Any], words: str
) -> None:
    answer = post(url, body)
    assert answer.status_code == 422
    assert words in answer.text


def test_repeated_requests_get_the_same_answer(url: str, german: pd.DataFrame) -> None:
    """The served scorecard is never changed by scoring (latency is measured in benchmarks)."""
    body = {"applicants": [{"fields": fields_of(german.drop(columns=TARGET).iloc[0])}]}
    with httpx.Client(base_url=url, timeout=30) as client:
        answers = [client.post(PATH, json=body).json()["scores"] for _ in range(5)]
    assert all(answer == answers[0] for answer in answers)


@pytest.fixture(scope="module")
def blend(german: pd.DataFrame) -> CreditBlend:
    return CreditBlend(TARGET, bad_value="bad").fit(german.iloc[:300])


@pytest.mark.parametrize("kind", ["gbm", "blend"])
def test_the_gbm_and_the_blend_are_served_by_the_same_task(
    kind: str, blend: CreditBlend, german: pd.DataFrame, tmp_path: Path
) -> None:
    from furima.serve._task_credit import CreditRequest

    model = blend if kind == "blend" else blend.gbm_
    loaded = CREDIT_TASK.load(model.save(tmp_path / kind))
    for request in CREDIT_TASK.smoke(loaded):
        for answer in CREDIT_TASK.predict(loaded, [request]):
            assert CREDIT_TASK.check is not None
            CREDIT_TASK.check(answer)
    rows = german.iloc[300:305].drop(columns=TARGET)
    body = {"applicants": [{"fields": fields_of(row)} for _, row in rows.iterrows()]}
    answer = CREDIT_TASK.predict(loaded, [CreditRequest.model_validate(body)])[0]
    expected = model.score(rows)
    assert [a["score"] for a in answer["scores"]] == pytest.approx(expected["score"].tolist())
    assert [a["reasons"] for a in answer["scores"]] == expected["reasons"].tolist()
    text = {"applicants": [{"fields": {"duration_in_month": "long"}}]}
    with pytest.raises(ValueError, match="duration_in_month"):
        CREDIT_TASK.predict(loaded, [CreditRequest.model_validate(text)])


def test_a_blend_registers_beside_a_scorecard_under_credit(
    card: Scorecard, blend: CreditBlend, tmp_path: Path
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    registry.log_model(card.save(tmp_path / "card"), task="credit", alias="champion")
    version = registry.log_model(blend.save(tmp_path / "blend"), task="credit")
    assert (version.task, version.version) == ("credit", 2)
