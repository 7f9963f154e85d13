"""Outbox handlers for webhooks: an event fans out into one delivery per subscription (each its
own outbox row, so one failing receiver does not hold the others back), and a delivery is one
signed POST, with the same event id on every attempt.

The fan-out only writes rows, so it runs in one transaction with the event row's delivered mark:
each subscription gets each event exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from colis.core.bulk import bulk_insert
from colis.core.models import OutboxMessage
from colis.core.outbox import (
    Effect,
    PermanentFailure,
    outbox_enqueue_keyed,
    outbox_handler,
    outbox_handler_many,
)
from colis.webhooks.models import WebhookDelivery, WebhookSubscription
from colis.webhooks.services import MAX_ATTEMPTS
from colis.webhooks.signing import signed_post
from colis.webhooks.urls import url_problem

DELIVERY_COLUMNS = (
    "subscription_id", "event_id", "event", "outbox_message_id", "status", "attempts",
    "last_error", "created_at",
)  # fmt: skip


@outbox_handler_many("webhook_event")
def webhook_events(messages: Sequence[OutboxMessage]) -> None:
    """Fan events out: one delivery row and one outbox row per subscribed receiver."""
    subscriptions = list(WebhookSubscription.objects.filter(active=True).order_by("pk"))
    effects, rows = [], []
    now = timezone.now()
    for message in messages:
        event = message.payload.get("event", "")
        key = message.idempotency_key
        data = {
            "event_id": key,
            "data": message.payload,
            "created_at": message.created_at.isoformat(),
        }
        for sub in subscriptions:
            if event not in (sub.events or []):
                continue
            effects.append(
                Effect(
                    kind="webhook_delivery",
                    idempotency_key=f"{key}:sub{sub.pk}",
                    payload={"subscription_id": sub.pk, **data},
                    order_id=message.order_id,
                    max_attempts=MAX_ATTEMPTS,
                )
            )
            rows.append([sub.pk, key, event, f"{key}:sub{sub.pk}", "pending", 0, "", now])
    if not effects:
        return
    queued = outbox_enqueue_keyed(effects)
    # A delivery whose outbox row existed already (queued before) is not written twice.
    fresh = [(*row[:3], queued[row[3]], *row[4:]) for row in rows if row[3] in queued]
    bulk_insert(WebhookDelivery, DELIVERY_COLUMNS, fresh, on_conflict_skip=True)


@dataclass(frozen=True, slots=True)
class _Loaded:
    delivery: WebhookDelivery | None


def _deliveries(messages: Sequence[OutboxMessage]) -> None:
    """Load the deliveries (with their subscriptions) of a batch in one query."""
    by_id = [m.payload["delivery_id"] for m in messages if "delivery_id" in m.payload]
    events = {m.payload["event_id"] for m in messages if "event_id" in m.payload}
    found = []
    if by_id:
        found += list(WebhookDelivery.objects.select_related("subscription").filter(pk__in=by_id))
    if events:
        found += list(
            WebhookDelivery.objects.select_related("subscription").filter(event_id__in=events)
        )
    ids = {d.pk: d for d in found}
    pairs = {(d.subscription_id, d.event_id): d for d in found}
    for m in messages:
        p = m.payload
        if "delivery_id" in p:
            m.prepared = _Loaded(ids.get(p["delivery_id"]))
        else:
            m.prepared = _Loaded(pairs.get((p.get("subscription_id"), p.get("event_id"))))


def _body(delivery: WebhookDelivery, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": delivery.event_id,
        "type": delivery.event,
        "created_at": payload.get("created_at"),
        "data": {k: v for k, v in (payload.get("data") or {}).items() if k != "event"},
    }


@outbox_handler("webhook_delivery", prepare=_deliveries, parallel=True)
def webhook_delivery(message: OutboxMessage) -> Callable[[], None] | None:
    if not isinstance(message.prepared, _Loaded):
        _deliveries([message])
    delivery = message.prepared.delivery
    if delivery is None:
        raise PermanentFailure("The delivery no longer exists.")
    sub = delivery.subscription
    if not sub.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="skipped")
        return None
    attempts = delivery.attempts + 1
    try:
        if problem := url_problem(sub.url, allow_private=sub.allow_private):
            raise PermanentFailure(problem)
        body = _body(delivery, message.payload)
        status = signed_post(sub.url, sub.secret, delivery.event_id, body)
    except Exception as exc:
        final = isinstance(exc, PermanentFailure) or message.attempts >= message.max_attempts
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="failed" if final else "retrying", attempts=attempts, last_error=str(exc)[:1000]
        )
        raise

    def logged() -> None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="delivered", attempts=attempts, response_status=status, last_error="",
            delivered_at=timezone.now(),
        )  # fmt: skip

    return logged
