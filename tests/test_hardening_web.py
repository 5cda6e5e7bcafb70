"""The service is safe to leave running on a workstation (issue 12, its web half): it
answers only its own host names, refuses cross-site state changes and non-JSON bodies,
never answers 500 to odd JSON, checks the token before reading a body, caps event
streams, frames nothing, and keeps answering health checks during a burst."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI, Request
from typer.testing import CliRunner

from ssots.cli import app as cli
from ssots.config import Settings
from ssots.errors import ParameterError
from ssots.spec import FIELDS
from ssots.web import create_app
from ssots.web.security import RequestGuard, allowed_hosts
from web_support import FAST, Server, TestClient, make_settings, submit, wait_for

TOKEN = "a-token-of-the-hardening-tests-0123456789"
FOREIGN = "http://evil.example:8000"
CSV = b"time,open,high,low,close,volume\n" + b"".join(
    f"2024-01-{day:02d},1,2,0.5,1.5,10\n".encode() for day in range(1, 29)
)


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[TestClient]:
    """The app without workers (jobs stay queued)."""
    with TestClient(create_app(make_settings(tmp_path), workers=0)) as client:
        yield client


# -- 1. DNS rebinding: only the server's own host names --------------------------------


def test_a_request_naming_another_host_gets_400_and_no_data(idle: TestClient) -> None:
    job_id = submit(idle, **FAST)
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example"):
        for method, url in [("GET", "/api/jobs"), ("GET", "/api/datasets"), ("GET", "/")]:
            answer = idle.request(method, url, headers={"Host": host})
            assert answer.status_code == 400, (host, url, answer.text)
            assert "host" in answer.json()["detail"]
            assert job_id not in answer.text
        queued = idle.post("/api/train", json=FAST, headers={"Host": host})
        assert queued.status_code == 400
    assert idle.get("/api/jobs").json()["total"] == 1  # nothing was queued
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000"):
        assert idle.get("/api/jobs", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_are_the_loopback_names_the_bound_address_and_the_extra_ones() -> None:
    assert allowed_hosts() == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts(bind="0.0.0.0") == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts(["SSOTS.example "], bind="192.168.1.10")[3:] == [
        "192.168.1.10",
        "ssots.example",
    ]
    assert allowed_hosts(bind="fe80::1")[3] == "[fe80::1]"
    settings = Settings.from_env({"SSOTS_ALLOWED_HOSTS": "a.example, b.example"})
    assert settings.allowed_hosts == ("a.example", "b.example")


def test_serve_answers_the_names_of_allowed_hosts_only(tmp_path: Path) -> None:
    with Server(tmp_path, workers=0, args=("--allowed-hosts", "ssots.test,other.test")) as server:
        for host in ("ssots.test", f"other.test:{server.port}", f"localhost:{server.port}"):
            assert server.client.get("/api/jobs", headers={"Host": host}).status_code == 200
        refused = server.client.get("/api/jobs", headers={"Host": "evil.example"})
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/json"
        assert "jobs" not in refused.json()


# -- 4. cross-site requests ------------------------------------------------------------


def test_state_changes_from_another_origin_are_refused(idle: TestClient) -> None:
    job_id = submit(idle, **FAST)
    foreign = {"Origin": FOREIGN}
    attempts = [
        idle.post("/api/train", json=FAST, headers=foreign),
        idle.post("/api/train", headers=foreign),
        idle.post("/api/train", json=FAST, headers={"Origin": "null"}),
        idle.post("/api/train", json=FAST, headers={"Sec-Fetch-Site": "cross-site"}),
        idle.post("/api/train", json=FAST, headers={"Sec-Fetch-Site": "same-site"}),
        idle.post(f"/api/jobs/{job_id}/cancel", headers=foreign),
        idle.post("/api/datasets", files={"file": ("x.csv", CSV)}, headers=foreign),
        idle.delete("/api/datasets/0123456789ab", headers=foreign),
    ]
    for answer in attempts:
        assert answer.status_code == 403, answer.text
        assert "cross-origin" in answer.json()["detail"]
    assert idle.get("/api/jobs").json()["total"] == 1
    assert idle.get(f"/api/jobs/{job_id}").json()["status"] == "queued"
    assert [d for d in idle.get("/api/datasets").json()["datasets"] if d["registered"]] == []
    # Reading stays open to everyone who names the host; the dashboard's own origin passes.
    assert idle.get("/api/jobs", headers=foreign).status_code == 200
    own = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    assert idle.post("/api/train", json=FAST, headers=own).status_code == 202
    assert idle.post(f"/api/jobs/{job_id}/cancel", headers=own).status_code == 202


def test_train_needs_a_json_body(idle: TestClient) -> None:
    body = json.dumps(FAST)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        answer = idle.post("/api/train", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 415, (content_type, answer.text)
        assert "application/json" in answer.json()["detail"]
    bare = idle.post("/api/train")
    assert bare.status_code == 422
    assert bare.json()["detail"][0]["loc"] == ["body"]
    assert idle.get("/api/jobs").json()["total"] == 0
    assert idle.post("/api/train", json={}).status_code == 202
    assert (
        idle.post(
            "/api/train", content="{}", headers={"Content-Type": "application/json; charset=utf-8"}
        ).status_code
        == 202
    )


def test_an_upload_must_be_a_form(idle: TestClient) -> None:
    answer = idle.post("/api/datasets", content=CSV, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 415
    assert "multipart/form-data" in answer.json()["detail"]


# -- 5. odd JSON: never a 500, never a long echo ---------------------------------------


ODD_VALUES = ["NaN", "Infinity", "-Infinity", "1e309", '"\\ud800"', '"\\udfff-demo"']


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_json_values_in_any_field_answer_422(idle: TestClient, value: str) -> None:
    for name in FIELDS:
        field = FIELDS[name].api
        body = f'{{"{field}": {value}}}'
        answer = idle.post("/api/train", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (field, value, answer.text)
        issues = answer.json()["detail"]
        assert field in issues[0]["loc"], issues
        answer.content.decode("utf-8")  # valid UTF-8 JSON
    assert idle.get("/api/jobs").json()["total"] == 0


def test_an_error_echoes_only_a_short_prefix_of_the_input(idle: TestClient) -> None:
    huge = "x" * 1_000_000
    for body in ({"strategy": huge}, {"dataset": huge, "datasetSource": "local"}, {huge: 1}):
        answer = idle.post("/api/train", json=body)
        assert answer.status_code == 422
        assert len(answer.content) < 3000, len(answer.content)
    issue = idle.post("/api/train", json={"strategy": huge}).json()["detail"][0]
    assert issue["input"].startswith("xxxx")
    assert len(issue["input"]) <= 41


def test_malformed_json_answers_400(idle: TestClient) -> None:
    for body in ('{"epochs": ', "[1, 2", "{'epochs': 5}"):
        answer = idle.post("/api/train", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"][0]["type"] == "json_invalid"


def test_a_seed_of_2_to_the_32_answers_422(idle: TestClient) -> None:
    answer = idle.post("/api/train", json={**FAST, "seed": 2**32})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "seed"]
    assert idle.post("/api/train", json={**FAST, "seed": 2**32 - 1}).status_code == 202


# -- 6. the token before the body ------------------------------------------------------


def _upload_scope(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/datasets",
        "raw_path": b"/api/datasets",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def _send_upload(app: Any, headers: dict[str, str], chunks: int) -> tuple[int, int]:
    """Send a multipart upload of ``chunks`` chunks of 64 KiB; the status of the answer
    and how many chunks the server read."""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    read = 0
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if read > chunks:
            return {"type": "http.disconnect"}
        body = head if read == 1 else b"x" * 65536
        return {"type": "http.request", "body": body, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    headers = {
        "Host": "127.0.0.1:8000",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(chunks * 65536),
        **headers,
    }
    anyio.run(app, _upload_scope(headers), receive, send)
    return answer["status"], read


def test_an_upload_without_the_token_is_refused_before_its_body_is_read(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(tmp_path, api_token=TOKEN), workers=0)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        status, read = _send_upload(app, headers, chunks=1000)  # a 64 MB body
        assert (status, read) == (401, 0), headers
    # With the token, the body is read (and refused for what it is, not for the token).
    status, read = _send_upload(app, {"Authorization": f"Bearer {TOKEN}"}, chunks=20)
    assert status != 401
    assert read >= 20


def test_a_stalled_body_is_answered_408() -> None:
    inner = FastAPI()

    @inner.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app = RequestGuard(inner, token=None, protected=lambda path: False, body_timeout=0.2)
    statuses: list[int] = []

    async def stalled() -> dict[str, Any]:
        if not statuses:
            statuses.append(0)
            return {"type": "http.request", "body": b"{", "more_body": True}
        await anyio.sleep(5)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        **_upload_scope({"Content-Type": "application/json", "Content-Length": "10"}),
        "path": "/echo",
        "raw_path": b"/echo",
    }
    started = time.monotonic()
    anyio.run(app, scope, stalled, send)
    assert statuses[-1] == 408
    assert time.monotonic() - started < 4


# -- the token itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (f" {TOKEN}", "whitespace"),
        (f"{TOKEN}\n", "whitespace"),
        ("short-token", "at least 32"),
        ("x" * 31, "at least 32"),
    ],
)
def test_a_token_with_whitespace_or_under_32_characters_is_refused(
    tmp_path: Path, token: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message) as refused:
        Settings.from_env({"SSOTS_HOME": str(tmp_path), "SSOTS_API_TOKEN": token})
    assert token.strip() not in str(refused.value)
    result = CliRunner().invoke(
        cli, ["serve", "--port", "1"], env={"SSOTS_HOME": str(tmp_path), "SSOTS_API_TOKEN": token}
    )
    assert result.exit_code == 2
    assert "SSOTS_API_TOKEN" in result.output
    assert message in result.output
    assert token.strip() not in result.output
    assert "Traceback" not in result.output


# -- 8. event streams: capped per client and in total ----------------------------------


def _open_stream(url: str, job_id: str, address: str, opened: list[httpx.Client]) -> httpx.Response:
    """Open the job's event stream from the loopback ``address`` (kept open)."""
    client = httpx.Client(
        base_url=url, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )
    opened.append(client)
    request = client.build_request("GET", f"/api/jobs/{job_id}/events")
    return client.send(request, stream=True)


def test_event_streams_are_capped_per_client_and_in_total(tmp_path: Path) -> None:
    env = {"SSOTS_MAX_STREAMS": "3", "SSOTS_MAX_STREAMS_PER_CLIENT": "2"}
    opened: list[httpx.Client] = []
    with Server(tmp_path, workers=0, env=env) as server:
        job_id = submit(server.client, **FAST)  # stays queued: its stream stays open
        try:
            first = [_open_stream(server.url, job_id, "127.0.0.1", opened) for _ in range(2)]
            assert [answer.status_code for answer in first] == [200, 200]
            third = _open_stream(server.url, job_id, "127.0.0.1", opened)
            assert third.status_code == 429
            assert int(third.headers["Retry-After"]) > 0
            assert "SSOTS_MAX_STREAMS_PER_CLIENT" in json.loads(third.read())["detail"]
            other = _open_stream(server.url, job_id, "127.0.0.2", opened)
            assert other.status_code == 200
            full = _open_stream(server.url, job_id, "127.0.0.3", opened)
            assert full.status_code == 429
            assert "SSOTS_MAX_STREAMS" in json.loads(full.read())["detail"]
            first[0].close()  # a closed stream gives its slot back
            wait_for(
                lambda: _open_stream(server.url, job_id, "127.0.0.3", opened).status_code == 200
            )
        finally:
            for client in opened:
                client.close()


def test_a_bad_last_event_id_answers_422_json(idle: TestClient) -> None:
    job_id = submit(idle, **FAST)
    for value in ("12345678901234567890", "abc", "-1", "1.5"):
        answer = idle.get(f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": value})
        assert answer.status_code == 422, (value, answer.text)
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["detail"][0]["loc"] == ["header", "last-event-id"]


# -- low: 405, framing, /training?job= -------------------------------------------------


def test_a_405_always_lists_the_allowed_methods(idle: TestClient) -> None:
    job = "0123456789abcdef"
    cases = {
        "/api/health": {"GET"},
        "/api/train": {"GET", "POST"},
        f"/api/jobs/{job}/cancel": {"POST"},
        "/api/datasets": {"GET", "POST"},
        "/api/datasets/0123456789ab": {"GET", "DELETE"},
        "/": {"GET"},
        "/static/dashboard.css": {"GET", "HEAD"},
    }
    for path, expected in cases.items():
        answer = idle.request("PATCH", path)
        assert answer.status_code == 405, path
        allowed = {method.strip() for method in answer.headers["Allow"].split(",")}
        assert allowed == expected, path


def test_every_response_forbids_framing(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, api_token=TOKEN), workers=0)
    with TestClient(app) as client:
        answers = [
            client.get("/"),
            client.get("/training"),
            client.get("/static/dashboard.css"),
            client.get("/api/health"),
            client.get("/api/jobs"),  # 401
            client.get("/api/nothing-here"),
            client.get("/docs"),
            client.get("/api/health", headers={"Host": "evil.example"}),  # 400
        ]
    for answer in answers:
        assert answer.headers["X-Frame-Options"] == "DENY", answer.url
        policy = answer.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy, answer.url
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    page_policy = answers[0].headers["Content-Security-Policy"]
    assert "script-src 'self';" in page_policy  # no inline script on the dashboard


@pytest.mark.parametrize("job", ["<script>alert(1)</script>", "../api/datasets", "0" * 17, "X"])
def test_training_page_refuses_a_job_that_is_not_a_job_id(idle: TestClient, job: str) -> None:
    answer = idle.get("/training", params={"job": job})
    assert answer.status_code == 404
    assert "<script>alert" not in answer.text
    assert idle.get("/training", params={"job": "0123456789abcdef"}).status_code == 200
    assert idle.get("/training").status_code == 200


# -- low: health during a burst --------------------------------------------------------


def test_health_answers_200_throughout_a_300_submission_burst(tmp_path: Path) -> None:
    with Server(tmp_path, workers=0, env={"SSOTS_QUEUE_LIMIT": "1000"}) as server:
        health: list[tuple[int, float]] = []
        bursting = threading.Event()
        bursting.set()

        def watch() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while bursting.is_set():
                    asked = time.monotonic()
                    code = client.get("/api/health").status_code
                    health.append((code, time.monotonic() - asked))
                    time.sleep(0.05)

        def post(_: int) -> int:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                return client.post("/api/train", json=FAST).status_code

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with ThreadPoolExecutor(max_workers=50) as pool:
                codes = list(pool.map(post, range(300)))
        finally:
            bursting.clear()
            watcher.join()
        assert codes == [202] * 300
        assert len(health) >= 3
        assert {code for code, _ in health} == {200}
        # A liveness bound, not a benchmark (benchmarks/bench_api.py measures it).
        assert max(took for _, took in health) < 10
