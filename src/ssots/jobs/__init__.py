"""The job system: training runs as database rows, executed by worker processes.

- ``JobManager`` dispatches queued jobs, enforces cancellation and recovers jobs a dead
  server left running;
- ``LocalExecutor`` runs each attempt in its own process on this machine (``Executor`` is
  the seam for other executors);
- ``worker`` runs ``pipeline.run`` inside the process and records events and results;
- ``scheduler`` holds the server's ``Scheduler`` (schedules fired once, scheduled runs
  settled with their promotion) and ``WebhookSender`` (the outbox delivered).

Rows and queries live in ``ssots.store.jobs``.
"""

from ssots.jobs.executor import Executor, LocalExecutor
from ssots.jobs.manager import JobManager

__all__ = ["Executor", "JobManager", "LocalExecutor"]
