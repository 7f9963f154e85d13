from __future__ import annotations

from django.db import models
from django.db.models import Q

from colis.catalog.models import Product
from colis.orders.status import FinancialStatus, FulfillmentStatus, OrderStatus


class Order(models.Model):
    number = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=64, blank=True, default="api")
    external_id = models.CharField(max_length=128, null=True, blank=True)
    channel_record = models.ForeignKey(
        "channels.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    locale = models.CharField(max_length=10, blank=True, default="")
    buyer_name = models.CharField(max_length=255, blank=True, default="")
    shipping_address = models.JSONField(default=dict)
    billing_address = models.JSONField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    shipping_price = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    tax_total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    discount_total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    financial_status = models.CharField(max_length=20, choices=FinancialStatus.choices)
    status = models.PositiveSmallIntegerField(choices=OrderStatus.choices)
    fulfillment_status = models.CharField(
        max_length=20, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    shipping_method = models.CharField(max_length=200, blank=True, default="")
    ship_by = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, default="")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True, default="")
    # When the buyer's personal data was removed (orders.redaction); the API shows it redacted.
    redacted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="order_channel_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="order_status_idx"),
            models.Index(fields=["fulfillment_status", "id"], name="order_fstatus_idx"),
            models.Index(fields=["channel", "id"], name="order_channel_idx"),
            models.Index(fields=["email"], name="order_email_idx"),
            models.Index(fields=["ship_by", "id"], name="order_ship_by_idx"),
        ]


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=100)  # as ordered; searches go through product
    title = models.CharField(max_length=255, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    external_line_id = models.CharField(max_length=128, blank=True, default="")


class OrderStatusLabel(models.Model):
    """The shop's own name for a status (statuses themselves are fixed)."""

    status = models.PositiveSmallIntegerField(primary_key=True, choices=OrderStatus.choices)
    label = models.CharField(max_length=100)
