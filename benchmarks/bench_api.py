"""Status-poll throughput and latency of ``GET /api/train?jobId=`` on loopback, one
uvicorn worker, while a job trains.

Starts ``ssots serve --workers 1`` on a free loopback port in a temporary home, queues a
long job and waits until it trains, then keeps ``--connections`` keep-alive connections
polling its status for ``--seconds`` (a lean asyncio HTTP/1.1 client, so that the client
costs the 2-core machine as little as possible). Target: at least 1,500 requests/s and
p99 under 25 ms. The result is the last line printed.

Then it sends a burst of 300 submissions from 50 threads and reports the latency of
``GET /api/health`` during it against the same request on the idle server (informative,
no target: the test suite only checks that health answers throughout).

    python benchmarks/bench_api.py [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _serve import free_port, get, post, start_server

TARGET_RPS = 1500
TARGET_P99_MS = 25.0
LONG_JOB = {"demoDays": 3650, "epochs": 100_000, "patience": 100_000, "batchSize": 8}
"""Trains for many minutes (mini-batches of 8 rows), so it runs through the whole measurement."""
FAST_JOB = {"demoDays": 200, "epochs": 5}
BURST = 300
BURST_THREADS = 50


def main() -> None:
    """Run the benchmark and print the figure on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        server = start_server(Path(home), port, 1, {"SSOTS_QUEUE_LIMIT": str(BURST + 10)})
        try:
            base = f"http://127.0.0.1:{port}"
            job_id = post(f"{base}/api/train", LONG_JOB)["jobId"]
            _wait_training(base, job_id)
            _run(_load(port, job_id, 1.0, args.connections))  # warm-up
            latencies, elapsed = _run(_load(port, job_id, args.seconds, args.connections))
            still = get(f"{base}/api/train?jobId={job_id}")["status"]
            post(f"{base}/api/jobs/{job_id}/cancel", {})
            idle, busy = _health_during_burst(base)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    print(
        f"GET /api/health during {BURST} submissions from {BURST_THREADS} threads: "
        f"p50 {statistics.median(busy) * 1e3:.0f} ms, max {max(busy) * 1e3:.0f} ms over "
        f"{len(busy)} checks (idle: p50 {statistics.median(idle) * 1e3:.1f} ms; "
        f"max/idle p50 {max(busy) / statistics.median(idle):,.0f}x)"
    )
    _report(latencies, elapsed, still, args.connections)


def _health_during_burst(base: str) -> tuple[list[float], list[float]]:
    """Health latencies, seconds: on the idle server, then during the burst."""

    def timed() -> float:
        asked = time.perf_counter()
        get(f"{base}/api/health")
        return time.perf_counter() - asked

    idle = [timed() for _ in range(20)]
    busy: list[float] = []
    bursting = threading.Event()
    bursting.set()

    def watch() -> None:
        while bursting.is_set():
            busy.append(timed())
            time.sleep(0.02)

    def submit(_: int) -> None:
        with contextlib.suppress(OSError):  # a 429 (full queue) counts as part of the burst
            post(f"{base}/api/train", FAST_JOB)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=BURST_THREADS) as pool:
            list(pool.map(submit, range(BURST)))
    finally:
        bursting.clear()
        watcher.join()
    return idle, busy


def _report(latencies: list[float], elapsed: float, status: str, connections: int) -> None:
    rps = len(latencies) / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    p50, p90, p99 = cuts[49] * 1e3, cuts[89] * 1e3, cuts[98] * 1e3
    verdict = "PASS" if rps >= TARGET_RPS and p99 < TARGET_P99_MS else "FAIL"
    print(
        f"requests: {len(latencies)} in {elapsed:.1f} s over {connections} connections; "
        f"job status during the run: {status}"
    )
    print(
        f"latency ms: p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {max(latencies) * 1e3:.2f}"
    )
    print(
        f"GET /api/train?jobId= while training: {rps:,.0f} req/s, p99 {p99:.1f} ms "
        f"(target >= {TARGET_RPS:,} req/s, p99 < {TARGET_P99_MS:.0f} ms): {verdict}"
    )


def _run(load: Any) -> Any:
    """Run the load on uvloop when it is installed: the client then costs the machine
    less CPU, which the server under test shares."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load)
    return uvloop.run(load)


async def _load(
    port: int, job_id: str, seconds: float, connections: int
) -> tuple[list[float], float]:
    request = (f"GET /api/train?jobId={job_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").encode()
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_connection(port, request, deadline, latencies) for _ in range(connections))
    )
    return latencies, time.perf_counter() - start


async def _connection(port: int, request: bytes, deadline: float, out: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (sent := time.perf_counter()) < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {head[:200]!r}")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            out.append(time.perf_counter() - sent)
    finally:
        writer.close()


def _wait_training(base: str, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = get(f"{base}/api/train?jobId={job_id}")
        if status["status"] == "in_progress" and status["epoch"] > 0:
            return
        time.sleep(0.1)
    raise SystemExit(f"the job did not start training: {status}")


if __name__ == "__main__":
    main()
