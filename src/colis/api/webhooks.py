"""HTTP API for outgoing webhook subscriptions and their delivery log."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page
from colis.core.errors import NotFound
from colis.webhooks.models import EVENTS, WebhookDelivery, WebhookSubscription
from colis.webhooks.services import (
    UNSET,
    SubscriptionData,
    delivery_redeliver,
    subscription_create,
    subscription_update,
)

router = Router(tags=["webhooks"])


class WebhookIn(Schema):
    url: str = Field(max_length=500)
    events: list[str] = Field(min_length=1, max_length=len(EVENTS))
    active: bool = True
    allow_private: bool = False


class WebhookPatch(Schema):
    url: str | None = Field(None, max_length=500)
    events: list[str] | None = Field(None, min_length=1, max_length=len(EVENTS))
    active: bool | None = None
    allow_private: bool | None = None


def webhook_out(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": sub.pk,
        "url": sub.url,
        "events": sub.events,
        "active": sub.active,
        "allow_private": sub.allow_private,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }


def delivery_out(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "webhook_id": d.subscription_id,
        "event_id": d.event_id,
        "event": d.event,
        "status": d.status,
        "response_status": d.response_status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


def _get(webhook_id: int) -> WebhookSubscription:
    sub = WebhookSubscription.objects.filter(pk=webhook_id).first()
    if sub is None:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return sub


@router.get("", summary="List webhook subscriptions")
def webhooks_list(request: HttpRequest) -> Any:
    require(request, READ)
    subs = WebhookSubscription.objects.order_by("pk")
    return {"items": [webhook_out(s) for s in subs], "next_cursor": None, "events": list(EVENTS)}


@router.post("", response=CREATED, summary="Subscribe a URL to events; the secret is shown once")
def webhooks_create(request: HttpRequest, response: HttpResponse, body: WebhookIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    sub = subscription_create(data=SubscriptionData(**body.model_dump()), actor=who)
    response["Cache-Control"] = "no-store"
    return Status(201, {**webhook_out(sub), "secret": sub.secret})


@router.get("/{webhook_id}", summary="Read a webhook subscription")
def webhooks_read(request: HttpRequest, webhook_id: Id) -> Any:
    require(request, READ)
    return webhook_out(_get(webhook_id))


@router.patch("/{webhook_id}", summary="Change a webhook subscription")
def webhooks_update(request: HttpRequest, webhook_id: Id, body: WebhookPatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    data = SubscriptionData(**{k: given.get(k, UNSET) for k in given})
    return webhook_out(subscription_update(subscription_id=webhook_id, data=data, actor=who))


@router.get("/{webhook_id}/deliveries", summary="The delivery log, newest first")
def webhooks_deliveries(
    request: HttpRequest, webhook_id: Id, cursor: str | None = None, limit: int = 50
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    _get(webhook_id)
    qs = WebhookDelivery.objects.filter(subscription_id=webhook_id).order_by("-pk")
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__lt=after)
    return page(list(qs[: limit + 1]), limit, delivery_out)


@router.post("/deliveries/{delivery_id}/redeliver", summary="Send a delivery again by hand")
def webhooks_redeliver(request: HttpRequest, delivery_id: Id) -> Any:
    who = require(request, SETTINGS_WRITE)
    return delivery_out(delivery_redeliver(delivery_id=delivery_id, actor=who))
