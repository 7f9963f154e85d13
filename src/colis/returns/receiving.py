"""Returned units arriving: receipt at a location, inspection (per unit: resellable, damaged,
defective) and disposition through the inventory service (restock, keep unsellable, write off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder
from colis.fulfillment.status import HoldReason
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply
from colis.locations.models import Location
from colis.returns.models import Return, ReturnLine, ReturnReceipt
from colis.returns.services import return_email, return_event, return_lock
from colis.returns.status import (
    RECEIVABLE,
    Condition,
    Disposition,
    ReturnState,
    return_transition_check,
)

DEFAULT_DISPOSITION = {
    Condition.RESELLABLE: Disposition.RESTOCK,
    Condition.DAMAGED: Disposition.UNSELLABLE,
    Condition.DEFECTIVE: Disposition.UNSELLABLE,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ReceivedUnits:
    """Units of one return line that arrived (or were inspected): how many, in what condition
    (blank: not inspected yet), and what to do with them (blank: the condition's default)."""

    quantity: int
    line_id: int | None = None
    sku: str = ""
    condition: str = ""
    disposition: str = ""


def _line_for(
    rma_lines: list[ReturnLine], u: ReceivedUnits, key: str, errors: dict[str, Any]
) -> ReturnLine | None:
    if u.line_id is not None:
        # The order line's id, as the return shows it (a return line's own id may be another
        # order line's).
        found = [ln for ln in rma_lines if ln.order_line_id == u.line_id]
    else:
        found = [ln for ln in rma_lines if ln.sku == u.sku]
    if not found:
        errors[f"{key}.line_id" if u.line_id is not None else f"{key}.sku"] = (
            "Not a line of this return."
        )
        return None
    return found[0]


def _check_units(units: Sequence[ReceivedUnits], *, inspecting: bool) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not units:
        errors["lines"] = "At least one line."
    for i, u in enumerate(units):
        key = f"lines.{i}"
        if u.quantity < 1:
            errors[f"{key}.quantity"] = "Must be at least 1."
        if u.condition and u.condition not in Condition.values:
            errors[f"{key}.condition"] = f"One of {', '.join(Condition.values)}."
        if inspecting and not u.condition:
            errors[f"{key}.condition"] = "Required when inspecting."
        if u.disposition and u.disposition not in Disposition.values:
            errors[f"{key}.disposition"] = f"One of {', '.join(Disposition.values)}."
        if u.disposition and not u.condition:
            errors[f"{key}.disposition"] = "Give the condition with a disposition."
        if u.condition == Condition.RESELLABLE and u.disposition == Disposition.UNSELLABLE:
            errors[f"{key}.disposition"] = "A resellable unit is restocked or written off."
        if u.condition in (Condition.DAMAGED, Condition.DEFECTIVE) and (
            u.disposition == Disposition.RESTOCK
        ):
            errors[f"{key}.disposition"] = "A damaged or defective unit is kept or written off."
    return errors


def _state_after_receipt(rma: Return) -> str:
    uninspected = rma.receipts.filter(condition="").exists()
    return ReturnState.RECEIVED if uninspected else ReturnState.INSPECTED


def return_receive(
    *,
    return_id: int,
    location_id: int | None,
    lines: Sequence[ReceivedUnits],
    notify_customer: bool = True,
    scope_location_id: int | None = None,
    actor: Actor,
) -> Return:
    """Units of an approved return arrived at a location (the return's, if not given); with a
    condition they are inspected at once. Several receipts may follow one another. Raises
    ValidationError, NotFound, Conflict (`invalid_return_transition`, `quantity_above_return`)."""
    errors = _check_units(lines, inspecting=False)
    if errors:
        raise ValidationError("The receipt is not valid.", code="invalid_receipt", fields=errors)
    with transaction.atomic():
        order, rma = return_lock(return_id, location_id=scope_location_id)
        if rma.state not in RECEIVABLE:
            return_transition_check(rma.state, ReturnState.RECEIVED)
        location_id = scope_location_id or location_id or rma.location_id
        if location_id is None or not Location.objects.filter(pk=location_id).exists():
            raise NotFound(
                "Say at which location the units arrived.",
                code="location_not_found",
                fields={"location_id": "Unknown location."},
            )
        rma_lines = list(rma.lines.order_by("pk"))
        added: dict[int, int] = {}
        receipts: list[ReturnReceipt] = []
        over: dict[str, Any] = {}
        now = timezone.now()
        for i, u in enumerate(lines):
            line = _line_for(rma_lines, u, f"lines.{i}", errors)
            if line is None:
                continue
            left = line.quantity - line.quantity_received - added.get(line.pk, 0)
            if u.quantity > left:
                over[f"lines.{i}.quantity"] = f"At most {left} more of {line.sku} can arrive."
                continue
            added[line.pk] = added.get(line.pk, 0) + u.quantity
            receipts.append(_receipt(rma, line, location_id, u, now))
        if errors:
            raise ValidationError(
                "The receipt is not valid.", code="invalid_receipt", fields=errors
            )
        if over:
            raise Conflict(
                "More units than the return holds.", code="quantity_above_return", fields=over
            )
        ReturnReceipt.objects.bulk_create(receipts)
        for line in rma_lines:
            if line.pk in added:
                line.quantity_received += added[line.pk]
        _counts_refresh(rma_lines, receipts)
        first = rma.received_at is None
        rma.location_id = location_id
        rma.state = _state_after_receipt(rma)
        rma.received_at = rma.received_at or now
        rma.updated_at = now
        rma.save(update_fields=["location", "state", "received_at", "updated_at"])
        return_event(
            rma,
            "return_received",
            actor,
            {
                "location_id": location_id,
                "lines": [
                    {"sku": r.line.sku, "quantity": r.quantity, "condition": r.condition}
                    for r in receipts
                ],
            },
        )
        if notify_customer and first:
            return_email(rma, order, "return_received")
        if all(ln.quantity_received >= ln.quantity for ln in rma_lines):
            exchange_release(rma, actor)
    return rma


def _receipt(
    rma: Return, line: ReturnLine, location_id: int, u: ReceivedUnits, now: Any
) -> ReturnReceipt:
    condition = u.condition
    return ReturnReceipt(
        rma=rma,
        line=line,
        location_id=location_id,
        quantity=u.quantity,
        condition=condition,
        disposition=(u.disposition or DEFAULT_DISPOSITION.get(condition, "")) if condition else "",
        created_at=now,
    )


def _counts_refresh(rma_lines: list[ReturnLine], new: list[ReturnReceipt]) -> None:
    """Add the conditions of newly inspected units to their lines' counts and save the lines."""
    for r in new:
        line = next(ln for ln in rma_lines if ln.pk == r.line_id)
        if r.condition == Condition.RESELLABLE:
            line.quantity_resellable += r.quantity
        elif r.condition == Condition.DAMAGED:
            line.quantity_damaged += r.quantity
        elif r.condition == Condition.DEFECTIVE:
            line.quantity_defective += r.quantity
    ReturnLine.objects.bulk_update(
        rma_lines,
        ["quantity_received", "quantity_resellable", "quantity_damaged", "quantity_defective"],
    )


def return_inspect(*, return_id: int, lines: Sequence[ReceivedUnits], actor: Actor) -> Return:
    """Give received, uninspected units their condition (and disposition). Raises
    ValidationError, Conflict (`quantity_not_received`)."""
    errors = _check_units(lines, inspecting=True)
    if errors:
        raise ValidationError("The inspection is not valid.", code="invalid_receipt", fields=errors)
    with transaction.atomic():
        _, rma = return_lock(return_id)
        if rma.state not in (ReturnState.RECEIVED, ReturnState.INSPECTED):
            return_transition_check(rma.state, ReturnState.INSPECTED)
        rma_lines = list(rma.lines.order_by("pk"))
        open_receipts = list(rma.receipts.filter(condition="").order_by("pk"))
        inspected: list[ReturnReceipt] = []
        over: dict[str, Any] = {}
        now = timezone.now()
        for i, u in enumerate(lines):
            line = _line_for(rma_lines, u, f"lines.{i}", errors)
            if line is None:
                continue
            todo = u.quantity
            for r in [r for r in open_receipts if r.line_id == line.pk and r.quantity]:
                take = min(todo, r.quantity)
                r.quantity -= take
                todo -= take
                inspected.append(_receipt(rma, line, r.location_id, _units(u, take), now))
                if not todo:
                    break
            if todo:
                over[f"lines.{i}.quantity"] = f"{todo} more of {line.sku} than await inspection."
        if errors:
            raise ValidationError(
                "The inspection is not valid.", code="invalid_receipt", fields=errors
            )
        if over:
            raise Conflict(
                "Only received units can be inspected.", code="quantity_not_received", fields=over
            )
        for r in open_receipts:
            if r.quantity:
                r.save(update_fields=["quantity"])
            else:
                r.delete()
        ReturnReceipt.objects.bulk_create(inspected)
        _counts_refresh(rma_lines, inspected)
        rma.state = _state_after_receipt(rma)
        rma.updated_at = now
        rma.save(update_fields=["state", "updated_at"])
        return_event(
            rma,
            "return_inspected",
            actor,
            {
                "lines": [
                    {"sku": r.line.sku, "quantity": r.quantity, "condition": r.condition,
                     "disposition": r.disposition}
                    for r in inspected
                ]
            },
        )  # fmt: skip
    return rma


def _units(u: ReceivedUnits, quantity: int) -> ReceivedUnits:
    return ReceivedUnits(
        quantity=quantity, line_id=u.line_id, sku=u.sku, condition=u.condition,
        disposition=u.disposition,
    )  # fmt: skip


def _changes(rma: Return, receipt: ReturnReceipt, product_id: int) -> list[StockChange]:
    """The stock ledger rows one inspected receipt makes: restocked units come back on hand;
    unsellable ones join the location's unsellable count; written-off ones are counted in and
    written off, so the ledger shows both."""
    base = {
        "product_id": product_id,
        "location_id": receipt.location_id,
        "reference": rma.number,
        "order_id": rma.order_id,
    }
    q = receipt.quantity
    if receipt.disposition == Disposition.RESTOCK:
        return [StockChange(**base, reason=Reason.RETURNED, on_hand=q, note=receipt.condition)]
    kept = StockChange(**base, reason=Reason.RETURNED, unsellable=q, note=receipt.condition)
    if receipt.disposition == Disposition.UNSELLABLE:
        return [kept]
    return [
        kept,
        StockChange(**base, reason=Reason.WRITTEN_OFF, unsellable=-q, note=receipt.condition),
    ]


def return_restock(*, return_id: int, actor: Actor) -> Return:
    """Apply the dispositions of every inspected unit not applied yet, through the inventory
    service (restocked units may release backordered fulfillment orders). A return whose
    units are all back and applied closes. Raises Conflict (`nothing_to_restock`)."""
    with transaction.atomic():
        _, rma = return_lock(return_id)
        receipts = list(
            rma.receipts.filter(applied_at__isnull=True).exclude(condition="").order_by("pk")
        )
        if not receipts:
            if rma.state not in (ReturnState.RECEIVED, ReturnState.INSPECTED):
                return_transition_check(rma.state, ReturnState.INSPECTED)
            raise Conflict(
                "No inspected unit waits for its disposition.", code="nothing_to_restock"
            )
        rma_lines = {ln.pk: ln for ln in rma.lines.all()}
        changes = [c for r in receipts for c in _changes(rma, r, rma_lines[r.line_id].product_id)]
        inventory_apply(changes=changes, actor=actor)
        now = timezone.now()
        field = {
            Disposition.RESTOCK: "quantity_restocked",
            Disposition.UNSELLABLE: "quantity_unsellable",
            Disposition.WRITE_OFF: "quantity_written_off",
        }
        for r in receipts:
            line = rma_lines[r.line_id]
            setattr(line, field[r.disposition], getattr(line, field[r.disposition]) + r.quantity)
            r.applied_at = now
        ReturnReceipt.objects.bulk_update(receipts, ["applied_at"])
        ReturnLine.objects.bulk_update(list(rma_lines.values()), list(field.values()))
        done = all(ln.quantity_received >= ln.quantity for ln in rma_lines.values()) and not (
            rma.receipts.filter(applied_at__isnull=True).exists()
        )
        totals = {d: sum(r.quantity for r in receipts if r.disposition == d) for d in field}
        return_event(rma, "return_restocked", actor, {"quantities": totals})
        if done:
            rma.state = ReturnState.CLOSED
            rma.closed_at = now
            return_event(rma, "return_closed", actor)
        rma.updated_at = now
        rma.save(update_fields=["state", "closed_at", "updated_at"])
    return rma


def exchange_release(rma: Return, actor: Actor) -> None:
    """The items are back: lift the awaiting_return_items holds of the exchange order."""
    if not rma.exchange_order_id or not rma.exchange_waits_for_items:
        return
    from colis.fulfillment.services import fulfillment_order_release

    held = FulfillmentOrder.objects.filter(
        order_id=rma.exchange_order_id,
        pk__in=FulfillmentHold.objects.filter(reason=HoldReason.AWAITING_RETURN_ITEMS).values(
            "fulfillment_order_id"
        ),
    ).values_list("pk", flat=True)
    for fo_id in list(held):
        fulfillment_order_release(
            fo_id=fo_id, reasons=[HoldReason.AWAITING_RETURN_ITEMS], actor=actor
        )
