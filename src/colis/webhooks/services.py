"""Webhook subscriptions: create, change, and send a delivery again by hand."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.models import OutboxMessage
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record
from colis.webhooks.models import EVENTS, WebhookDelivery, WebhookSubscription
from colis.webhooks.urls import url_problem

MAX_ATTEMPTS = 30  # with the outbox's backoff (capped at 6 h), more than 48 hours of retries


@dataclass(frozen=True, kw_only=True)
class SubscriptionData(Given):
    url: str = UNSET
    events: list[str] = UNSET
    active: bool = UNSET
    allow_private: bool = UNSET


def _check(values: dict[str, Any], current: WebhookSubscription | None) -> None:
    errors: dict[str, str] = {}
    if "events" in values:
        unknown = [e for e in values["events"] if e not in EVENTS]
        if not values["events"] or unknown:
            errors["events"] = f"One or more of {', '.join(EVENTS)}."
    url = values.get("url", getattr(current, "url", ""))
    allow = values.get("allow_private", getattr(current, "allow_private", False))
    if "url" in values or "allow_private" in values:
        if len(url) > 500:
            errors["url"] = "At most 500 characters."
        elif problem := url_problem(url, allow_private=allow):
            errors["url"] = problem
    if errors:
        raise ValidationError("The webhook is not valid.", code="invalid_webhook", fields=errors)


def subscription_create(*, data: SubscriptionData, actor: Actor) -> WebhookSubscription:
    """A new subscription with a fresh signing secret. Raises ValidationError."""
    values = data.given()
    for required in ("url", "events"):
        if required not in values:
            raise ValidationError(
                "The webhook is not valid.",
                code="invalid_webhook",
                fields={required: "This field is required."},
            )
    _check(values, None)
    with transaction.atomic():
        sub = WebhookSubscription.objects.create(secret=secrets.token_urlsafe(32), **values)
        event_record(
            subject_type="webhook",
            subject_id=sub.pk,
            kind="webhook_created",
            actor=actor,
            data={"url": sub.url, "events": sub.events},
        )
    return sub


def subscription_update(
    *, subscription_id: int, data: SubscriptionData, actor: Actor
) -> WebhookSubscription:
    values = data.given()
    with transaction.atomic():
        sub = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id).first()
        if sub is None:
            raise NotFound("No such webhook.", code="webhook_not_found")
        _check(values, sub)
        for key, value in values.items():
            setattr(sub, key, value)
        sub.save()
        event_record(
            subject_type="webhook", subject_id=sub.pk, kind="webhook_updated", actor=actor,
            data=values,
        )  # fmt: skip
    return sub


def delivery_redeliver(*, delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send a delivery again, with the same event id. Raises NotFound, Conflict (in progress)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such delivery.", code="webhook_delivery_not_found")
        if delivery.status in ("pending", "retrying"):
            raise Conflict("This delivery is still being sent.", code="webhook_delivery_pending")
        now = timezone.now()
        first = OutboxMessage.objects.filter(pk=delivery.outbox_message_id).first()
        event = first.payload if first is not None else {}
        [pk] = outbox_enqueue_many(
            [
                Effect(
                    kind="webhook_delivery",
                    idempotency_key=f"{delivery.event_id}:sub{delivery.subscription_id}:again:"
                    f"{int(now.timestamp() * 1e6)}",
                    payload={
                        "delivery_id": delivery.pk,
                        "data": event.get("data") or {},
                        "created_at": event.get("created_at"),
                    },
                    max_attempts=MAX_ATTEMPTS,
                )
            ]
        )
        delivery.outbox_message_id = pk
        delivery.status = "pending"
        delivery.last_error = ""
        delivery.save(update_fields=["outbox_message_id", "status", "last_error"])
        event_record(
            subject_type="webhook",
            subject_id=delivery.subscription_id,
            kind="webhook_redelivered",
            actor=actor,
            data={"delivery_id": delivery.pk, "event_id": delivery.event_id},
        )
    return delivery
