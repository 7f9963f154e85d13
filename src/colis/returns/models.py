from __future__ import annotations

from django.db import models

from colis.locations.models import Location
from colis.orders.models import Order, OrderLine
from colis.returns.status import Condition, Disposition, ReturnReason, ReturnSource, ReturnState


class Return(models.Model):
    """An RMA: lines of one order coming back, their inspection and what became of them."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns")
    number = models.CharField(max_length=80, unique=True)
    state = models.CharField(max_length=20, choices=ReturnState.choices)
    source = models.CharField(max_length=20, choices=ReturnSource.choices)
    # Where the units are expected (and, once received, where they arrived).
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    rejection_reason = models.CharField(max_length=500, blank=True, default="")
    cancel_reason = models.CharField(max_length=500, blank=True, default="")
    return_carrier = models.CharField(max_length=40, blank=True, default="")
    return_tracking_number = models.CharField(max_length=100, blank=True, default="")
    return_tracking_url = models.CharField(max_length=500, blank=True, default="")
    # An exchange: the replacement order, held until the items are back when asked.
    exchange_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exchange_waits_for_items = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "id"], name="return_state_idx"),
            models.Index(fields=["order", "id"], name="return_order_idx"),
        ]


class ReturnLine(models.Model):
    """One order line coming back: how many, why, and what inspection and disposition made of
    them. received = resellable + damaged + defective once inspected."""

    rma = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=30, choices=ReturnReason.choices)
    note = models.CharField(max_length=1000, blank=True, default="")
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_resellable = models.PositiveIntegerField(default=0)
    quantity_damaged = models.PositiveIntegerField(default=0)
    quantity_defective = models.PositiveIntegerField(default=0)
    # Dispositions applied (restock puts units back on hand; the others never reach it).
    quantity_restocked = models.PositiveIntegerField(default=0)
    quantity_unsellable = models.PositiveIntegerField(default=0)
    quantity_written_off = models.PositiveIntegerField(default=0)


class ReturnReceipt(models.Model):
    """Units of one return line that arrived at a location. Inspection gives them a condition
    and a disposition (blank until inspected); `applied_at` is set once the disposition has
    been applied to stock."""

    rma = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="receipts")
    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="receipts")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    condition = models.CharField(max_length=20, choices=Condition.choices, blank=True, default="")
    disposition = models.CharField(
        max_length=20, choices=Disposition.choices, blank=True, default=""
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()


class Refund(models.Model):
    """Money given back on an order, with or without a return: lines, shipping, reason."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    rma = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.SET_NULL, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    shipping_amount = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500, blank=True, default="")
    # [{"line_id", "sku", "quantity", "amount"}]: what the amount is for, when it is said.
    lines = models.JSONField(default=list, blank=True)
    notify_customer = models.BooleanField(default=True)
    # Sent to the channel the order came from (per-channel switch); see channels.refunds.
    channel_push = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
