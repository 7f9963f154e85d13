from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import INVENTORY_WRITE, READ
from colis.api.auth import require
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page
from colis.catalog.models import sku_key
from colis.catalog.selectors import product_refs_by_skus
from colis.core.errors import NotFound, ValidationError
from colis.inventory.models import InboundReceipt, InventoryLevel, StockMovement, Transfer
from colis.inventory.receiving import (
    ProductQuantity,
    receipt_cancel,
    receipt_create,
    receipt_receive,
    transfer_cancel,
    transfer_create,
    transfer_receive,
)
from colis.inventory.selectors import (
    level_list,
    movement_get,
    movement_list,
    receipt_get,
    transfer_get,
)
from colis.inventory.services import inventory_adjust

router = Router(tags=["inventory"])
MAX_QTY = 1_000_000_000


class AdjustmentIn(Schema):
    sku: str = Field(max_length=100)
    location_id: Id
    reason: str = Field("correction", max_length=20)
    delta: int | None = Field(None, ge=-MAX_QTY, le=MAX_QTY)
    set_on_hand: int | None = Field(None, ge=0, le=MAX_QTY)
    note: str = Field("", max_length=500)


class SkuQuantity(Schema):
    sku: str = Field(max_length=100)
    quantity: int = Field(ge=0, le=MAX_QTY)


class ReceiptIn(Schema):
    location_id: Id
    supplier: str = Field("", max_length=200)
    reference: str = Field("", max_length=100)
    expected_at: date | None = None
    lines: list[SkuQuantity] = Field(max_length=5000)


class ReceiveIn(Schema):
    lines: list[SkuQuantity] = Field(max_length=5000)


class TransferIn(Schema):
    origin_id: Id
    destination_id: Id
    reference: str = Field("", max_length=100)
    lines: list[SkuQuantity] = Field(max_length=5000)


def level_out(level: InventoryLevel, sku: str | None = None) -> dict[str, Any]:
    return {
        "id": level.pk,
        "sku": sku if sku is not None else level.product.sku,
        "product_id": level.product_id,
        "location_id": level.location_id,
        "on_hand": level.on_hand,
        "committed": level.committed,
        "available": level.available,
        "unsellable": level.unsellable,
        "updated_at": level.updated_at,
    }


def movement_out(m: StockMovement) -> dict[str, Any]:
    return {
        "id": m.pk,
        "product_id": m.product_id_snapshot,
        "location_id": m.location_id_snapshot,
        "delta_on_hand": m.delta_on_hand,
        "delta_committed": m.delta_committed,
        "delta_unsellable": m.delta_unsellable,
        "on_hand_after": m.on_hand_after,
        "committed_after": m.committed_after,
        "reason": m.reason,
        "note": m.note,
        "reference": m.reference,
        "actor": {"kind": m.actor_kind, "id": m.actor_id, "label": m.actor_label},
        "created_at": m.created_at,
    }


def _quantities(lines: list[SkuQuantity]) -> list[ProductQuantity]:
    products = product_refs_by_skus(ln.sku for ln in lines)
    unknown = {
        f"lines[{i}].sku": f"Unknown SKU {ln.sku!r}."
        for i, ln in enumerate(lines)
        if sku_key(ln.sku) not in products
    }
    if unknown:
        raise ValidationError("Some SKUs are unknown.", code="unknown_sku", fields=unknown)
    return [
        ProductQuantity(product_id=products[sku_key(ln.sku)].pk, quantity=ln.quantity)
        for ln in lines
    ]


def receipt_out(r: InboundReceipt) -> dict[str, Any]:
    return {
        "id": r.pk,
        "location_id": r.location_id,
        "supplier": r.supplier,
        "reference": r.reference,
        "expected_at": r.expected_at,
        "status": r.status,
        "lines": [
            {"sku": ln.product.sku, "expected": ln.expected, "received": ln.received}
            for ln in r.lines.select_related("product").order_by("pk")
        ],
    }


def transfer_out(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.pk,
        "origin_id": t.origin_id,
        "destination_id": t.destination_id,
        "status": t.status,
        "reference": t.reference,
        "received_at": t.received_at,
        "lines": [
            {"sku": ln.product.sku, "quantity": ln.quantity}
            for ln in t.lines.select_related("product").order_by("pk")
        ],
    }


@router.get("/levels", summary="Stock per product and location")
def levels_list(
    request: HttpRequest,
    sku: str = "",
    location_id: Id | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    qs = level_list(sku=sku, location_id=location_id)
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__gt=after)
    return page(list(qs[: limit + 1]), limit, level_out)


@router.post(
    "/adjustments", response=CREATED, summary="Adjust stock by a delta, or count it (set_on_hand)"
)
def adjustments_create(request: HttpRequest, body: AdjustmentIn) -> Any:
    who = require(request, INVENTORY_WRITE)
    product = product_refs_by_skus([body.sku]).get(sku_key(body.sku))
    if product is None:
        raise NotFound(
            f"Unknown SKU {body.sku!r}.", code="product_not_found", fields={"sku": "Unknown SKU."}
        )
    level = inventory_adjust(
        product_id=product.pk,
        location_id=body.location_id,
        reason=body.reason,
        delta=body.delta,
        set_on_hand=body.set_on_hand,
        note=body.note,
        actor=who,
    )
    return Status(201, level_out(level, sku=product.sku))


@router.get("/adjustments", summary="The stock ledger, newest first")
def adjustments_list(
    request: HttpRequest,
    sku: str = "",
    location_id: Id | None = None,
    reason: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    qs = movement_list(sku=sku, location_id=location_id, reason=reason)
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__lt=after)
    return page(list(qs[: limit + 1]), limit, movement_out)


@router.get("/adjustments/{movement_id}", summary="One ledger row")
def adjustments_read(request: HttpRequest, movement_id: Id) -> Any:
    require(request, READ)
    return movement_out(movement_get(movement_id=movement_id))


@router.post("/receipts", response=CREATED, summary="Expect stock from a supplier")
def receipts_create(request: HttpRequest, body: ReceiptIn) -> Any:
    who = require(request, INVENTORY_WRITE)
    receipt = receipt_create(
        location_id=body.location_id,
        lines=_quantities(body.lines),
        supplier=body.supplier,
        reference=body.reference,
        expected_at=body.expected_at,
        actor=who,
    )
    return Status(201, receipt_out(receipt))


@router.get("/receipts/{receipt_id}", summary="Read a receipt")
def receipts_read(request: HttpRequest, receipt_id: Id) -> Any:
    require(request, READ)
    return receipt_out(receipt_get(receipt_id=receipt_id))


@router.post("/receipts/{receipt_id}/receive", summary="Receive some or all expected stock")
def receipts_receive(request: HttpRequest, receipt_id: Id, body: ReceiveIn) -> Any:
    who = require(request, INVENTORY_WRITE)
    return receipt_out(
        receipt_receive(receipt_id=receipt_id, lines=_quantities(body.lines), actor=who)
    )


@router.post("/receipts/{receipt_id}/cancel", summary="Cancel what is still expected")
def receipts_cancel(request: HttpRequest, receipt_id: Id) -> Any:
    who = require(request, INVENTORY_WRITE)
    return receipt_out(receipt_cancel(receipt_id=receipt_id, actor=who))


@router.post("/transfers", response=CREATED, summary="Send stock from one location to another")
def transfers_create(request: HttpRequest, body: TransferIn) -> Any:
    who = require(request, INVENTORY_WRITE)
    transfer = transfer_create(
        origin_id=body.origin_id,
        destination_id=body.destination_id,
        lines=_quantities(body.lines),
        reference=body.reference,
        actor=who,
    )
    return Status(201, transfer_out(transfer))


@router.get("/transfers/{transfer_id}", summary="Read a transfer")
def transfers_read(request: HttpRequest, transfer_id: Id) -> Any:
    require(request, READ)
    return transfer_out(transfer_get(transfer_id=transfer_id))


@router.post("/transfers/{transfer_id}/receive", summary="Stock arrives at the destination")
def transfers_receive(request: HttpRequest, transfer_id: Id) -> Any:
    who = require(request, INVENTORY_WRITE)
    return transfer_out(transfer_receive(transfer_id=transfer_id, actor=who))


@router.post("/transfers/{transfer_id}/cancel", summary="Stock in transit returns to the origin")
def transfers_cancel(request: HttpRequest, transfer_id: Id) -> Any:
    who = require(request, INVENTORY_WRITE)
    return transfer_out(transfer_cancel(transfer_id=transfer_id, actor=who))
