"""Job concurrency without thread oversubscription: the wall time of 4 demo jobs through
``ssots serve --workers 2`` over twice the wall time of one job alone on the same server.
Target <= 1.3 (two workers on two cores: four jobs should take about two jobs' time).

Starts ``ssots serve --workers 2`` (default threads per worker) on a free loopback port in
a temporary home, runs one warm-up job (forkserver start-up, numba's cache), then one job
alone three times (their median is the reference), then ``--jobs`` jobs submitted together
through ``POST /api/train``, timed from submission until the last one's ``finished_at``
(``GET /api/jobs``, polled 4 times a second). Every wait is bounded; the server is stopped
at the end. The figure is the last line printed.

    python benchmarks/bench_concurrency.py [--jobs 4] [--timeout 600]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _serve import free_port, get, post, start_server
from ssots.spec import JobStatus

TARGET = 1.3
JOB: dict[str, Any] = {}  # the contract's defaults: the demo dataset, default epochs
ENDED = frozenset(status.value for status in JobStatus if status.is_final)
ALONE = 3
"""Jobs run alone, one after another; their median is the reference."""
POLL = 0.25
"""Seconds between the client's polls of ``GET /api/jobs``."""


def main() -> None:
    """Run the benchmark and print the figure on the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="jobs submitted together")
    parser.add_argument("--workers", type=int, default=2, help="ssots serve --workers")
    parser.add_argument("--timeout", type=float, default=600.0, help="most seconds per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        server = start_server(Path(home), port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            warm = _run_jobs(base, 1, args.timeout)
            print(f"warm-up job: {warm:.2f} s")
            alone = statistics.median(_run_jobs(base, 1, args.timeout) for _ in range(ALONE))
            print(f"one job alone: {alone:.2f} s (median of {ALONE})")
            together = _run_jobs(base, args.jobs, args.timeout)
            print(f"{args.jobs} jobs on {args.workers} workers: {together:.2f} s")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    ratio = together / (2 * alone)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(
        f"{args.jobs} jobs with --workers {args.workers} / (2 x one job alone): {ratio:.2f} "
        f"(target <= {TARGET}): {verdict}"
    )


def _run_jobs(base: str, count: int, timeout: float) -> float:
    """Submit ``count`` jobs at once; seconds from the first submission until the last job
    ended, by the server's ``finished_at`` (all must succeed). Polls one job list every
    ``POLL`` seconds, so that the client costs the server little. Prints each job's own
    running time (from its worker's start to its end)."""
    submitted = time.time()
    ids = {post(f"{base}/api/train", JOB)["jobId"] for _ in range(count)}
    deadline = time.monotonic() + timeout
    while True:
        jobs = {job["id"]: job for job in get(f"{base}/api/jobs?limit=500")["jobs"]}
        mine = [jobs[job_id] for job_id in ids if job_id in jobs]
        if len(mine) == count and all(job["status"] in ENDED for job in mine):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} jobs not all done within {timeout:.0f} s")
        time.sleep(POLL)
    failed = [job for job in mine if job["status"] != "succeeded"]
    if failed:
        raise SystemExit(f"jobs failed: {failed}")
    running = sorted(job["elapsed_seconds"] for job in mine)
    print(f"  each job running: {', '.join(f'{s:.2f}' for s in running)} s")
    last = max(datetime.fromisoformat(job["finished_at"]).timestamp() for job in mine)
    return last - submitted


if __name__ == "__main__":
    main()
