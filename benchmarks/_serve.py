"""What the service benchmarks share: a real ``ssots serve`` on a free loopback port and
JSON requests to it (standard library only, so the client costs the server nothing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

START_SECONDS = 60.0
"""Longest wait for the server's health check to answer."""


def start_server(
    home: Path, port: int, workers: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``ssots serve --workers N`` on ``port`` with ``home`` as SSOTS_HOME, once its health
    check answers.

    Raises:
        SystemExit: it did not answer within ``START_SECONDS``.
    """
    command = [
        sys.executable, "-m", "ssots", "serve", "--port", str(port),
        "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        env={**os.environ, "SSOTS_HOME": str(home), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            get(f"http://127.0.0.1:{port}/api/health")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"ssots serve did not start within {START_SECONDS:.0f} s")


def get(url: str, timeout: float = 30) -> dict[str, Any]:
    """``GET url`` as JSON."""
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer)


def post(url: str, body: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """``POST url`` with a JSON body, answered as JSON."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.load(answer)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
