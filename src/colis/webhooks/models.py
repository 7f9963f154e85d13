"""Outgoing webhook subscriptions and the log of their deliveries."""

from __future__ import annotations

from django.db import models

EVENTS = (
    "order.created",
    "order.updated",
    "order.cancelled",
    "fulfillment_order.submitted",
    "fulfillment_order.accepted",
    "fulfillment_order.rejected",
    "fulfillment_order.cancelled",
    "shipment.created",
    "shipment.updated",
    "shipment.tracking_added",
    "shipment.delivered",
    "shipment.cancelled",
    "return.requested",
    "return.approved",
    "return.rejected",
    "return.cancelled",
    "return.in_transit",
    "return.received",
    "return.inspected",
    "return.restocked",
    "return.closed",
    "refund.created",
)


class WebhookSubscription(models.Model):
    url = models.CharField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    # Private and loopback addresses are refused unless the merchant allows them here.
    allow_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription: its outbox row does the sending."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=200)
    event = models.CharField(max_length=60)
    outbox_message_id = models.BigIntegerField()
    status = models.CharField(max_length=12, default="pending")
    response_status = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["subscription", "-id"], name="webhook_delivery_log_idx")]
