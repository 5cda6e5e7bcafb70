"""This process's native thread pools: BLAS (NumPy, Ridge), OpenMP (scikit-learn's
HistGradientBoosting) and numba (the indicator loops), set explicitly instead of each
library starting one thread per core on its own.

A lone ``ssots`` command gets the cores this process may run on (``available_cores``);
each job worker of ``ssots serve --workers N`` gets ``threads_per_worker(N)``, one thread
per worker when the workers share the cores. ``limit_threads`` applies a budget to every
pool: through threadpoolctl to the libraries already loaded, through their environment
variables to those loaded later (OpenMP and OpenBLAS read them when they load, numba when
it is imported), and through ``numba.set_num_threads`` once numba is imported. Code that
starts a pool of its own (the baselines) asks ``thread_budget()`` and stays within it.

OpenMP threads wait for work passively (``OMP_WAIT_POLICY=PASSIVE`` unless the user set
it): spinning waits turn a busy machine into a stall. On this 2-core machine under load,
HistGradientBoosting on 700 rows took 0.1 s with 1 thread, 0.6 to 7 s with 2 spinning
threads and 0.17 s with 2 passive ones.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = [
    "THREAD_VARIABLES",
    "available_cores",
    "limit_threads",
    "passive_waits",
    "thread_budget",
    "thread_report",
    "threads_per_worker",
]

THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
"""What native libraries read, when they load, for the size of their thread pool."""

_budget: int | None = None
_limits: Any = None  # the threadpoolctl limits kept in force for the process's lifetime


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Native threads for each of ``workers`` processes sharing ``cores`` (default: the
    available cores): ``max(1, cores // workers)``."""
    cores = available_cores() if cores is None else cores
    return max(1, cores // max(1, workers))


def passive_waits() -> None:
    """OpenMP runtimes loaded from now on, in this process and the processes it starts,
    wait for work passively (``OMP_WAIT_POLICY=PASSIVE``), unless the user chose a policy."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def limit_threads(threads: int) -> int:
    """Give every native thread pool of this process at most ``threads`` threads.

    Call it at process start, before any computation; calling it again changes the budget.

    Args:
        threads: the budget (>= 1).

    Returns:
        The budget applied.
    """
    global _budget, _limits
    threads = max(1, int(threads))
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    passive_waits()
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)  # read once, when numba is imported
    else:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if "numpy" in sys.modules:  # NumPy loads BLAS; nothing native is loaded before it
        from threadpoolctl import threadpool_limits

        _limits = threadpool_limits(limits=threads)
    _budget = threads
    return threads


def thread_budget() -> int:
    """The budget ``limit_threads`` set, else the available cores."""
    return available_cores() if _budget is None else _budget


def thread_report() -> dict[str, int]:
    """The budget and the threads each loaded pool would use now (``blas``, ``openmp``:
    the most any loaded library of that kind reports; ``numba`` when it is imported)."""
    from threadpoolctl import threadpool_info

    report = {"budget": thread_budget()}
    for pool in threadpool_info():
        api = pool["user_api"]
        report[api] = max(report.get(api, 0), int(pool["num_threads"]))
    numba = sys.modules.get("numba")
    if numba is not None:
        report["numba"] = int(numba.get_num_threads())
    return report
