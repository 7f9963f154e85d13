"""Inbound receipts from suppliers and transfers between locations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.timeline import event_record
from colis.inventory.models import (
    InboundReceipt,
    InboundReceiptLine,
    Reason,
    ReceiptStatus,
    Transfer,
    TransferLine,
    TransferStatus,
)
from colis.inventory.services import StockChange, inventory_apply
from colis.locations.models import Location


@dataclass(frozen=True, kw_only=True, slots=True)
class ProductQuantity:
    product_id: int
    quantity: int


def _check_lines(lines: Sequence[ProductQuantity], *, allow_zero: bool = False) -> None:
    if not lines:
        raise ValidationError(
            "At least one line is required.", code="invalid_lines", fields={"lines": "Empty."}
        )
    errors = {
        f"lines[{i}].quantity": "Must be positive."
        for i, line in enumerate(lines)
        if line.quantity < 0 or (line.quantity == 0 and not allow_zero)
    }
    seen: set[int] = set()
    for i, line in enumerate(lines):
        if line.product_id in seen:
            errors[f"lines[{i}].sku"] = "Appears twice."
        seen.add(line.product_id)
    if errors:
        raise ValidationError("Some lines are not valid.", code="invalid_lines", fields=errors)


def _location(location_id: int, field: str) -> Location:
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise NotFound(
            "No such location.", code="location_not_found", fields={field: "Unknown location."}
        )
    return location


def receipt_create(
    *,
    location_id: int,
    lines: Sequence[ProductQuantity],
    supplier: str = "",
    reference: str = "",
    expected_at: date | None = None,
    actor: Actor,
) -> InboundReceipt:
    _check_lines(lines)
    _location(location_id, "location_id")
    with transaction.atomic():
        receipt = InboundReceipt.objects.create(
            location_id=location_id,
            supplier=supplier,
            reference=reference,
            expected_at=expected_at,
        )
        InboundReceiptLine.objects.bulk_create(
            [
                InboundReceiptLine(receipt=receipt, product_id=ln.product_id, expected=ln.quantity)
                for ln in lines
            ]
        )
        event_record(
            subject_type="receipt",
            subject_id=receipt.pk,
            kind="receipt_created",
            actor=actor,
            data={"location_id": location_id, "lines": len(lines)},
        )
    return receipt


def receipt_receive(
    *, receipt_id: int, lines: Sequence[ProductQuantity], actor: Actor
) -> InboundReceipt:
    """Receive some or all of what is still expected; stock arrives at the receipt's location.

    Raises NotFound, Conflict (closed receipt), ValidationError (unknown product, too much).
    """
    _check_lines(lines)
    with transaction.atomic():
        receipt = lock_by_pk(InboundReceipt.objects.all(), [receipt_id]).get(receipt_id)
        if receipt is None:
            raise NotFound("No such receipt.", code="receipt_not_found")
        if receipt.status in (ReceiptStatus.RECEIVED, ReceiptStatus.CANCELLED):
            raise Conflict(f"This receipt is {receipt.status}.", code="receipt_closed")
        by_product = {ln.product_id: ln for ln in receipt.lines.all()}
        errors: dict[str, str] = {}
        for i, line in enumerate(lines):
            target = by_product.get(line.product_id)
            if target is None:
                errors[f"lines[{i}].sku"] = "Not on this receipt."
            elif target.received + line.quantity > target.expected:
                errors[f"lines[{i}].quantity"] = (
                    f"Only {target.expected - target.received} still expected."
                )
        if errors:
            raise ValidationError(
                "Some lines cannot be received.", code="over_receipt", fields=errors
            )
        inventory_apply(
            changes=[
                StockChange(
                    product_id=ln.product_id,
                    location_id=receipt.location_id,
                    reason=Reason.RECEIVED,
                    on_hand=ln.quantity,
                    reference=f"receipt:{receipt.pk}",
                )
                for ln in lines
                if ln.quantity
            ],
            actor=actor,
        )
        for line in lines:
            by_product[line.product_id].received += line.quantity
        InboundReceiptLine.objects.bulk_update(by_product.values(), ["received"])
        done = all(ln.received >= ln.expected for ln in by_product.values())
        receipt.status = ReceiptStatus.RECEIVED if done else ReceiptStatus.PARTIAL
        receipt.save(update_fields=["status"])
        event_record(
            subject_type="receipt",
            subject_id=receipt.pk,
            kind="receipt_received",
            actor=actor,
            data={
                "lines": {str(ln.product_id): ln.quantity for ln in lines},
                "status": receipt.status,
            },
        )
    return receipt


def receipt_cancel(*, receipt_id: int, actor: Actor) -> InboundReceipt:
    with transaction.atomic():
        receipt = lock_by_pk(InboundReceipt.objects.all(), [receipt_id]).get(receipt_id)
        if receipt is None:
            raise NotFound("No such receipt.", code="receipt_not_found")
        if receipt.status in (ReceiptStatus.RECEIVED, ReceiptStatus.CANCELLED):
            raise Conflict(f"This receipt is {receipt.status}.", code="receipt_closed")
        receipt.status = ReceiptStatus.CANCELLED
        receipt.save(update_fields=["status"])
        event_record(
            subject_type="receipt", subject_id=receipt.pk, kind="receipt_cancelled", actor=actor
        )
    return receipt


def transfer_create(
    *,
    origin_id: int,
    destination_id: int,
    lines: Sequence[ProductQuantity],
    reference: str = "",
    actor: Actor,
) -> Transfer:
    """Send stock from `origin_id`: it leaves the origin now and is in transit until received."""
    _check_lines(lines)
    if origin_id == destination_id:
        raise ValidationError(
            "Origin and destination must differ.",
            code="invalid_transfer",
            fields={"destination_id": "Same as origin."},
        )
    _location(origin_id, "origin_id")
    _location(destination_id, "destination_id")
    with transaction.atomic():
        transfer = Transfer.objects.create(
            origin_id=origin_id, destination_id=destination_id, reference=reference
        )
        TransferLine.objects.bulk_create(
            [
                TransferLine(transfer=transfer, product_id=ln.product_id, quantity=ln.quantity)
                for ln in lines
            ]
        )
        inventory_apply(
            changes=[
                StockChange(
                    product_id=ln.product_id,
                    location_id=origin_id,
                    reason=Reason.TRANSFER,
                    on_hand=-ln.quantity,
                    reference=f"transfer:{transfer.pk}",
                )
                for ln in lines
            ],
            actor=actor,
        )
        event_record(
            subject_type="transfer",
            subject_id=transfer.pk,
            kind="transfer_created",
            actor=actor,
            data={"origin_id": origin_id, "destination_id": destination_id},
        )
    return transfer


def _transfer_close(*, transfer_id: int, status: str, actor: Actor) -> Transfer:
    with transaction.atomic():
        transfer = lock_by_pk(Transfer.objects.all(), [transfer_id]).get(transfer_id)
        if transfer is None:
            raise NotFound("No such transfer.", code="transfer_not_found")
        if transfer.status != TransferStatus.IN_TRANSIT:
            raise Conflict(f"This transfer is {transfer.status}.", code="transfer_closed")
        to = transfer.destination_id if status == TransferStatus.RECEIVED else transfer.origin_id
        inventory_apply(
            changes=[
                StockChange(
                    product_id=ln.product_id,
                    location_id=to,
                    reason=Reason.TRANSFER,
                    on_hand=ln.quantity,
                    reference=f"transfer:{transfer.pk}",
                )
                for ln in transfer.lines.all()
            ],
            actor=actor,
        )
        transfer.status = status
        transfer.received_at = timezone.now() if status == TransferStatus.RECEIVED else None
        transfer.save(update_fields=["status", "received_at"])
        event_record(
            subject_type="transfer", subject_id=transfer.pk, kind=f"transfer_{status}", actor=actor
        )
    return transfer


def transfer_receive(*, transfer_id: int, actor: Actor) -> Transfer:
    """Stock arrives at the destination. Raises NotFound, Conflict."""
    return _transfer_close(transfer_id=transfer_id, status=TransferStatus.RECEIVED, actor=actor)


def transfer_cancel(*, transfer_id: int, actor: Actor) -> Transfer:
    """Stock in transit goes back to the origin. Raises NotFound, Conflict."""
    return _transfer_close(transfer_id=transfer_id, status=TransferStatus.CANCELLED, actor=actor)
