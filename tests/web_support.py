"""Helpers of the API, job and serve tests: settings in a temporary home, an in-process
test client, a real ``ssots serve`` subprocess on a free loopback port, polling and SSE."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

import postgres_support
from ssots.config import Settings, variable

with warnings.catch_warnings():  # Starlette suggests httpx2, which is not needed here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as StarletteTestClient

__all__ = ["TestClient"]

LOOPBACK_URL = "http://127.0.0.1"
"""Where test clients send requests: a name the app answers (it refuses other hosts,
Starlette's default ``testserver`` among them)."""


class TestClient(StarletteTestClient):
    """Starlette's test client, sending ``Host: 127.0.0.1`` as a local browser or curl
    would (the app answers only the names of its own address)."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, app: Any, base_url: str = LOOPBACK_URL, **kwargs: Any) -> None:
        super().__init__(app, base_url=base_url, **kwargs)

FAST = {"demoDays": 200, "epochs": 5}
"""Body fields of a job that trains in well under a second."""
LONG = {"demoDays": 200, "epochs": 100_000, "patience": 100_000}
"""Body fields of a job that trains until it is cancelled (about a minute at least)."""
LEGACY_BODY = {
    "dataset": "bitcoin-demo",
    "datasetSource": "demo",
    "strategy": "momentum-cross",
    "epochs": 50,
    "learningRate": 0.01,
}
"""The exact body the earlier dashboard sent."""
WAIT = 90.0
"""Generous limit of every wait: CI machines are slow and loaded."""
ACTIVE = ("queued", "in_progress")


def home_env(home: Path) -> dict[str, str]:
    """The environment naming ``home`` and, while the ``postgres`` backend is active, the
    home's database on the test server."""
    env = {"SSOTS_HOME": str(home)}
    url = postgres_support.database_url(home)
    if url is not None:
        env["SSOTS_DATABASE_URL"] = url
    return env


def make_settings(home: Path, **overrides: Any) -> Settings:
    """Settings of a fresh home folder (and its database, see ``home_env``) with
    ``overrides``."""
    env = {variable(name): str(value) for name, value in overrides.items()}
    return Settings.from_env({**home_env(home), **env})


def wait_for(condition: Callable[[], Any], timeout: float = WAIT, every: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def train_status(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """``GET /api/train?jobId=`` as JSON (asserting 200)."""
    response = client.get("/api/train", params={"jobId": job_id})
    assert response.status_code == 200, response.text
    return response.json()


def wait_finished(client: httpx.Client, job_id: str, timeout: float = WAIT) -> dict[str, Any]:
    """The job's status once it is no longer queued or in progress."""
    return wait_for(
        lambda: (s := train_status(client, job_id))["status"] not in ACTIVE and s,
        timeout,
        every=0.2,
    )


def wait_epoch(client: httpx.Client, job_id: str, epoch: int = 1) -> dict[str, Any]:
    """The job's status once it is in progress past ``epoch``."""

    def reached() -> dict[str, Any] | None:
        status = train_status(client, job_id)
        assert status["status"] in ACTIVE, status
        return status if status["status"] == "in_progress" and status["epoch"] >= epoch else None

    return wait_for(reached, every=0.05)


def submit(client: httpx.Client, **fields: Any) -> str:
    """Queue a job (asserting 202) and return its id."""
    response = client.post("/api/train", json=fields)
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse a text/event-stream body into {"id", "event", "data"} dicts."""
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[name] = json.loads(value) if name == "data" else value


class Server:
    """``ssots serve`` in a subprocess on a free loopback port.

    Args:
        home: its SSOTS_HOME.
        workers: worker processes.
        env: extra environment variables.
    """

    def __init__(
        self,
        home: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        home.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, **home_env(home), **(env or {})}
        command = [
            sys.executable,
            "-m",
            "ssots",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            *args,
        ]
        with self.log.open("w") as out:  # (its own process group, as a terminal gives it)
            self.process = subprocess.Popen(
                command,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.client = httpx.Client(base_url=self.url, timeout=30)
        wait_for(self._healthy, every=0.2)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"ssots serve exited:\n{self.log.read_text()}")
        try:
            return self.client.get("/api/health").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (no clean-up runs)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.client.close()

    def stop(self) -> None:
        """Stop the server as Ctrl-C would, killing it if it does not exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.client.close()

    def ctrl_c(self) -> int:
        """Send SIGINT to the server's whole process group, as Ctrl-C in its terminal
        does (its forkserver and workers get it too); its exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(30)
        finally:
            self.client.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
