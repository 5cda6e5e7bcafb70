"""The Ray executor: each attempt of a job (any kind) runs as a task on a Ray cluster.

The task runs ``worker.run_attempt``: the attempt under its lease, as a local worker
process runs it (``worker.run_leased``). It opens
the shared database by the URL in the settings it is given, renews the attempt's lease,
writes events and the result fenced by the claim, and writes the weights file under its
``SSOTS_HOME`` (a folder shared by the nodes, or each node's own; the weights document is
in the job's row either way). Ray's own retries are off (``max_retries=0``): a task whose
worker process dies is reported lost and the job manager re-queues the job (within the
attempt limit); a task lost with its node stops renewing its lease and any server's
reaper re-queues it. Cancelling maps to ``ray.cancel(force=True)``.

``ray`` is an optional dependency (``pip install 'ssots[ray]'``), imported here only.
"""

from __future__ import annotations

import logging
from typing import Any

from ssots.config import Settings
from ssots.errors import UnavailableError
from ssots.store.jobs import Attempt

log = logging.getLogger(__name__)

TASK_PREFIX = "ssots-job-"
"""Ray task names: the prefix and the job id (``ray list tasks`` shows them)."""


def run_task(attempt: Attempt, settings: Settings, threads: int) -> None:
    """The body of a Ray task: one attempt, as a local worker process runs it."""
    from ssots.jobs.worker import run_attempt

    run_attempt(attempt, settings, None, threads)


class RayExecutor:
    """Attempts as Ray tasks, at most ``capacity`` in flight.

    Args:
        settings: passed to every task (its database URL must reach the cluster's nodes).
        capacity: most tasks in flight at once.
        threads_per_task: native threads (and Ray CPUs) of each task.

    Raises:
        UnavailableError: ``ray`` is not installed, or the cluster cannot be reached.
    """

    def __init__(self, settings: Settings, capacity: int, *, threads_per_task: int = 1) -> None:
        try:
            import ray
        except ImportError:
            raise UnavailableError(
                "the ray executor needs Ray: pip install 'ssots[ray]'"
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=settings.ray_address or None,
                    ignore_reinit_error=True,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UnavailableError(
                    f"cannot reach the Ray cluster at {settings.ray_address or 'RAY_ADDRESS'}"
                    f" ({exc}); start it with `ray start --head` or fix --ray-address"
                ) from exc
        self.settings = settings
        self.capacity = capacity
        self.threads_per_task = threads_per_task
        self._remote = ray.remote(num_cpus=threads_per_task, max_retries=0)(run_task)
        self._tasks: dict[str, tuple[Attempt, Any]] = {}

    def start(self, attempt: Attempt) -> None:
        """Submit ``attempt`` as a task named ``ssots-job-<id>``."""
        ref = self._remote.options(name=f"{TASK_PREFIX}{attempt.job_id}").remote(
            attempt, self.settings, self.threads_per_task
        )
        self._tasks[attempt.job_id] = (attempt, ref)

    def running(self) -> list[Attempt]:
        """Attempts submitted and not yet reaped."""
        return [attempt for attempt, _ in self._tasks.values()]

    def reap(self) -> list[tuple[Attempt, int | None]]:
        """Tasks that ended: exit code 0 (returned), 1 (raised), None (its worker or node
        was lost, or it was cancelled)."""
        if not self._tasks:
            return []
        refs = {ref: job_id for job_id, (_, ref) in self._tasks.items()}
        ready, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=0)
        reaped = []
        for ref in ready:
            attempt, _ = self._tasks.pop(refs[ref])
            reaped.append((attempt, self._exit_code(ref)))
        return reaped

    def _exit_code(self, ref: Any) -> int | None:
        exceptions = self._ray.exceptions
        try:
            self._ray.get(ref, timeout=0)
        except exceptions.RayTaskError as exc:
            if isinstance(exc, exceptions.TaskCancelledError):
                return None
            log.error("ray task failed: %s", exc)
            return 1
        except exceptions.RayError as exc:  # worker crashed, node died, object lost
            log.error("ray task lost: %s", type(exc).__name__)
            return None
        return 0

    def kill(self, job_id: str) -> None:
        """Cancel the task of ``job_id`` (its worker process is killed)."""
        _, ref = self._tasks[job_id]
        self._ray.cancel(ref, force=True)

    def close(self) -> None:
        """Cancel every task in flight; their attempts stay listed until reaped."""
        for job_id in list(self._tasks):
            self.kill(job_id)
