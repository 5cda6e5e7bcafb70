"""Native thread pools: the budget ``limit_threads`` applies to BLAS, OpenMP and numba
(checked in fresh interpreters, since it changes process-wide state), the baselines
staying within it, and job workers started by ``LocalExecutor`` running on the threads
they were given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ssots._threads import available_cores, threads_per_worker
from ssots.jobs import LocalExecutor
from ssots.store import open_database
from ssots.store.jobs import QUEUED, RUNNING, SUCCEEDED, JobStore
from web_support import make_settings, wait_for


def run_python(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("workers", "cores", "expected"), [(1, 8, 8), (2, 8, 4), (3, 8, 2), (2, 2, 1), (4, 2, 1)]
)
def test_workers_share_the_cores_with_at_least_one_thread_each(
    workers: int, cores: int, expected: int
) -> None:
    assert threads_per_worker(workers, cores) == expected


def test_available_cores_are_the_cores_this_process_may_use() -> None:
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def test_the_budget_reaches_libraries_loaded_before_and_after_it() -> None:
    report = run_python(
        "import json, numpy\n"  # BLAS loaded before the call
        "from ssots._threads import limit_threads, thread_report\n"
        "limit_threads(1)\n"
        "import sklearn.ensemble, numba\n"  # OpenMP and numba loaded after it
        "print(json.dumps({**thread_report(), 'numba_pool': numba.config.NUMBA_NUM_THREADS}))"
    )
    assert report == {"budget": 1, "blas": 1, "openmp": 1, "numba": 1, "numba_pool": 1}


def test_a_new_budget_applies_to_numba_already_imported() -> None:
    report = run_python(
        "import json, numba, numpy, sklearn.ensemble\n"
        "from ssots._threads import limit_threads, thread_report\n"
        "limit_threads(2)\n"
        "limit_threads(1)\n"
        "print(json.dumps(thread_report()))"
    )
    assert report == {"budget": 1, "blas": 1, "openmp": 1, "numba": 1}


def test_baselines_run_within_the_budget_even_when_a_pool_was_raised() -> None:
    report = run_python(
        "import json, numpy as np\n"
        "from threadpoolctl import threadpool_info, threadpool_limits\n"
        "from sklearn.ensemble import HistGradientBoostingRegressor as H\n"
        "from sklearn.linear_model import Ridge as R\n"
        "from ssots._threads import limit_threads\n"
        "from ssots.evaluate import baseline_predictions\n"
        "limit_threads(1)\n"
        "threadpool_limits(limits=4)\n"  # some library raised every pool after start-up
        "seen = []\n"
        "def spy(fit):\n"
        "    def wrapped(self, X, y, *a, **k):\n"
        "        seen.append({p['user_api']: p['num_threads'] for p in threadpool_info()})\n"
        "        return fit(self, X, y, *a, **k)\n"
        "    return wrapped\n"
        "H.fit, R.fit = spy(H.fit), spy(R.fit)\n"
        "x = np.random.default_rng(0).standard_normal((300, 8)); y = x[:, 0]\n"
        "baseline_predictions(x, y, x, seed=0)\n"
        "after = {p['user_api']: p['num_threads'] for p in threadpool_info()}\n"
        "print(json.dumps({'seen': seen, 'after': after}))"
    )
    assert report["seen"] == [{"blas": 1, "openmp": 1}] * 2
    assert report["after"] == {"blas": 4, "openmp": 4}  # the limit was scoped to the fits


@pytest.mark.parametrize("threads", [1, 2])
def test_a_job_worker_runs_on_the_threads_the_executor_gives_it(
    tmp_path: Path, threads: int
) -> None:
    settings = make_settings(tmp_path / "home")
    store = JobStore(open_database(settings))
    spec = {"dataset": "demo", "epochs": 3, "demo_days": 200}
    job_id = store.create(spec=spec, request={}, queue_limit=10).id
    executor = LocalExecutor(settings, capacity=4, threads_per_worker=threads)
    try:
        executor.start(store.claim_next())
        wait_for(lambda: store.get(job_id).status not in (QUEUED, RUNNING), timeout=240)
    finally:
        executor.close()
    row = store.get(job_id)
    assert row.status == SUCCEEDED, row.message
    report = row.result["threads"]
    assert report == {"budget": threads, "blas": threads, "openmp": threads, "numba": threads}


def test_the_default_gives_each_of_several_workers_its_share(tmp_path: Path) -> None:
    executor = LocalExecutor(make_settings(tmp_path / "home"), capacity=2)
    assert executor.threads_per_worker == max(1, available_cores() // 2)
