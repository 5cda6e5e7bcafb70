"""Webhooks: a receiver on loopback started by the test verifies every delivery with the
``standardwebhooks`` reference library and the secret from creation; failures are
retried by the schedule (shrunk by ``SSOTS_WEBHOOK_RETRY_SCALE``) and every attempt is
logged; 410 disables; redirects are not followed; targets are checked; the secret is
in no answer after creation and in no file of the home."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ssots.config import Settings
from ssots.errors import ParameterError
from ssots.services.webhooks import RETRY_DELAYS, check_target, deliver_due, retry_delay
from ssots.store import open_database
from ssots.store.webhooks import EVENT_TYPES, WebhookStore, enqueue_event
from ssots.web.app import create_app
from web_support import TestClient, make_settings

WAIT = 60.0


class Receiver:
    """An HTTP server on 127.0.0.1 answering the statuses of ``script`` in turn (then
    200), recording each request's headers and body."""

    def __init__(self, script: list[int] | None = None, location: str | None = None) -> None:
        self.script = list(script or [])
        self.location = location
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                if receiver.location:
                    self.send_header("location", receiver.location)
                answer = f"answer {status} " + "x" * 2000
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, secret: str) -> list[Any]:
        """Every request's payload, verified with ``secret`` (raises if one is not)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([500, 500])
    yield found
    found.close()


def wait_for(predicate: Any, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def fast_settings(home: Path, **overrides: Any) -> Settings:
    return make_settings(
        home, webhook_allow_private=True, webhook_retry_scale=0.002, **overrides
    )


def test_a_delivery_failing_twice_is_retried_logged_and_delivered_once_signed(
    tmp_path: Path, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    app = create_app(fast_settings(home), workers=0)
    with TestClient(app) as client:
        created = client.post(
            "/api/webhooks", json={"url": receiver.url, "events": ["job.cancelled"]}
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
        job = client.post("/api/train", json={"demoDays": 200, "epochs": 5}).json()
        client.post(f"/api/jobs/{job['jobId']}/cancel")  # no workers: cancelled while queued

        def delivered() -> Any:
            answer = client.get(f"/api/webhooks/{hook['id']}/deliveries").json()["deliveries"]
            return answer if answer and answer[0]["status"] == "delivered" else None

        (delivery,) = wait_for(delivered)
        assert [a["status"] for a in delivery["log"]] == [500, 500, 200]
        assert delivery["attempts"] == 3
        assert all(a["latency_ms"] >= 0 for a in delivery["log"])
        assert all(len(a["response"]) == 1024 for a in delivery["log"])  # the first 1 KB
        assert delivery["log"][0]["response"].startswith("answer 500")
        payloads = receiver.verified(secret)
        assert len(payloads) == 3
        assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
        assert receiver.requests[0][0]["webhook-id"] == delivery["id"]
        assert payloads[-1]["type"] == "job.cancelled"
        assert payloads[-1]["data"]["job_id"] == job["jobId"]
        with pytest.raises(WebhookVerificationError):  # another secret does not verify
            Webhook("whsec_" + "A" * 32).verify(*reversed(receiver.requests[0]))

        shown = [
            client.get("/api/webhooks").text,
            client.get(f"/api/webhooks/{hook['id']}").text,
            client.get(f"/api/webhooks/{hook['id']}/deliveries").text,
            client.patch(f"/api/webhooks/{hook['id']}", json={"enabled": True}).text,
            client.post(f"/api/webhooks/{hook['id']}/test").text,
            client.get("/openapi.json").text,
        ]
    key = secret.removeprefix("whsec_")
    assert not any(key in text for text in shown)
    files = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.name == "ssots.db" for path in files)
    for path in files:
        content = path.read_bytes()
        assert key.encode() not in content, path.name
        assert base64.b64decode(key) not in content, path.name
    assert (home / "webhook.key").stat().st_mode & 0o077 == 0  # the key: owner only


def test_a_410_disables_the_subscription(tmp_path: Path) -> None:
    gone = Receiver([410])
    settings = fast_settings(tmp_path / "home")
    store = WebhookStore(open_database(settings), settings)
    hook, _ = store.create(gone.url, ["model.stale"], allow_private=True)
    with store.database.session() as session:
        enqueue_event(session.connection(), "model.stale", {"model": "m"})
        enqueue_event(session.connection(), "model.stale", {"model": "n"})
    assert deliver_due(store) == 1  # the second is cancelled: its webhook is now disabled
    assert store.get(hook.id).enabled is False
    assert "410" in store.get(hook.id).disabled_reason
    assert sorted(d.status for d in store.deliveries()) == ["cancelled", "cancelled"]
    assert len(gone.requests) == 1
    gone.close()


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    elsewhere = Receiver()
    moved = Receiver([302], location=elsewhere.url)
    settings = make_settings(tmp_path / "home", webhook_allow_private=True)  # retry in 5 s
    store = WebhookStore(open_database(settings), settings)
    store.create(moved.url, ["model.stale"], allow_private=True)
    with store.database.session() as session:
        enqueue_event(session.connection(), "model.stale", {"model": "m"})
    deliver_due(store)
    (delivery,) = store.deliveries()
    assert [attempt["status"] for attempt in delivery.log] == [302]
    assert delivery.status == "pending"  # to be retried
    assert elsewhere.requests == []
    moved.close()
    elsewhere.close()


def test_after_a_rotation_both_secrets_verify_for_24_hours(tmp_path: Path) -> None:
    target = Receiver()
    settings = fast_settings(tmp_path / "home")
    store = WebhookStore(open_database(settings), settings)
    hook, old = store.create(target.url, ["model.alias_moved"], allow_private=True)
    rotated, new = store.rotate(hook.id)
    assert new != old
    assert rotated.rotating_until is not None
    assert rotated.rotating_until - datetime.now(UTC) > timedelta(hours=23)
    with store.database.session() as session:
        enqueue_event(session.connection(), "model.alias_moved", {"model": "m"})
    deliver_due(store)
    assert target.verified(old) == target.verified(new)
    assert len(target.requests[0][0]["webhook-signature"].split(" ")) == 2
    target.close()


def test_events_reach_only_enabled_subscribers_of_their_type(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "home")
    store = WebhookStore(open_database(settings), settings)
    jobs, _ = store.create("http://127.0.0.1:9/a", ["job.failed"], allow_private=True)
    models, _ = store.create("http://127.0.0.1:9/b", ["model.stale"], allow_private=True)
    off, _ = store.create("http://127.0.0.1:9/c", ["job.failed"], allow_private=True)
    store.update(off.id, enabled=False)
    with store.database.session() as session:
        enqueue_event(session.connection(), "job.failed", {"job_id": "x"})
    assert [d.webhook_id for d in store.deliveries()] == [jobs.id]
    with pytest.raises(ParameterError, match="unknown event type"):
        store.create("http://127.0.0.1:9/d", ["job.exploded"])
    assert models.events == ["model.stale"]


def test_an_event_rolls_back_with_the_change_that_made_it(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "home")
    store = WebhookStore(open_database(settings), settings)
    store.create("http://127.0.0.1:9/a", ["job.failed"], allow_private=True)

    def failing_change() -> None:
        with store.database.session() as session:
            enqueue_event(session.connection(), "job.failed", {"job_id": "x"})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert store.events() == []
    assert store.deliveries() == []


def test_targets_must_be_http_and_public_unless_allowed() -> None:
    for url in ("ftp://example.org/x", "file:///etc/passwd", "http://", "example.org"):
        with pytest.raises(ParameterError, match="http:// or https://"):
            check_target(url, allow_private=False)
    for url in (
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
    ):
        with pytest.raises(ParameterError, match="private or loopback"):
            check_target(url, allow_private=False)
        assert check_target(url, allow_private=True) == url
    assert check_target("https://93.184.215.14/hook", allow_private=False)


def test_the_api_refuses_a_private_target_unless_the_server_allows_it(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "home"), workers=0)
    with TestClient(app) as client:
        answer = client.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["job.failed"]}
        )
        assert answer.status_code == 422
        assert "private or loopback" in answer.json()["detail"]
        assert client.get("/api/webhooks").json() == {"webhooks": []}


def test_the_retry_schedule_is_the_specifications_with_jitter() -> None:
    assert RETRY_DELAYS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    rng = random.Random(1)
    for attempt in range(1, len(RETRY_DELAYS)):
        delays = {retry_delay(attempt, rng=rng) for _ in range(20)}
        expected = RETRY_DELAYS[attempt]
        assert all(0.9 * expected <= d <= 1.1 * expected for d in delays)
        assert len(delays) > 1 or expected == 0
    assert retry_delay(len(RETRY_DELAYS)) is None  # the last attempt failed: no more
    assert retry_delay(2, scale=0.001, rng=random.Random(0)) == pytest.approx(0.3, rel=0.11)


def test_a_delivery_is_failed_after_the_last_attempt(tmp_path: Path) -> None:
    failing = Receiver([500] * len(RETRY_DELAYS))
    settings = make_settings(
        tmp_path / "home", webhook_allow_private=True, webhook_retry_scale=1e-5
    )
    store = WebhookStore(open_database(settings), settings)
    store.create(failing.url, ["job.failed"])
    with store.database.session() as session:
        enqueue_event(session.connection(), "job.failed", {"job_id": "x"})
    wait_for(lambda: deliver_due(store) == 0 and store.deliveries()[0].status == "failed")
    (delivery,) = store.deliveries()
    assert delivery.attempts == len(RETRY_DELAYS)
    assert [a["status"] for a in delivery.log] == [500] * len(RETRY_DELAYS)
    redone = store.redeliver(delivery.id)
    assert redone.status == "pending"
    deliver_due(store)
    assert store.delivery(delivery.id).status == "delivered"
    assert json.loads(failing.requests[-1][1])["type"] == "job.failed"
    failing.close()


def test_every_documented_event_type_can_be_subscribed() -> None:
    assert set(EVENT_TYPES) == {
        "job.succeeded", "job.failed", "job.cancelled", "model.version_created",
        "model.alias_moved", "schedule.run_missed", "study.finished", "model.stale",
    }


def test_no_secret_reaches_the_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = Receiver([500])
    settings = fast_settings(tmp_path / "home")
    store = WebhookStore(open_database(settings), settings)
    with caplog.at_level("DEBUG"):
        hook, secret = store.create(target.url, ["model.stale"], allow_private=True)
        _, rotated = store.rotate(hook.id)
        with store.database.session() as session:
            enqueue_event(session.connection(), "model.stale", {"model": "m"})
        wait_for(lambda: deliver_due(store) or store.deliveries()[0].status == "delivered")
        outgoing = store.claim(store.send_test(hook.id), timedelta(seconds=60))
        shown = repr(outgoing)
    assert "webhook delivery" in caplog.text  # attempts are logged ...
    for key in (secret, rotated):
        assert key.removeprefix("whsec_") not in caplog.text  # ... without a secret
        assert key.removeprefix("whsec_") not in shown
    target.close()
