"""Fulfillment orders (what one location ships of an order), their holds, and shipments."""

from __future__ import annotations

from django.db import models

from colis.fulfillment.status import FOStatus, HoldReason, RequestStatus, ShipmentStatus
from colis.locations.models import Location
from colis.orders.models import Order, OrderLine


class FulfillmentOrder(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillment_orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=FOStatus.choices, default=FOStatus.OPEN)
    request_status = models.CharField(
        max_length=30, choices=RequestStatus.choices, default=RequestStatus.UNSUBMITTED
    )
    # Whether the remaining quantities are committed at the location (not while out of stock).
    commits_stock = models.BooleanField(default=True)
    reject_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["location", "status"], name="fo_location_status_idx"),
            models.Index(
                fields=["id"],
                name="fo_backorder_idx",
                condition=models.Q(commits_stock=False, status="on_hold"),
            ),
        ]


class FulfillmentOrderLine(models.Model):
    """`quantity` is what this FO holds of the order line; `remaining` is what it has left."""

    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    quantity_fulfilled = models.PositiveIntegerField(default=0)

    @property
    def remaining(self) -> int:
        return self.quantity - self.quantity_fulfilled


class FulfillmentHold(models.Model):
    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.CASCADE, related_name="holds"
    )
    reason = models.CharField(max_length=30, choices=HoldReason.choices)
    notes = models.CharField(max_length=1000, blank=True, default="")
    actor_kind = models.CharField(max_length=20)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    fulfillment_order = models.ForeignKey(
        FulfillmentOrder, on_delete=models.PROTECT, related_name="shipments"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.SHIPPED
    )
    carrier = models.CharField(max_length=40, blank=True, default="")
    carrier_name = models.CharField(max_length=100, blank=True, default="")
    service = models.CharField(max_length=100, blank=True, default="")
    tracking_numbers = models.JSONField(default=list)
    tracking_urls = models.JSONField(default=list)
    package = models.JSONField(default=dict)
    notes = models.TextField(blank=True, default="")
    ship_date = models.DateField(null=True, blank=True)
    notify_customer = models.BooleanField(default=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    fulfillment_order_line = models.ForeignKey(
        FulfillmentOrderLine, on_delete=models.PROTECT, related_name="+"
    )
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
