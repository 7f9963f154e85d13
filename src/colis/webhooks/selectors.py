"""Reads of webhook subscriptions and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from colis.core.errors import NotFound
from colis.webhooks.models import WebhookDelivery, WebhookSubscription


def subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.order_by("pk")


def subscription_get(*, subscription_id: int) -> WebhookSubscription:
    sub = WebhookSubscription.objects.filter(pk=subscription_id).first()
    if sub is None:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return sub


def delivery_list(*, subscription_id: int) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first."""
    return WebhookDelivery.objects.filter(subscription_id=subscription_id).order_by("-pk")
