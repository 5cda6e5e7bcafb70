"""The trade list and the test-block views over the API: rebuilt from a job's stored run
(demo or registered data), the same list as JSON and CSV, for jobs and model versions,
and the refusals (unknown job 404, unfinished job 409, data gone 409)."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssots.trades import TRADE_COLUMNS
from ssots.web import create_app
from web_support import TestClient, make_settings, submit, wait_finished

pytestmark = pytest.mark.slow
JOB = {"demoDays": 400, "epochs": 8, "strategy": "rsi-enhanced"}
UPLOADED = "binance_klines_BTCUSDT_1h_2022-01.csv"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path_factory.mktemp("trades")), workers=2)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def job(client: TestClient) -> dict[str, Any]:
    """A succeeded demo job's detail."""
    job_id = submit(client, **JOB)
    assert wait_finished(client, job_id)["status"] == "success"
    return client.get(f"/api/jobs/{job_id}").json()


def _csv_frame(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


def test_the_trade_list_is_the_jobs_q_filtered_book(
    client: TestClient, job: dict[str, Any]
) -> None:
    answer = client.get(f"/api/jobs/{job['id']}/trades")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == list(TRADE_COLUMNS)
    trades = body["trades"]
    assert trades
    assert list(trades[0]) == list(TRADE_COLUMNS)
    stored = job["result"]["backtest"]
    taken = [t for t in trades if t["filter"] == "taken"]
    assert len(taken) == stored["metrics"]["q_filtered"]["trades"] == body["counts"]["taken"]
    growth = math.prod(1.0 + t["return"] for t in taken)
    assert growth == pytest.approx(1.0 + stored["metrics"]["q_filtered"]["total_return"],
                                   rel=1e-12)
    assert len(trades) == sum(body["counts"][s] for s in ("taken", "skipped", "ruined"))
    assert trades[0]["entry_time"] == stored["start"]
    assert trades[-1]["exit_time"] == stored["end"]
    assert {t["call"] for t in trades} == set(range(1, body["counts"]["calls"] + 1))
    assert all(t["q_entry"] >= stored["threshold"] for t in taken)
    assert all(t["q_entry"] < stored["threshold"] for t in trades if t["filter"] == "skipped")


def test_csv_by_query_or_accept_header_is_the_json_list(
    client: TestClient, job: dict[str, Any]
) -> None:
    url = f"/api/jobs/{job['id']}/trades"
    by_query = client.get(url, params={"format": "csv"})
    by_header = client.get(url, headers={"Accept": "text/csv"})
    assert by_query.status_code == by_header.status_code == 200
    assert by_query.content == by_header.content
    assert by_query.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="ssots-trades-{job["id"]}.csv"' in by_query.headers["content-disposition"]
    table = _csv_frame(by_query.text)
    listed = pd.DataFrame(client.get(url).json()["trades"])
    pd.testing.assert_frame_equal(table, listed, check_exact=True)
    assert client.get(url, params={"format": "json"}, headers={"Accept": "text/csv"}).json()
    assert client.get(url, params={"format": "xml"}).status_code == 422


def test_the_test_block_view_has_the_series_and_the_same_trades(
    client: TestClient, job: dict[str, Any]
) -> None:
    base = f"/api/jobs/{job['id']}"
    view = client.get(f"{base}/test-block").json()
    stored = job["result"]["backtest"]
    assert view["bars"] == view["total_points"] == stored["bars"]
    assert (view["start"], view["end"]) == (stored["start"], stored["end"])
    assert view["threshold"] == stored["threshold"]
    assert view["strategy"] == "rsi-enhanced"
    assert len(view["price"]["times"]) == len(view["price"]["close"]) == stored["bars"]
    for book, metrics in stored["metrics"].items():
        assert min(view["drawdown"][book]) == pytest.approx(metrics["max_drawdown"], abs=1e-12)
    assert view["trades"] == client.get(f"{base}/trades").json()["trades"]
    small = client.get(f"{base}/test-block", params={"max_points": 8}).json()
    assert len(small["price"]["times"]) < stored["bars"]
    assert small["price"]["times"][0] == stored["start"]
    assert client.get(f"{base}/test-block", params={"max_points": 3}).status_code == 422


def test_unknown_unfinished_and_malformed_jobs(client: TestClient, tmp_path: Path) -> None:
    missing = client.get(f"/api/jobs/{'0' * 16}/trades")
    assert missing.status_code == 404
    assert "detail" in missing.json()
    assert client.get(f"/api/jobs/{'0' * 16}/test-block").status_code == 404
    assert client.get("/api/jobs/not-a-job/trades").status_code == 422
    with TestClient(create_app(make_settings(tmp_path), workers=0)) as idle:
        queued = submit(idle, demoDays=200, epochs=3)
        for path in ("trades", "test-block"):
            answer = idle.get(f"/api/jobs/{queued}/{path}", params={"format": "csv"}
                              if path == "trades" else None)
            assert answer.status_code == 409
            assert "queued" in answer.json()["detail"]


def test_a_model_versions_trades_are_its_runs(client: TestClient, job: dict[str, Any]) -> None:
    runs = client.get("/api/runs", params={"source": "job"}).json()["runs"]
    run_id = next(run["id"] for run in runs if run["job_id"] == job["id"])
    created = client.post("/api/models", json={"name": "views", "run_id": run_id})
    assert created.status_code == 201, created.text
    number = created.json()["version"]["version"]
    base = f"/api/models/views/versions/{number}"
    assert client.get(f"{base}/trades").json() == client.get(f"/api/jobs/{job['id']}/trades").json()
    csv_text = client.get(f"{base}/trades", headers={"Accept": "text/csv"})
    assert csv_text.content == client.get(f"/api/jobs/{job['id']}/trades?format=csv").content
    assert 'filename="ssots-trades-views-v1.csv"' in csv_text.headers["content-disposition"]
    view = client.get(f"{base}/test-block").json()
    assert view["bars"] == job["result"]["backtest"]["bars"]
    assert client.get("/api/models/views/versions/99/trades").status_code == 404


def test_registered_data_is_read_again_and_its_removal_is_a_conflict(
    client: TestClient, real_data_dir: Path
) -> None:
    content = (real_data_dir / UPLOADED).read_bytes()
    uploaded = client.post("/api/datasets", files={"file": (UPLOADED, content)})
    assert uploaded.status_code == 201, uploaded.text
    dataset_id = uploaded.json()["id"]
    job_id = submit(client, dataset=dataset_id, datasetSource="registered", epochs=5,
                    strategy="bollinger-bands")
    assert wait_finished(client, job_id)["status"] == "success"
    answer = client.get(f"/api/jobs/{job_id}/trades")
    assert answer.status_code == 200, answer.text
    stored = client.get(f"/api/jobs/{job_id}").json()["result"]["backtest"]
    taken = [t["return"] for t in answer.json()["trades"] if t["filter"] == "taken"]
    assert np.prod(np.add(1.0, taken)) == pytest.approx(
        1.0 + stored["metrics"]["q_filtered"]["total_return"], rel=1e-12
    )
    assert client.delete(f"/api/datasets/{dataset_id}").status_code == 204
    gone = client.get(f"/api/jobs/{job_id}/trades")
    assert gone.status_code == 409
    assert "not registered here" in gone.json()["detail"]


def test_pages_of_the_list_sorted_by_any_column(client: TestClient, job: dict[str, Any]) -> None:
    url = f"/api/jobs/{job['id']}/trades"
    full = client.get(url).json()
    assert full["total"] == len(full["trades"])
    assert full["rows"] == list(range(full["total"]))
    page = client.get(url, params={"sort": "return", "descending": "true", "offset": 2,
                                   "limit": 5}).json()
    by_return = sorted(range(full["total"]), key=lambda i: -full["trades"][i]["return"])
    assert page["rows"] == by_return[2:7]
    assert page["trades"] == [full["trades"][i] for i in by_return[2:7]]
    assert (page["total"], page["offset"], page["counts"]) == (full["total"], 2, full["counts"])
    latest = client.get(url, params={"descending": "true", "limit": 1}).json()
    assert latest["trades"] == full["trades"][-1:]
    csv_page = client.get(url, params={"sort": "return", "descending": "true", "offset": 2,
                                       "limit": 5, "format": "csv"})
    table = _csv_frame(csv_page.text)
    pd.testing.assert_frame_equal(table, pd.DataFrame(page["trades"]), check_exact=True)
    assert client.get(url, params={"sort": "price"}).status_code == 422
    assert client.get(url, params={"limit": 0}).status_code == 422
