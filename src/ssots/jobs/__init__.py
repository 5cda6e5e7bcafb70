"""The job system: training runs as database rows, executed by worker processes.

- ``JobManager`` dispatches queued jobs, enforces cancellation and reaps expired leases
  (several servers and ``ssots worker`` processes may share one database);
- ``LocalExecutor`` runs attempts in worker processes on this machine (one at a time
  each, the process kept for the next);
  ``cluster.RayExecutor`` runs each as a Ray task (``make_executor`` picks by settings);
- ``worker`` runs ``pipeline.run`` inside the process and records events and results;
- ``scheduler`` holds the server's ``Scheduler`` (schedules fired once, scheduled runs
  settled with their promotion) and ``WebhookSender`` (the outbox delivered).

Rows and queries live in ``ssots.store.jobs``.
"""

from ssots.jobs.executor import Executor, LocalExecutor, make_executor
from ssots.jobs.manager import JobManager

__all__ = ["Executor", "JobManager", "LocalExecutor", "make_executor"]
