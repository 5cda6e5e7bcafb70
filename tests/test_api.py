"""The REST API through httpx against the app, with real jobs trained by worker
processes: the /api/train contract, /api/jobs, errors, the queue limit and the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssots.artifacts import EXTRA_PARAMS, LEGACY_KEYS
from ssots.spec import RunSpec
from ssots.web import create_app
from web_support import (
    FAST,
    LEGACY_BODY,
    LONG,
    TestClient,
    make_settings,
    submit,
    train_status,
    wait_epoch,
    wait_finished,
)

pytestmark = pytest.mark.slow
WEIGHT_KEYS = {*LEGACY_KEYS, *EXTRA_PARAMS}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app with two worker processes, shared by the tests of this module."""
    app = create_app(make_settings(tmp_path_factory.mktemp("api")), workers=2)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def idle_client(tmp_path: Path) -> Iterator[TestClient]:
    """The API without workers (jobs stay queued) and a queue of two."""
    with TestClient(create_app(make_settings(tmp_path, queue_limit=2), workers=0)) as client:
        yield client


@pytest.fixture(scope="module")
def finished(client: TestClient) -> dict[str, Any]:
    """The status of a job from the earlier dashboard's exact body, once it finished."""
    response = client.post("/api/train", json=LEGACY_BODY)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "in_progress"
    assert accepted["progress"] == 0
    assert set(accepted) == {"status", "jobId", "message", "progress", "timestamp"}
    return wait_finished(client, accepted["jobId"])


def test_the_earlier_dashboards_body_trains_for_real(finished: dict[str, Any]) -> None:
    assert finished["status"] == "success", finished
    assert finished["progress"] == 100
    assert 1 <= finished["epoch"] <= finished["epochs"] == 50
    assert {"mse", "mae", "rmse", "r2"} <= set(finished["metrics"])
    assert set(finished["weights"]) == WEIGHT_KEYS
    assert len(finished["parameters"]) == 13
    assert abs(sum(finished["weights"][key] for key in LEGACY_KEYS) - 1) < 1e-9
    assert finished["baselines"]
    assert finished["trainLoss"] is not None
    assert finished["startedAt"] <= finished["finishedAt"]
    assert finished["elapsedSeconds"] > 0


def test_a_finished_job_states_its_verdict(client: TestClient, finished: dict[str, Any]) -> None:
    job = client.get(f"/api/jobs/{finished['jobId']}").json()
    evidence = job["result"]["evidence"]
    assert finished["verdict"] == job["verdict"] == f"test split: {evidence['verdict']}"
    assert "evidence of skill: rank IC" in finished["verdict"]
    assert evidence["test"]["intervals"]["raw_rank_ic"]["low"] is not None


def test_weights_file_matches_the_job(client: TestClient, finished: dict[str, Any]) -> None:
    job = client.get(f"/api/jobs/{finished['jobId']}").json()
    assert job["status"] == "succeeded"
    assert job["weights_url"]
    response = client.get(job["weights_url"])
    assert response.status_code == 200
    document = response.json()
    assert document["schema"] == "ssots.weights/2"
    assert document["parameters"] == job["result"]["parameters"] == finished["parameters"]
    assert document["metrics"] == finished["metrics"]
    assert job["r2"] == finished["metrics"]["r2"]
    listed = client.get("/api/jobs").json()["jobs"]
    assert [item["r2"] for item in listed if item["id"] == job["id"]] == [job["r2"]]
    assert job["request"] == LEGACY_BODY
    assert job["spec"]["dataset"] == "demo"
    assert job["spec"]["lr"] == 0.01


def test_history_is_downsampled_keeping_ends(client: TestClient, finished: dict[str, Any]) -> None:
    url = f"/api/jobs/{finished['jobId']}/history"
    full = client.get(url).json()
    assert full["total_points"] == len(full["points"]) == finished["epoch"]
    small = client.get(url, params={"max_points": 5}).json()
    assert len(small["points"]) == 5
    assert small["points"][0] == full["points"][0]
    assert small["points"][-1] == full["points"][-1]


def test_snake_case_and_every_option_are_accepted(client: TestClient) -> None:
    job_id = submit(
        client,
        dataset_source="demo",
        dataset="demo",
        strategy="rsi-enhanced",
        learning_rate=0.05,
        momentum=0.5,
        weight_decay=0.001,
        patience=3,
        batch_size=32,
        labels="rules",
        horizon=3,
        seed=7,
        split="0.7,0.15,0.15",
        demo_days=200,
        epochs=5,
    )
    spec = client.get(f"/api/jobs/{job_id}").json()["spec"]
    assert spec["strategy"] == "rsi-enhanced"
    assert spec["lr"] == 0.05
    assert (spec["batch_size"], spec["labels"], spec["seed"]) == (32, "rules", 7)
    assert spec["split"] == [0.7, 0.15, 0.15]
    assert wait_finished(client, job_id)["status"] == "success"


def test_an_empty_body_uses_the_defaults(client: TestClient) -> None:
    job_id = submit(client)
    spec = client.get(f"/api/jobs/{job_id}").json()["spec"]
    assert spec == RunSpec().model_dump(mode="json")
    assert (spec["dataset"], spec["strategy"], spec["epochs"], spec["lr"]) == (
        "demo",
        "momentum-cross",
        500,
        0.1,
    )
    client.post(f"/api/jobs/{job_id}/cancel")


def test_invalid_values_name_each_field(client: TestClient) -> None:
    response = client.post(
        "/api/train",
        json={
            "epochs": 0,
            "learningRate": -1,
            "momentum": 1.5,
            "datasetSource": "ftp",
            "bogus": 1,
        },
    )
    assert response.status_code == 422
    fields = {issue["loc"][-1] for issue in response.json()["detail"]}
    assert fields == {"epochs", "learningRate", "momentum", "datasetSource", "bogus"}


@pytest.mark.parametrize(
    ("body", "field", "hint"),
    [
        ({"strategy": "moon"}, "strategy", "momentum-cross"),
        ({"datasetSource": "local", "dataset": "nope"}, "dataset", "POST /api/datasets"),
        ({"datasetSource": "local", "dataset": "/etc/passwd"}, "dataset", "registered datasets"),
        ({"dataset": "prices.csv"}, "dataset", "bitcoin-demo"),
        (
            {"datasetSource": "kaggle", "kaggleDataset": "someone/unknown"},
            "kaggleDataset",
            "sudalairajkumar/cryptocurrencypricehistory",
        ),
        ({"datasetSource": "kaggle", "kaggleDataset": "../../etc"}, "kaggleDataset", "handle"),
        (
            {"datasetSource": "kaggle", "kaggleDataset": "gpreda/crypto-fear-greed-index"},
            "kaggleDataset",
            "not prices",
        ),
        ({"split": "0.9,0.9,0.9"}, "split", ""),
    ],
)
def test_unknown_choices_answer_422_with_the_valid_ones(
    client: TestClient,
    body: dict[str, Any],
    field: str,
    hint: str,
) -> None:
    response = client.post("/api/train", json=body)
    assert response.status_code == 422, response.text
    (issue,) = response.json()["detail"]
    assert issue["loc"] == ["body", field]
    assert hint in issue["msg"]


def test_a_catalog_kaggle_dataset_is_queued_as_a_kaggle_run(idle_client: TestClient) -> None:
    job_id = submit(
        idle_client, datasetSource="kaggle", kaggleDataset="mczaryko/bitcoin-price-prediction"
    )
    assert idle_client.get(f"/api/jobs/{job_id}").json()["spec"]["dataset"] == (
        "kaggle:mczaryko/bitcoin-price-prediction"
    )


def test_status_without_or_with_unknown_id(client: TestClient) -> None:
    assert client.get("/api/train").status_code == 400
    assert client.get("/api/train", params={"jobId": "0123456789abcdef"}).status_code == 404
    assert client.get("/api/train", params={"jobId": "../../x"}).status_code == 404
    assert client.get("/api/jobs/0123456789abcdef").status_code == 404
    assert client.get("/api/jobs/not-an-id").status_code == 422


def test_jobs_list_newest_first_filtered_and_paginated(idle_client: TestClient) -> None:
    first, second = submit(idle_client, **FAST), submit(idle_client, **FAST)
    idle_client.post(f"/api/jobs/{first}/cancel")
    page = idle_client.get("/api/jobs", params={"limit": 1}).json()
    assert (page["total"], [job["id"] for job in page["jobs"]]) == (2, [second])
    assert idle_client.get("/api/jobs", params={"offset": 1}).json()["jobs"][0]["id"] == first
    cancelled = idle_client.get("/api/jobs", params={"status": "cancelled"}).json()
    assert [job["id"] for job in cancelled["jobs"]] == [first]
    assert idle_client.get("/api/jobs", params={"status": "lost"}).status_code == 422


def test_cancel_queued_and_finished_jobs(idle_client: TestClient) -> None:
    job_id = submit(idle_client, **FAST)
    response = idle_client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert train_status(idle_client, job_id)["status"] == "cancelled"
    assert idle_client.post(f"/api/jobs/{job_id}/cancel").status_code == 202  # idempotent
    assert idle_client.get(f"/api/jobs/{job_id}/weights").status_code == 409


def test_cancel_a_running_job(client: TestClient) -> None:
    job_id = submit(client, **LONG)
    wait_epoch(client, job_id)
    flagged = client.post(f"/api/jobs/{job_id}/cancel").json()
    assert flagged["cancel_requested"]
    assert wait_finished(client, job_id, timeout=30)["status"] == "cancelled"
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 202


def test_a_finished_job_cannot_be_cancelled(client: TestClient, finished: dict[str, Any]) -> None:
    response = client.post(f"/api/jobs/{finished['jobId']}/cancel")
    assert response.status_code == 409
    assert "succeeded" in response.json()["detail"]


def test_full_queue_answers_429_and_creates_nothing(idle_client: TestClient) -> None:
    submit(idle_client, **FAST)
    submit(idle_client, **FAST)
    response = idle_client.post("/api/train", json=FAST)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "queue is full" in response.json()["detail"]
    assert idle_client.get("/api/jobs").json()["total"] == 2


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/train", "/api/jobs/{job_id}/events", "/api/datasets/{dataset_id}"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_token_guards_every_api_route_but_health(tmp_path: Path) -> None:
    token = "t0ken-for-tests-only-0123456789abcdef"
    settings = make_settings(tmp_path, api_token=token)
    with TestClient(create_app(settings, workers=0)) as client:
        assert client.get("/api/health").status_code == 200
        for method, url in [
            ("GET", "/api/jobs"),
            ("POST", "/api/train"),
            ("GET", "/api/datasets"),
            ("GET", "/api/train?jobId=x"),
        ]:
            assert client.request(method, url).status_code == 401
            wrong = client.request(method, url, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert token not in wrong.text
        good = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/jobs", headers=good).status_code == 200
        job_id = client.post("/api/train", json=FAST, headers=good).json()["jobId"]
        job = client.get(f"/api/jobs/{job_id}", headers=good)
        schema = client.get("/openapi.json").json()
        assert token not in job.text
        assert token not in json.dumps(schema)
        assert schema["paths"]["/api/jobs"]["get"]["security"] == [{"bearer": []}]
        assert "security" not in schema["paths"]["/api/health"]["get"]
