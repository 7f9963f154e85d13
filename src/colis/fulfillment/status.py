"""Fulfillment-order states, service request states, hold reasons and shipment statuses
(Shopify's fulfillment-order model)."""

from __future__ import annotations

from django.db import models


class FOStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    CANCELLED = "cancelled"


LIVE_FO = frozenset({FOStatus.OPEN, FOStatus.IN_PROGRESS, FOStatus.ON_HOLD, FOStatus.SCHEDULED})


class RequestStatus(models.TextChoices):
    UNSUBMITTED = "unsubmitted"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLATION_REQUESTED = "cancellation_requested"
    CANCELLATION_ACCEPTED = "cancellation_accepted"
    CANCELLATION_REJECTED = "cancellation_rejected"


class HoldReason(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment"
    INVENTORY_OUT_OF_STOCK = "inventory_out_of_stock"
    INCORRECT_ADDRESS = "incorrect_address"
    HIGH_RISK_OF_FRAUD = "high_risk_of_fraud"
    AWAITING_RETURN_ITEMS = "awaiting_return_items"
    UNKNOWN_DELIVERY_DATE = "unknown_delivery_date"
    OTHER = "other"


# Holds a person places; the two others come and go with payment and stock.
MANUAL_HOLDS = frozenset(
    {
        HoldReason.INCORRECT_ADDRESS,
        HoldReason.HIGH_RISK_OF_FRAUD,
        HoldReason.AWAITING_RETURN_ITEMS,
        HoldReason.UNKNOWN_DELIVERY_DATE,
        HoldReason.OTHER,
    }
)
# Holds that put the order in manual verification.
VERIFICATION_HOLDS = frozenset({HoldReason.INCORRECT_ADDRESS, HoldReason.HIGH_RISK_OF_FRAUD})


class ShipmentStatus(models.TextChoices):
    PENDING = "pending"
    LABEL_PRINTED = "label_printed"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A shipment in one of these has not left: its items are packed, stock is still on the shelf.
PACKED = frozenset({ShipmentStatus.PENDING, ShipmentStatus.LABEL_PRINTED})
