from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum

from colis.core.errors import NotFound
from colis.inventory.models import (
    InboundReceipt,
    InventoryLevel,
    ReceiptStatus,
    StockMovement,
    Transfer,
    TransferStatus,
)


def level_list(*, sku: str = "", location_id: int | None = None) -> QuerySet[InventoryLevel]:
    from colis.catalog.models import sku_key

    qs = InventoryLevel.objects.select_related("product").order_by("pk")
    if sku:
        qs = qs.filter(product__sku_key=sku_key(sku))
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    return qs


def location_open_work(*, location_id: int) -> dict[str, Any]:
    """What keeps a location from being deleted: stock held, open receipts, transfers."""
    work: dict[str, Any] = {}
    stocked = (
        InventoryLevel.objects.filter(location_id=location_id)
        .filter(~Q(on_hand=0) | ~Q(committed=0) | ~Q(unsellable=0))
        .count()
    )
    if stocked:
        work["stock"] = f"{stocked} products have stock here."
    receipts = InboundReceipt.objects.filter(
        location_id=location_id, status__in=[ReceiptStatus.OPEN, ReceiptStatus.PARTIAL]
    ).count()
    if receipts:
        work["receipts"] = f"{receipts} open inbound receipts."
    transfers = (
        Transfer.objects.filter(status=TransferStatus.IN_TRANSIT)
        .filter(Q(origin_id=location_id) | Q(destination_id=location_id))
        .count()
    )
    if transfers:
        work["transfers"] = f"{transfers} transfers in transit."
    return work


def movement_list(
    *, sku: str = "", location_id: int | None = None, reason: str = ""
) -> QuerySet[StockMovement]:
    """The ledger, newest first."""
    from colis.catalog.models import sku_key

    qs = StockMovement.objects.order_by("-pk")
    if sku:
        qs = qs.filter(level__product__sku_key=sku_key(sku))
    if location_id is not None:
        qs = qs.filter(location_id_snapshot=location_id)
    if reason:
        qs = qs.filter(reason=reason)
    return qs


def movement_get(*, movement_id: int) -> StockMovement:
    movement = StockMovement.objects.filter(pk=movement_id).first()
    if movement is None:
        raise NotFound("No such ledger row.", code="adjustment_not_found")
    return movement


def receipt_get(*, receipt_id: int) -> InboundReceipt:
    receipt = InboundReceipt.objects.filter(pk=receipt_id).first()
    if receipt is None:
        raise NotFound("No such receipt.", code="receipt_not_found")
    return receipt


def transfer_get(*, transfer_id: int) -> Transfer:
    transfer = Transfer.objects.filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound("No such transfer.", code="transfer_not_found")
    return transfer


@dataclass(frozen=True, kw_only=True, slots=True)
class LevelTotals:
    on_hand: int = 0
    committed: int = 0
    unsellable: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.committed


def level_totals(
    *, product_ids: list[int], location_id: int | None = None
) -> dict[int, LevelTotals]:
    """Stock of each product summed over every location (or at one), in one query."""
    qs = InventoryLevel.objects.filter(product_id__in=product_ids)
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    rows = qs.values("product_id").annotate(
        h=Sum("on_hand"), c=Sum("committed"), u=Sum("unsellable")
    )
    return {
        r["product_id"]: LevelTotals(on_hand=r["h"] or 0, committed=r["c"] or 0,
                                     unsellable=r["u"] or 0)
        for r in rows
    }  # fmt: skip


def product_levels(*, product_id: int) -> dict[int, InventoryLevel]:
    """A product's levels by location id."""
    return {lv.location_id: lv for lv in InventoryLevel.objects.filter(product_id=product_id)}


def receipt_list(*, open_only: bool = True, limit: int = 100) -> list[InboundReceipt]:
    """Receipts newest first, with their location and lines (and each line's product)."""
    qs = InboundReceipt.objects.select_related("location").order_by("-pk")
    if open_only:
        qs = qs.filter(status__in=[ReceiptStatus.OPEN, ReceiptStatus.PARTIAL])
    return list(qs.prefetch_related("lines__product")[:limit])


def transfer_list(*, open_only: bool = True, limit: int = 100) -> list[Transfer]:
    """Transfers newest first, with both locations and their lines (and each line's product)."""
    qs = Transfer.objects.select_related("origin", "destination").order_by("-pk")
    if open_only:
        qs = qs.filter(status=TransferStatus.IN_TRANSIT)
    return list(qs.prefetch_related("lines__product")[:limit])
