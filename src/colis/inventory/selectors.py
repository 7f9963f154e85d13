from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

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
