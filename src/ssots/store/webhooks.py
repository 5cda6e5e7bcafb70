"""Webhook subscriptions, the event outbox, deliveries and their attempts: the one place
that reads and writes ``webhooks``, ``outbox_events``, ``webhook_deliveries`` and
``webhook_attempts``.

``enqueue_event(connection, type, data)`` is called by the code that makes a change
(a job ending, a version registered, an alias moved, a fire time missed) inside that
change's own transaction: the event and one delivery row per subscribed, enabled
webhook commit with the change or not at all (a transactional outbox). A sender
(``jobs.sender``) then delivers the rows.

Secrets are stored encrypted (Fernet: AES-128-CBC with an HMAC-SHA256) under the key
``SSOTS_WEBHOOK_KEY``, or else the key file ``$SSOTS_HOME/webhook.key`` (mode 0600,
created on first use). A secret in clear exists only in memory and in the one answer
that creates (or rotates) it.

Claims and outcomes are conditional updates, so two senders sharing a database never
deliver one attempt twice.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ssots.config import Settings
from ssots.errors import NotFoundError, ParameterError
from ssots.store.db import Database
from ssots.store.tables import DeliveryAttemptRow, DeliveryRow, OutboxEventRow, WebhookRow

EVENT_TYPES: tuple[str, ...] = (
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "model.version_created",
    "model.alias_moved",
    "schedule.run_missed",
    "study.finished",
    "model.stale",
)
"""Every event a webhook may subscribe to."""
TEST_EVENT = "webhook.test"
"""The event ``ssots webhooks test`` sends to one subscription only."""
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
ROTATION_OVERLAP = timedelta(hours=24)
"""How long the previous secret stays valid (both signatures are sent) after a rotation."""
KEY_FILE = "webhook.key"
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
RESPONSE_KEPT = 1024
"""Characters of an answer kept per attempt."""

WEBHOOKS = WebhookRow.__table__
EVENTS = OutboxEventRow.__table__
DELIVERIES = DeliveryRow.__table__


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def enqueue_event(connection: Connection, event_type: str, data: dict[str, Any]) -> str:
    """Record event ``event_type`` with ``data`` and a pending delivery for every enabled
    webhook subscribed to it, on ``connection`` (inside the caller's transaction).

    Returns:
        The event's id.
    """
    moment = now()
    event_id = f"evt_{uuid.uuid4().hex}"
    connection.execute(
        insert(EVENTS).values(id=event_id, type=event_type, data=data, created_at=moment)
    )
    rows = connection.execute(
        select(WEBHOOKS.c.id, WEBHOOKS.c.events).where(WEBHOOKS.c.enabled.is_(True))
    ).all()
    targets = [row.id for row in rows if event_type in row.events]
    if targets:
        connection.execute(
            insert(DELIVERIES),
            [_delivery(webhook_id, event_id, moment) for webhook_id in targets],
        )
    return event_id


def _delivery(webhook_id: str, event_id: str, moment: datetime) -> dict[str, Any]:
    return {
        "id": f"msg_{uuid.uuid4().hex}",
        "webhook_id": webhook_id,
        "event_id": event_id,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": moment,
        "created_at": moment,
    }


class SecretBox:
    """Encrypts and decrypts webhook secrets with the installation's key.

    Args:
        settings: ``webhook_key``, or the home holding the key file.
    """

    def __init__(self, settings: Settings) -> None:
        from cryptography.fernet import Fernet

        key = settings.webhook_key
        raw = key.get_secret_value().encode() if key is not None else _key_file(settings.home)
        try:
            self._fernet = Fernet(raw)
        except ValueError:
            raise ParameterError(
                "`SSOTS_WEBHOOK_KEY` must be a Fernet key (32 url-safe base64-encoded bytes), "
                "e.g. the output of `ssots webhooks key`"
            ) from None

    def seal(self, secret: str) -> str:
        """``secret`` encrypted."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """A sealed secret in clear.

        Raises:
            ParameterError: sealed under another key.
        """
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ParameterError(
                "a webhook secret cannot be decrypted with this key: set the "
                "`SSOTS_WEBHOOK_KEY` the secrets were stored with, or rotate them"
            ) from None


def new_key() -> str:
    """A fresh key for ``SSOTS_WEBHOOK_KEY``."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _key_file(home: Path) -> bytes:
    """The key in ``home/webhook.key``, created (mode 0600, never readable by others)
    when there is none."""
    path = home / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    home.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes().strip()
    with os.fdopen(handle, "wb") as file:
        file.write(new_key().encode())
    return path.read_bytes().strip()


@dataclass(frozen=True)
class Webhook:
    """A subscription as shown (never with its secret)."""

    id: str
    url: str
    events: list[str]
    enabled: bool
    allow_private: bool
    created_at: datetime
    disabled_reason: str
    rotating_until: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "url": self.url,
            "events": self.events,
            "enabled": self.enabled,
            "allow_private_targets": self.allow_private,
            "created_at": self.created_at.isoformat(),
            "disabled_reason": self.disabled_reason,
            "previous_secret_valid_until": (
                None if self.rotating_until is None else self.rotating_until.isoformat()
            ),
        }


@dataclass(frozen=True)
class Delivery:
    """A delivery with its event and attempts."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "last_status": self.last_status,
            "created_at": self.created_at.isoformat(),
            "delivered_at": _iso(self.delivered_at),
            "log": self.log,
        }


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs to make one attempt: the target, the secrets in clear, the
    message id and the body."""

    delivery_id: str
    webhook_id: str
    url: str
    allow_private: bool
    secrets: tuple[str, ...] = field(repr=False)
    body: str = ""
    attempt: int = 1


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _webhook(row: WebhookRow, moment: datetime) -> Webhook:
    until = row.old_secret_until
    rotating = until if until is not None and until > moment else None
    return Webhook(
        id=row.id,
        url=row.url,
        events=list(row.events),
        enabled=row.enabled,
        allow_private=row.allow_private,
        created_at=row.created_at,
        disabled_reason=row.disabled_reason,
        rotating_until=rotating,
    )


def check_events(events: list[str]) -> list[str]:
    """``events`` if each is a known event type (duplicates removed, order kept).

    Raises:
        ParameterError: empty, or an unknown type.
    """
    if not events:
        raise ParameterError(f"name at least one event; choose from {', '.join(EVENT_TYPES)}")
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown:
        raise ParameterError(
            f"unknown event type {unknown[0]!r}; choose from {', '.join(EVENT_TYPES)}"
        )
    return list(dict.fromkeys(events))


class WebhookStore:
    """Subscriptions, deliveries and attempts in a database.

    Args:
        database: an open, migrated database.
        settings: where the secrets' key is.
    """

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._box: SecretBox | None = None

    @property
    def box(self) -> SecretBox:
        """The secrets' encryption (the key is read on first use)."""
        if self._box is None:
            self._box = SecretBox(self.settings)
        return self._box

    # -- subscriptions -----------------------------------------------------------------

    def create(
        self, url: str, events: list[str], *, allow_private: bool = False
    ) -> tuple[Webhook, str]:
        """A new enabled subscription; ``url`` must already be checked (``services``).

        Returns:
            The subscription and its secret in clear (shown this once).
        """
        secret = new_secret()
        row = WebhookRow(
            id=f"wh_{uuid.uuid4().hex[:16]}",
            url=url,
            events=check_events(events),
            enabled=True,
            allow_private=allow_private,
            secret=self.box.seal(secret),
            disabled_reason="",
            created_at=now(),
        )
        with self.database.session() as session:
            session.add(row)
        return self.get(row.id), secret

    def get(self, webhook_id: str) -> Webhook:
        """The subscription ``webhook_id``.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            return _webhook(self._row(session, webhook_id), now())

    def list(self) -> list[Webhook]:
        """Every subscription, oldest first."""
        with self.database.session() as session:
            rows = session.scalars(select(WebhookRow).order_by(WebhookRow.created_at)).all()
            moment = now()
            return [_webhook(row, moment) for row in rows]

    def update(
        self, webhook_id: str, *, enabled: bool | None = None, events: list[str] | None = None
    ) -> Webhook:
        """Enable or disable a subscription, or change its events.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            row = self._row(session, webhook_id)
            if enabled is not None:
                row.enabled = enabled
                row.disabled_reason = "" if enabled else "disabled by request"
            if events is not None:
                row.events = check_events(events)
        return self.get(webhook_id)

    def rotate(self, webhook_id: str) -> tuple[Webhook, str]:
        """A new secret for ``webhook_id``; the current one stays valid for 24 hours (both
        signatures are sent meanwhile).

        Returns:
            The subscription and the new secret in clear (shown this once).
        """
        secret = new_secret()
        moment = now()
        with self.database.session() as session:
            row = self._row(session, webhook_id)
            row.old_secret, row.secret = row.secret, self.box.seal(secret)
            row.old_secret_until = moment + ROTATION_OVERLAP
        return self.get(webhook_id), secret

    def delete(self, webhook_id: str) -> None:
        """Delete a subscription with its deliveries.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            session.delete(self._row(session, webhook_id))

    def disable(self, webhook_id: str, reason: str) -> None:
        """Disable a subscription (a 410 Gone from its target), saying why; its pending
        deliveries are cancelled."""
        with self.database.session() as session:
            session.execute(
                update(WebhookRow)
                .where(WebhookRow.id == webhook_id)
                .values(enabled=False, disabled_reason=reason[:500])
            )
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.webhook_id == webhook_id, DeliveryRow.status == PENDING)
                .values(status=CANCELLED, next_attempt_at=None)
            )

    @staticmethod
    def _row(session: Any, webhook_id: str) -> WebhookRow:
        row = session.get(WebhookRow, webhook_id)
        if row is None:
            raise NotFoundError(
                f"no webhook with id {webhook_id!r}; `ssots webhooks list` lists them"
            )
        return row

    # -- deliveries --------------------------------------------------------------------

    def send_test(self, webhook_id: str) -> str:
        """Queue a ``webhook.test`` event for ``webhook_id`` alone.

        Returns:
            The delivery's id.
        """
        moment = now()
        with self.database.session() as session:
            self._row(session, webhook_id)
            event_id = f"evt_{uuid.uuid4().hex}"
            session.execute(
                insert(EVENTS).values(
                    id=event_id,
                    type=TEST_EVENT,
                    data={"webhook_id": webhook_id, "message": "a test delivery from SSO-TS"},
                    created_at=moment,
                )
            )
            values = _delivery(webhook_id, event_id, moment)
            session.execute(insert(DELIVERIES).values(**values))
        return values["id"]

    def redeliver(self, delivery_id: str) -> Delivery:
        """Queue ``delivery_id`` again for an attempt now (attempts keep their numbers;
        one that fails again is retried while the retry schedule has steps left).

        Raises:
            NotFoundError: no such delivery.
        """
        with self.database.session() as session:
            row = self._delivery_row(session, delivery_id)
            row.status, row.next_attempt_at, row.delivered_at = PENDING, now(), None
        return self.delivery(delivery_id)

    def delivery(self, delivery_id: str) -> Delivery:
        """One delivery with its attempts.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            row = self._delivery_row(session, delivery_id)
            return self._delivery_record(session, row)

    def deliveries(
        self, *, webhook_id: str | None = None, limit: int = 50
    ) -> list[Delivery]:
        """Deliveries newest first, of one subscription or of all."""
        query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
        if webhook_id is not None:
            query = query.where(DeliveryRow.webhook_id == webhook_id)
        with self.database.session() as session:
            return [self._delivery_record(session, row) for row in session.scalars(query)]

    def events(self, *, event_type: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Outbox events newest first (``type``, ``data``, ``created_at``)."""
        query = select(OutboxEventRow).order_by(OutboxEventRow.created_at.desc()).limit(limit)
        if event_type is not None:
            query = query.where(OutboxEventRow.type == event_type)
        with self.database.session() as session:
            return [
                {"id": r.id, "type": r.type, "data": r.data, "created_at": r.created_at.isoformat()}
                for r in session.scalars(query)
            ]

    @staticmethod
    def _delivery_row(session: Any, delivery_id: str) -> DeliveryRow:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            raise NotFoundError(
                f"no delivery with id {delivery_id!r}; `ssots webhooks deliveries` lists them"
            )
        return row

    @staticmethod
    def _delivery_record(session: Any, row: DeliveryRow) -> Delivery:
        event_type = session.scalar(
            select(OutboxEventRow.type).where(OutboxEventRow.id == row.event_id)
        )
        attempts = session.scalars(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.delivery_id == row.id)
            .order_by(DeliveryAttemptRow.n)
        ).all()
        return Delivery(
            id=row.id,
            webhook_id=row.webhook_id,
            event_id=row.event_id,
            event_type=event_type or "",
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status=row.last_status,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            log=[
                {
                    "attempt": a.n,
                    "at": a.at.isoformat(),
                    "status": a.status_code,
                    "latency_ms": round(a.latency_ms, 1),
                    "response": a.response,
                    "error": a.error,
                }
                for a in attempts
            ],
        )

    # -- the sender's side -------------------------------------------------------------

    def claim_due(self, lease: timedelta, limit: int = 20) -> list[Outgoing]:
        """Take up to ``limit`` deliveries due now for one attempt each (``claim``)."""
        moment = now()
        with self.database.session() as session:
            due = session.scalars(
                select(DeliveryRow.id)
                .where(DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at <= moment)
                .order_by(DeliveryRow.next_attempt_at)
                .limit(limit)
            ).all()
        taken = [self.claim(delivery_id, lease) for delivery_id in due]
        return [outgoing for outgoing in taken if outgoing is not None]

    def claim(self, delivery_id: str, lease: timedelta) -> Outgoing | None:
        """Take pending delivery ``delivery_id`` for one attempt: one conditional update
        moves ``next_attempt_at`` past the lease and counts the attempt, so no other
        sender takes it meanwhile. None when it is not pending (or another took it)."""
        moment = now()
        with self.database.session() as session:
            attempts = session.scalar(
                select(DeliveryRow.attempts).where(
                    DeliveryRow.id == delivery_id, DeliveryRow.status == PENDING
                )
            )
            if attempts is None:
                return None
            won = session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == delivery_id,
                    DeliveryRow.status == PENDING,
                    DeliveryRow.attempts == attempts,
                )
                .values(next_attempt_at=moment + lease, attempts=attempts + 1)
            ).rowcount
            if not won:
                return None
            return self._outgoing(session, delivery_id, attempts + 1, moment)

    def _outgoing(
        self, session: Any, delivery_id: str, attempt: int, moment: datetime
    ) -> Outgoing | None:
        import json

        delivery = session.get(DeliveryRow, delivery_id)
        hook = session.get(WebhookRow, delivery.webhook_id)
        event = session.get(OutboxEventRow, delivery.event_id)
        if not hook.enabled:
            delivery.status = CANCELLED
            return None
        keys = [self.box.open(hook.secret)]
        if hook.old_secret and hook.old_secret_until and hook.old_secret_until > moment:
            keys.append(self.box.open(hook.old_secret))
        body = json.dumps(
            {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data},
            separators=(",", ":"),
            sort_keys=True,
        )
        return Outgoing(
            delivery_id=delivery_id,
            webhook_id=hook.id,
            url=hook.url,
            allow_private=hook.allow_private,
            secrets=tuple(keys),
            body=body,
            attempt=attempt,
        )

    def record_attempt(
        self,
        outgoing: Outgoing,
        *,
        status_code: int | None,
        latency_ms: float,
        response: str,
        error: str,
        outcome: str,
        retry_at: datetime | None,
    ) -> None:
        """Log one attempt and the delivery's new state (``outcome`` pending with
        ``retry_at``, delivered, failed or cancelled), in one transaction."""
        moment = now()
        with self.database.session() as session:
            session.add(
                DeliveryAttemptRow(
                    delivery_id=outgoing.delivery_id,
                    n=outgoing.attempt,
                    at=moment,
                    status_code=status_code,
                    latency_ms=latency_ms,
                    response=response[:RESPONSE_KEPT],
                    error=error[:500],
                )
            )
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == outgoing.delivery_id)
                .values(
                    status=outcome,
                    last_status=status_code,
                    next_attempt_at=retry_at,
                    delivered_at=moment if outcome == DELIVERED else None,
                )
            )

    def counts(self) -> dict[str, int]:
        """Deliveries per status."""
        with self.database.session() as session:
            rows = session.execute(
                select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
            ).all()
        return dict(rows)
