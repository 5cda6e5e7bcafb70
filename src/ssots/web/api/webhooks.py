"""``/api/webhooks``: signed webhook subscriptions and their deliveries
(``services.webhooks``; docs/automation.md). A secret is in the answer that creates or
rotates it, and in no other answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from ssots.services.webhooks import subscribe
from ssots.store.webhooks import WebhookStore
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import (
    DeliveryItem,
    DeliveryList,
    WebhookCreate,
    WebhookCreated,
    WebhookItem,
    WebhookList,
    WebhookPatch,
)

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{1,32}$")]
DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9a-f]{1,36}$")]


def _store(services: Any) -> WebhookStore:
    return WebhookStore(services.database, services.settings)


@router.get(
    "/webhooks", response_model=WebhookList, responses=error_responses(401), summary="Webhooks"
)
def list_webhooks(services: ServicesDep) -> dict[str, Any]:
    """Every subscription (without secrets)."""
    return {"webhooks": [hook.to_dict() for hook in _store(services).list()]}


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=error_responses(400, 401, 422),
    summary="Subscribe a URL to events",
)
def create_webhook(services: ServicesDep, body: Annotated[WebhookCreate, Body()]) -> dict[str, Any]:
    """A new subscription and its secret (``whsec_...``), shown this once: keep it to
    verify deliveries. Private and loopback targets are refused unless the server allows
    them (``SSOTS_WEBHOOK_ALLOW_PRIVATE=1``)."""
    hook, secret = subscribe(_store(services), body.url, list(body.events))
    return {**hook.to_dict(), "secret": secret}


@router.get(
    "/webhooks/{webhook_id}",
    response_model=WebhookItem,
    responses=error_responses(401, 404, 422),
    summary="One webhook",
)
def get_webhook(services: ServicesDep, webhook_id: WebhookId) -> dict[str, Any]:
    """The subscription (without its secret)."""
    return _store(services).get(webhook_id).to_dict()


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookItem,
    responses=error_responses(400, 401, 404, 422),
    summary="Enable, disable or change a webhook",
)
def patch_webhook(
    services: ServicesDep, webhook_id: WebhookId, body: Annotated[WebhookPatch, Body()]
) -> dict[str, Any]:
    """Enable or disable the subscription, or change its events."""
    events = None if body.events is None else list(body.events)
    return _store(services).update(webhook_id, enabled=body.enabled, events=events).to_dict()


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    responses=error_responses(401, 404, 422),
    summary="Delete a webhook",
)
def delete_webhook(services: ServicesDep, webhook_id: WebhookId) -> Response:
    """Delete the subscription and its deliveries."""
    _store(services).delete(webhook_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/rotate",
    response_model=WebhookCreated,
    responses=error_responses(401, 404, 422),
    summary="Rotate a webhook's secret",
)
def rotate_webhook(services: ServicesDep, webhook_id: WebhookId) -> dict[str, Any]:
    """A new secret, shown this once; the previous one stays valid for 24 hours (both
    signatures are sent meanwhile)."""
    hook, secret = _store(services).rotate(webhook_id)
    return {**hook.to_dict(), "secret": secret}


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=202,
    response_model=DeliveryItem,
    responses=error_responses(401, 404, 422),
    summary="Send a test event",
)
def test_webhook(services: ServicesDep, webhook_id: WebhookId) -> dict[str, Any]:
    """Queue a ``webhook.test`` event for this subscription alone; follow it in its
    deliveries."""
    store = _store(services)
    delivery = store.delivery(store.send_test(webhook_id))
    services.webhooks_changed()
    return delivery.to_dict()


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryList,
    responses=error_responses(401, 404, 422),
    summary="A webhook's deliveries",
)
def list_deliveries(
    services: ServicesDep,
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Deliveries newest first, each with every attempt (status, latency, the first 1 KB
    of the answer)."""
    store = _store(services)
    store.get(webhook_id)
    found = store.deliveries(webhook_id=webhook_id, limit=limit)
    return {"deliveries": [delivery.to_dict() for delivery in found]}


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryItem,
    responses=error_responses(401, 404, 422),
    summary="Deliver again",
)
def redeliver(services: ServicesDep, delivery_id: DeliveryId) -> dict[str, Any]:
    """Queue the delivery for another attempt now (same ``webhook-id``)."""
    delivery = _store(services).redeliver(delivery_id)
    services.webhooks_changed()
    return delivery.to_dict()
