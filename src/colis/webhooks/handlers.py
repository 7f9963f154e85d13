"""Outbox handlers for webhooks: an event fans out into one delivery per subscription (each its
own outbox row, so one failing receiver does not hold the others back), and a delivery is one
signed POST, with the same event id on every attempt."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from colis.core.models import OutboxMessage
from colis.core.outbox import Effect, PermanentFailure, outbox_enqueue_many, outbox_handler
from colis.webhooks.models import WebhookDelivery, WebhookSubscription
from colis.webhooks.services import MAX_ATTEMPTS
from colis.webhooks.signing import signed_post
from colis.webhooks.urls import url_problem


@outbox_handler("webhook_event")
def webhook_event(message: OutboxMessage) -> None:
    event = message.payload.get("event", "")
    subscriptions = [
        s for s in WebhookSubscription.objects.filter(active=True) if event in (s.events or [])
    ]
    for sub in subscriptions:
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    subscription=sub, event_id=message.idempotency_key, event=event,
                    outbox_message_id=0,
                )  # fmt: skip
                [pk] = outbox_enqueue_many(
                    [
                        Effect(
                            kind="webhook_delivery",
                            idempotency_key=f"{message.idempotency_key}:sub{sub.pk}",
                            payload={
                                "delivery_id": delivery.pk,
                                "data": message.payload,
                                "created_at": message.created_at.isoformat(),
                            },
                            order_id=message.order_id,
                            max_attempts=MAX_ATTEMPTS,
                        )
                    ]
                )
                delivery.outbox_message_id = pk
                delivery.save(update_fields=["outbox_message_id"])
        except IntegrityError:
            continue  # fanned out before this worker died: the delivery exists


@outbox_handler("webhook_delivery")
def webhook_delivery(message: OutboxMessage) -> None:
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(pk=message.payload.get("delivery_id"))
        .first()
    )
    if delivery is None:
        raise PermanentFailure("The delivery no longer exists.")
    sub = delivery.subscription
    if not sub.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="skipped")
        return
    body = {
        "id": delivery.event_id,
        "type": delivery.event,
        "created_at": message.payload.get("created_at"),
        "data": {k: v for k, v in (message.payload.get("data") or {}).items() if k != "event"},
    }
    attempts = delivery.attempts + 1
    try:
        if problem := url_problem(sub.url, allow_private=sub.allow_private):
            raise PermanentFailure(problem)
        status = signed_post(sub.url, sub.secret, delivery.event_id, body)
    except Exception as exc:
        final = isinstance(exc, PermanentFailure) or message.attempts >= message.max_attempts
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status="failed" if final else "retrying", attempts=attempts, last_error=str(exc)[:1000]
        )
        raise
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="delivered", attempts=attempts, response_status=status, last_error="",
        delivered_at=timezone.now(),
    )  # fmt: skip
