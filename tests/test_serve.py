"""``ssots serve`` as a real subprocess on a free loopback port: live events over SSE,
cancellation, a SIGKILL mid-job and the restart after it, and 200 concurrent
submissions against a small queue."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssots.cli.serve import is_loopback
from web_support import (
    FAST,
    LONG,
    Server,
    sse_events,
    submit,
    train_status,
    wait_epoch,
    wait_finished,
    wait_for,
)

pytestmark = pytest.mark.slow


def stream(server: Server, job_id: str, last_event_id: int | None = None) -> list[dict[str, Any]]:
    """Every SSE event of the job until the stream ends."""
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    with server.client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(answer))


def test_events_stream_live_then_done_and_resume(tmp_path: Path) -> None:
    with Server(tmp_path / "home") as server:
        job_id = submit(server.client, demoDays=200, epochs=300, patience=100_000)
        events = stream(server, job_id)
        done = events[-1]
        assert done["event"] == "done"
        assert done["data"]["status"] == "succeeded"
        numbered = events[:-1]
        ids = [int(event["id"]) for event in numbered]
        assert ids == list(range(1, len(ids) + 1))
        epochs = [event["data"]["epoch"] for event in numbered if event["event"] == "epoch"]
        assert epochs == list(range(1, 301))
        middle = ids[len(ids) // 2]
        resumed = stream(server, job_id, last_event_id=middle)
        assert [int(event["id"]) for event in resumed[:-1]] == ids[middle:]
        assert resumed[-1]["event"] == "done"


def test_cancel_stops_a_running_job(tmp_path: Path) -> None:
    with Server(tmp_path / "home") as server:
        job_id = submit(server.client, **LONG)
        wait_epoch(server.client, job_id, epoch=5)
        asked = time.monotonic()
        assert server.client.post(f"/api/jobs/{job_id}/cancel").status_code == 202
        status = wait_finished(server.client, job_id, timeout=30)
        took = time.monotonic() - asked
        assert status["status"] == "cancelled"
        # Nominally well under a second (the worker checks ~10 times a second, a hard
        # kill follows after 1 s); 5 s leaves room for a loaded CI machine.
        assert took < 5, took


def _processes_of(home: Path) -> list[int]:
    """Processes started with SSOTS_HOME=home (server, forkserver, workers)."""
    marker = f"SSOTS_HOME={home}\0".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes() + b"\0":
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_sigkill_mid_job_then_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Server(home) as server:  # (stopped if the test fails before the kill)
        finished = submit(server.client, **FAST)
        assert wait_finished(server.client, finished)["status"] == "success"
        weights = server.client.get(f"/api/jobs/{finished}/weights").content
        interrupted = submit(server.client, **LONG)
        wait_epoch(server.client, interrupted)
        waiting = submit(server.client, **FAST)
        assert train_status(server.client, waiting)["status"] == "queued"
        server.kill()
    wait_for(lambda: not _processes_of(home))  # the worker died with the server

    with Server(home) as restarted:
        status = train_status(restarted.client, interrupted)
        assert status["status"] == "error"
        assert status["message"] == "interrupted by server restart"
        assert wait_finished(restarted.client, waiting)["status"] == "success"
        assert train_status(restarted.client, finished)["status"] == "success"
        assert restarted.client.get(f"/api/jobs/{finished}/weights").content == weights
        running = restarted.client.get("/api/jobs", params={"status": "running"}).json()
        assert running["total"] == 0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_ctrl_c_stops_the_server_and_its_idle_workers_quietly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Server(home, workers=2) as server:
        for job_id in [submit(server.client, **FAST) for _ in range(2)]:
            assert wait_finished(server.client, job_id)["status"] == "success"
        assert server.ctrl_c() == 0
    wait_for(lambda: not _processes_of(home))  # the workers (idle, kept) ended with it
    assert "Traceback" not in server.log.read_text()


def test_sigkill_then_restart_requeues_when_configured(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"SSOTS_REQUEUE_INTERRUPTED": "1"}
    with Server(home, env=env) as server:
        job_id = submit(server.client, **LONG)
        wait_epoch(server.client, job_id)
        server.kill()
    with Server(home, env=env) as restarted:
        wait_epoch(restarted.client, job_id)
        assert restarted.client.get(f"/api/jobs/{job_id}").json()["attempts"] == 2
        restarted.client.post(f"/api/jobs/{job_id}/cancel")
        assert wait_finished(restarted.client, job_id)["status"] == "cancelled"


def test_200_concurrent_submissions_against_a_small_queue(tmp_path: Path) -> None:
    with Server(tmp_path / "home", workers=2, env={"SSOTS_QUEUE_LIMIT": "5"}) as server:

        def post(_: int) -> tuple[int, dict[str, Any], httpx.Headers]:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answer = client.post("/api/train", json=FAST)
                return answer.status_code, answer.json(), answer.headers

        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(post, range(200)))
        codes = Counter(code for code, _, _ in results)
        assert set(codes) <= {202, 429}, codes
        assert all(int(headers["Retry-After"]) > 0 for code, _, headers in results if code == 429)
        accepted = [body["jobId"] for code, body, _ in results if code == 202]
        assert len(set(accepted)) == len(accepted) == codes[202] >= 5
        total = server.client.get("/api/jobs", params={"limit": 1}).json()["total"]
        assert total == len(accepted)
        for job_id in accepted:
            assert wait_finished(server.client, job_id)["status"] == "success"


def test_a_public_host_needs_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ssots", "serve", "--host", "0.0.0.0", "--port", "1"],
        env={"SSOTS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SSOTS_API_TOKEN" in result.stderr
    assert "--insecure" in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.1.2.3", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
