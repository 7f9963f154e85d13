from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from colis.inventory.models import (
    InboundReceipt,
    InventoryLevel,
    ReceiptStatus,
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
        .filter(~Q(on_hand=0) | ~Q(committed=0))
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
