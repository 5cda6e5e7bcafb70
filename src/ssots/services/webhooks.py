"""Webhooks as a use case: which targets are allowed, subscribing, and delivering one
attempt with the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256>``, signed by the ``standardwebhooks``
reference library), a 10 s timeout and no redirects followed.

Retries follow the specification's schedule (``RETRY_DELAYS``) with jitter; a 410 Gone
disables the subscription. Every attempt is logged with its status, latency and the first
1 KB of the answer.

Targets must be ``http`` or ``https``; a host that is or resolves to a private, loopback,
link-local, reserved or multicast address is refused unless the subscription or the
server allows private targets (``--allow-private-targets``, ``SSOTS_WEBHOOK_ALLOW_PRIVATE``).
The address is checked when the subscription is made and again before every attempt.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ssots.config import Settings
from ssots.errors import ParameterError

if TYPE_CHECKING:
    from ssots.store.webhooks import Outgoing, Webhook, WebhookStore

__all__ = [
    "RETRY_DELAYS",
    "TIMEOUT",
    "check_target",
    "deliver",
    "retry_delay",
    "sign_headers",
    "subscribe",
    "webhook_store",
]

log = logging.getLogger(__name__)

RETRY_DELAYS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before attempt 1, 2, ... 8 of a delivery (the Standard Webhooks schedule:
immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the last it is failed."""
JITTER = 0.1
"""Each delay is stretched or shrunk by up to this fraction at random."""
TIMEOUT = 10.0
"""Seconds an attempt may take."""
USER_AGENT = "ssots-webhooks/1"
SCHEMES = ("http", "https")


def webhook_store(settings: Settings) -> WebhookStore:
    """The webhooks of ``settings``' database (opened and migrated)."""
    from ssots.store import open_database
    from ssots.store.webhooks import WebhookStore

    return WebhookStore(open_database(settings), settings)


def check_target(url: str, *, allow_private: bool) -> str:
    """``url`` if a webhook may be sent there.

    Raises:
        ParameterError: not http(s), no host, a host that does not resolve, or a
            private/loopback address without ``allow_private``.
    """
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ParameterError(
            f"a webhook URL must be http:// or https:// with a host, e.g. "
            f"https://example.org/hooks; got {url!r}"
        )
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ParameterError(f"the webhook host {parts.hostname!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise ParameterError(
                f"the webhook host {parts.hostname!r} is a private or loopback address "
                f"({address}); webhooks go to public addresses unless the server allows "
                "private targets (`--allow-private-targets`, SSOTS_WEBHOOK_ALLOW_PRIVATE=1)"
            )
    return url


def subscribe(
    store: WebhookStore, url: str, events: list[str], *, allow_private: bool = False
) -> tuple[Webhook, str]:
    """A new subscription to ``events`` at ``url``; private targets only when
    ``allow_private`` or the server's setting allows them.

    Returns:
        The subscription and its secret (shown this once, never again).

    Raises:
        ParameterError: a refused URL or an unknown event type.
    """
    allowed = allow_private or store.settings.webhook_allow_private
    check_target(url, allow_private=allowed)
    return store.create(url, events, allow_private=allowed)


def sign_headers(outgoing: Outgoing, moment: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``outgoing`` sent at ``moment``: one ``v1``
    signature per valid secret (two during a rotation), space-separated."""
    from standardwebhooks.webhooks import Webhook

    signatures = [
        Webhook(secret).sign(msg_id=outgoing.delivery_id, timestamp=moment, data=outgoing.body)
        for secret in outgoing.secrets
    ]
    return {
        "webhook-id": outgoing.delivery_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def retry_delay(attempt: int, scale: float = 1.0, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one,
    with jitter, times ``scale``; None when the schedule has no attempt left."""
    if attempt >= len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[attempt] * scale
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


def deliver(
    store: WebhookStore, outgoing: Outgoing, *, client: Any | None = None
) -> dict[str, Any]:
    """Make one attempt of ``outgoing`` and record it: delivered on a 2xx, the
    subscription disabled on a 410, else a retry by ``RETRY_DELAYS`` (failed once they
    are used up). A redirect is not followed (it counts as a failure).

    Args:
        store: where the attempt is logged.
        outgoing: a claimed attempt (``WebhookStore.claim_due``).
        client: an ``httpx.Client`` to send with (default: a new one for this attempt).

    Returns:
        The attempt as logged: status, latency_ms, response, error, outcome.
    """
    import httpx

    from ssots.store.webhooks import CANCELLED, DELIVERED, FAILED, PENDING

    settings = store.settings
    moment = datetime.now(UTC)
    status_code, response, error = None, "", ""
    started = time.perf_counter()
    try:
        private = outgoing.allow_private or settings.webhook_allow_private
        check_target(outgoing.url, allow_private=private)
        own = client is None
        client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        try:
            answer = client.post(
                outgoing.url,
                content=outgoing.body.encode(),
                headers=sign_headers(outgoing, moment),
                timeout=TIMEOUT,
                follow_redirects=False,
            )
        finally:
            if own:
                client.close()
        status_code, response = answer.status_code, answer.text[:1024]
    except ParameterError as exc:
        error = str(exc)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    latency_ms = (time.perf_counter() - started) * 1000
    retry_at = None
    if status_code is not None and 200 <= status_code < 300:
        outcome = DELIVERED
    elif status_code == 410:
        outcome = CANCELLED
        store.disable(outgoing.webhook_id, "the target answered 410 Gone")
    else:
        delay = retry_delay(outgoing.attempt, settings.webhook_retry_scale)
        if delay is None:
            outcome = FAILED
        else:
            outcome, retry_at = PENDING, datetime.now(UTC) + timedelta(seconds=delay)
    log.info(
        "webhook delivery %s attempt %d: %s in %.0f ms -> %s",
        outgoing.delivery_id, outgoing.attempt, status_code or error, latency_ms, outcome,
    )
    store.record_attempt(
        outgoing,
        status_code=status_code,
        latency_ms=latency_ms,
        response=response,
        error=error,
        outcome=outcome,
        retry_at=retry_at,
    )
    return {
        "delivery_id": outgoing.delivery_id,
        "attempt": outgoing.attempt,
        "status": status_code,
        "latency_ms": round(latency_ms, 1),
        "response": response,
        "error": error,
        "outcome": outcome,
    }


def deliver_due(
    store: WebhookStore, *, lease: float = 60.0, limit: int = 50, client: Any | None = None
) -> int:
    """Claim and attempt the deliveries due now, one at a time (what the sender does each
    round), at most ``limit``.

    Returns:
        How many attempts were made.
    """
    made = 0
    while made < limit:
        claimed = store.claim_due(timedelta(seconds=max(lease, TIMEOUT * 2)), limit=1)
        if not claimed:
            break
        deliver(store, claimed[0], client=client)
        made += 1
    return made
