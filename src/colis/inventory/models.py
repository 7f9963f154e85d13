from __future__ import annotations

from django.db import models

from colis.catalog.models import Product
from colis.locations.models import Location


class Reason(models.TextChoices):
    RECEIVED = "received"
    CORRECTION = "correction"
    CYCLE_COUNT = "cycle_count"
    DAMAGED = "damaged"
    LOST = "lost"
    SHIPPED = "shipped"
    RETURNED = "returned"
    WRITTEN_OFF = "written_off"
    TRANSFER = "transfer"
    COMMITTED = "committed"
    RELEASED = "released"


# Reasons a person may give for an adjustment; the others are written by their own services.
ADJUSTMENT_REASONS = (
    Reason.CORRECTION,
    Reason.CYCLE_COUNT,
    Reason.DAMAGED,
    Reason.LOST,
    Reason.RECEIVED,
    Reason.RETURNED,
)


class InventoryLevel(models.Model):
    """Stock of one product at one location. Changed only by `inventory_apply`."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="levels")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="levels")
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    # Units kept here that cannot be sold (returned damaged or defective): never available.
    unsellable = models.IntegerField(default=0)
    bin = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="level_product_location")
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


class StockMovement(models.Model):
    """The ledger: one row per change of a level; deltas of `on_hand` sum to `on_hand`."""

    level = models.ForeignKey(InventoryLevel, on_delete=models.PROTECT, related_name="movements")
    product_id_snapshot = models.BigIntegerField()
    location_id_snapshot = models.BigIntegerField()
    delta_on_hand = models.IntegerField(default=0)
    delta_committed = models.IntegerField(default=0)
    delta_unsellable = models.IntegerField(default=0)
    on_hand_after = models.IntegerField()
    committed_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    reference = models.CharField(max_length=100, blank=True, default="")
    order_id = models.BigIntegerField(null=True, blank=True)
    actor_kind = models.CharField(max_length=20)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["level", "id"], name="movement_level_idx")]


class ReceiptStatus(models.TextChoices):
    OPEN = "open"
    PARTIAL = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class InboundReceipt(models.Model):
    """Stock expected from a supplier at a location, received in one or more deliveries."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="receipts")
    supplier = models.CharField(max_length=200, blank=True, default="")
    reference = models.CharField(max_length=100, blank=True, default="")
    expected_at = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ReceiptStatus.choices, default=ReceiptStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)


class InboundReceiptLine(models.Model):
    receipt = models.ForeignKey(InboundReceipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    expected = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)


class TransferStatus(models.TextChoices):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Transfer(models.Model):
    """Stock moving between two locations: leaves the origin at creation, arrives on receipt."""

    origin = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.IN_TRANSIT
    )
    reference = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
