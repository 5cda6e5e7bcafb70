"""The scheduler and the webhook sender: two threads of the serving process, started and
stopped with the job manager. Both are safe to run in several servers sharing one
database (every write they make is a conditional update or a unique insert), and both
take their clock and interval as arguments, so tests drive them without waiting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from ssots.config import Settings
from ssots.store.db import Database

log = logging.getLogger(__name__)

SCHEDULER_INTERVAL = 1.0
"""Seconds between scheduler rounds."""
SENDER_INTERVAL = 0.5
"""Seconds between sender rounds when nothing wakes it sooner."""


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class _Loop:
    """A daemon thread calling ``tick`` every ``interval`` seconds until stopped; a round
    that fails is logged and the next one runs."""

    name = "ssots-loop"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:  # pragma: no cover - overridden
        """One round."""

    def start(self) -> None:
        """Run rounds in a background thread."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a round now."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("%s round failed; retrying", self.name)
            self._wake.wait(self.interval)
            self._wake.clear()


class Scheduler(_Loop):
    """Fires due schedules, settles ended scheduled runs (registering the challenger and
    deciding its promotion) and reports stale champions, each round.

    Args:
        settings: the server's settings (misfire grace; where datasets live).
        database: the server's database.
        clock: the current time (aware); tests pass a fake.
        interval: seconds between rounds.
        on_fire: called when a round queued jobs (wakes the job manager).
    """

    name = "ssots-scheduler"

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        interval: float = SCHEDULER_INTERVAL,
        on_fire: Callable[[], None] | None = None,
    ) -> None:
        from ssots.store.schedules import ScheduleStore

        super().__init__(interval)
        self.settings = settings
        self.store = ScheduleStore(database)
        self.clock = clock
        self.on_fire = on_fire

    def tick(self) -> None:
        """One round at ``clock()``."""
        from ssots.services.schedules import check_stale, settle, tick

        moment = self.clock()
        written = tick(self.store, self.settings, moment)
        if any(row.job_id for row in written) and self.on_fire is not None:
            self.on_fire()
        settle(self.store, self.settings)
        check_stale(self.store, self.settings, moment)


class WebhookSender(_Loop):
    """Delivers due webhook deliveries each round (``services.webhooks.deliver_due``).

    Args:
        settings: the server's settings (the secrets' key, retry scale, private targets).
        database: the server's database.
        interval: seconds between rounds.
    """

    name = "ssots-webhook-sender"

    def __init__(
        self, settings: Settings, database: Database, *, interval: float = SENDER_INTERVAL
    ) -> None:
        from ssots.store.webhooks import WebhookStore

        super().__init__(interval)
        self.store = WebhookStore(database, settings)

    def tick(self) -> None:
        """Attempt every delivery due now."""
        from ssots.services.webhooks import deliver_due

        deliver_due(self.store)
