"""``ssots webhooks``: signed webhook subscriptions and their delivery log (a running
``ssots serve`` sends the deliveries; ``test`` and ``redeliver`` attempt at once)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ssots.cli._app import app, console, err_console

if TYPE_CHECKING:
    from ssots.store.webhooks import WebhookStore

webhooks_app = typer.Typer(
    help="Webhooks: signed notifications of jobs, models and schedules.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


def _store() -> WebhookStore:
    from ssots.config import Settings
    from ssots.services.webhooks import webhook_store

    return webhook_store(Settings.from_env())


def _show_secret(secret: str) -> None:
    console.print(f"secret: [bold]{secret}[/bold]")
    err_console.print(
        "Keep it now: it is shown this once (verify deliveries with it, e.g. with the "
        "standardwebhooks library)."
    )


@webhooks_app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="Where deliveries go (http or https).")],
    event: Annotated[
        list[str], typer.Option("--event", help="An event type (repeatable), e.g. job.succeeded.")
    ],
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets", help="Allow a private or loopback address (tests, LAN)."
        ),
    ] = False,
) -> None:
    """Subscribe URL to events; prints the secret once.

    Events: job.succeeded, job.failed, job.cancelled, model.version_created,
    model.alias_moved, schedule.run_missed, study.finished, model.stale.

    Example: ssots webhooks add https://hooks.example.org/ssots --event job.succeeded
    """
    from ssots.services.webhooks import subscribe

    hook, secret = subscribe(_store(), url, event, allow_private=allow_private_targets)
    console.print(f"webhook [bold]{hook.id}[/bold] -> {hook.url} ({', '.join(hook.events)})")
    _show_secret(secret)


@webhooks_app.command("list")
def list_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List subscriptions (never their secrets)."""
    hooks = _store().list()
    if json_output:
        console.print_json(json.dumps({"webhooks": [h.to_dict() for h in hooks]}))
        return
    table = Table(title="Webhooks")
    for column in ("id", "url", "events", "state"):
        table.add_column(column)
    for hook in hooks:
        state = "enabled" if hook.enabled else f"disabled ({hook.disabled_reason})"
        table.add_row(hook.id, hook.url, " ".join(hook.events), state)
    console.print(table)


@webhooks_app.command("test")
def test_command(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")],
) -> None:
    """Send a webhook.test event to one subscription now and show the attempt."""
    store = _store()
    _attempt_now(store, store.send_test(webhook_id))


def _attempt_now(store: WebhookStore, delivery_id: str) -> None:
    """Attempt ``delivery_id`` from this process now and print the attempt."""
    from datetime import timedelta

    from ssots.services.webhooks import deliver

    outgoing = store.claim(delivery_id, timedelta(seconds=60))
    if outgoing is None:
        console.print(f"delivery {delivery_id} is being attempted elsewhere")
        return
    logged = deliver(store, outgoing)
    shown = logged["status"] if logged["status"] is not None else logged["error"]
    console.print(
        f"delivery {delivery_id}: attempt {logged['attempt']} -> {shown} "
        f"in {logged['latency_ms']} ms ({logged['outcome']})"
    )


@webhooks_app.command("deliveries")
def deliveries_command(
    webhook_id: Annotated[
        str | None, typer.Argument(help="One webhook's id (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most deliveries shown.")] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List deliveries newest first with every attempt (status, latency, answer)."""
    store = _store()
    if webhook_id is not None:
        store.get(webhook_id)
    found = store.deliveries(webhook_id=webhook_id, limit=limit)
    if json_output:
        console.print_json(json.dumps({"deliveries": [d.to_dict() for d in found]}))
        return
    table = Table(title="Deliveries")
    for column in ("id", "webhook", "event", "status", "attempts"):
        table.add_column(column)
    for delivery in found:
        attempts = ", ".join(
            f"{a['status'] if a['status'] is not None else 'error'} ({a['latency_ms']:.0f} ms)"
            for a in delivery.log
        )
        table.add_row(
            delivery.id, delivery.webhook_id, delivery.event_type, delivery.status,
            attempts or "—",
        )
    console.print(table)


@webhooks_app.command("redeliver")
def redeliver_command(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (msg_...).")],
) -> None:
    """Attempt a delivery again now (same webhook-id)."""
    store = _store()
    store.redeliver(delivery_id)
    _attempt_now(store, delivery_id)


@webhooks_app.command("rotate")
def rotate_command(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")],
) -> None:
    """Give a webhook a new secret (printed once); the old one stays valid for 24 hours and
    deliveries carry both signatures meanwhile."""
    hook, secret = _store().rotate(webhook_id)
    console.print(f"webhook {hook.id}: new secret; the previous one is valid until "
                  f"{hook.rotating_until.isoformat() if hook.rotating_until else '—'}")
    _show_secret(secret)


@webhooks_app.command("delete")
def delete_command(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")],
) -> None:
    """Delete a subscription and its deliveries."""
    _store().delete(webhook_id)
    console.print(f"webhook {webhook_id} deleted")


@webhooks_app.command("key")
def key_command() -> None:
    """Print a new key for SSOTS_WEBHOOK_KEY (servers sharing one database need the same
    key to read the secrets)."""
    from ssots.store.webhooks import new_key

    console.print(new_key())
