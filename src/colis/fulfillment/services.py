"""Fulfillment-order operations: hold, release, pay, cancel, move, split, merge.

Every operation locks the order row first (all changes to one order's FOs queue behind it),
then stock levels through the inventory service; it writes its timeline events and lets
`orders_progress` derive the order's statuses in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder, FulfillmentOrderLine
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.status import LIVE_FO, FOStatus, HoldReason, RequestStatus
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply
from colis.orders.models import Order, OrderLine
from colis.orders.services import order_lock
from colis.orders.status import FinancialStatus

AT_SERVICE = frozenset(
    {RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.CANCELLATION_REQUESTED}
)
HOLDABLE = frozenset(HoldReason.values) - {HoldReason.INVENTORY_OUT_OF_STOCK}


@dataclass(frozen=True, kw_only=True, slots=True)
class LinePick:
    """A quantity of one line, named by order line id or by SKU."""

    quantity: int
    line_id: int | None = None
    sku: str = ""


def fo_lock(fo_id: int) -> tuple[Order, FulfillmentOrder]:
    """Lock the FO's order, then read the FO. Raises NotFound."""
    order_id = FulfillmentOrder.objects.filter(pk=fo_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such fulfillment order.", code="fulfillment_order_not_found")
    order = order_lock(order_id)
    return order, FulfillmentOrder.objects.get(pk=fo_id)


def fo_require_live(fo: FulfillmentOrder) -> None:
    if fo.status not in LIVE_FO:
        raise Conflict(
            f"Fulfillment order {fo.pk} is {fo.status}.",
            code="fulfillment_order_closed",
            fields={"fulfillment_order_id": fo.status},
        )


def _fo_event(fo: FulfillmentOrder, kind: str, actor: Actor, data: dict[str, Any]) -> None:
    event_record(
        subject_type="fulfillment_order",
        subject_id=fo.pk,
        order_id=fo.order_id,
        kind=kind,
        actor=actor,
        data=data,
    )


def fo_effects(
    *,
    fo_id: int,
    order_id: int,
    location_id: int,
    what: str,
    service_message: str = "",
    key: str = "",
) -> None:
    """Queue an FO's effects: the message to its fulfillment service (when there is one) and
    the `fulfillment_order.<what>` webhook event, with one insert."""
    key = key or f"fo:{fo_id}:{what}"
    payload = {"fulfillment_order_id": fo_id, "location_id": location_id, "order_id": order_id}
    effects = []
    if service_message:
        effects.append(
            Effect(kind=service_message, idempotency_key=key, payload=payload, order_id=order_id)
        )
    effects.append(
        Effect(
            kind="webhook_event",
            idempotency_key=f"{key}:webhook",
            payload={**payload, "event": f"fulfillment_order.{what}"},
            order_id=order_id,
        )
    )
    outbox_enqueue_many(effects)


def _settle(fo: FulfillmentOrder, now: Any) -> None:
    """Set a live FO's state from its holds and shipped quantities."""
    if fo.status not in LIVE_FO:
        return
    if FulfillmentHold.objects.filter(fulfillment_order=fo).exists():
        fo.status = FOStatus.ON_HOLD
    elif FulfillmentOrderLine.objects.filter(
        fulfillment_order=fo, quantity_fulfilled__gt=0
    ).exists():
        fo.status = FOStatus.IN_PROGRESS
    else:
        fo.status = FOStatus.OPEN
    fo.updated_at = now
    fo.save(update_fields=["status", "updated_at"])


def _check_reason(reason: str) -> None:
    if reason not in HOLDABLE:
        raise ValidationError(
            f"A hold reason is one of {', '.join(sorted(HOLDABLE))}.",
            code="invalid_hold_reason",
            fields={"reason": "Unknown or not placed by hand."},
        )


def _hold(fo: FulfillmentOrder, reason: str, notes: str, actor: Actor, now: Any) -> None:
    FulfillmentHold.objects.create(
        fulfillment_order=fo,
        reason=reason,
        notes=notes[:1000],
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:200],
        created_at=now,
    )
    _settle(fo, now)
    _fo_event(fo, "fulfillment_order_held", actor, {"reason": reason, "notes": notes})


# Holds only the buyer can lift: the buyer is asked (unless the caller says not to).
BUYER_ACTION_HOLDS = frozenset({HoldReason.INCORRECT_ADDRESS})


def _ask_buyer(order: Order, reason: str, at: Any) -> None:
    """Queue the "on hold for your action" email for this hold."""
    if reason not in BUYER_ACTION_HOLDS or not order.email:
        return
    held_before = FulfillmentHold.objects.filter(
        fulfillment_order__order_id=order.pk,
        fulfillment_order__status__in=LIVE_FO,
        reason=reason,
        created_at__lt=at,
    ).exists()
    if held_before:
        return  # the buyer was asked when the order was first held for this
    stamp = int(at.timestamp() * 1_000_000)
    outbox_enqueue_many(
        [
            Effect(
                kind="customer_email",
                idempotency_key=f"order:{order.pk}:hold:{reason}:{stamp}:email",
                payload={
                    "order_id": order.pk,
                    "template": "fulfillment_on_hold",
                    "to": order.email,
                    "hold": {"reason": reason},
                    "event": "order.on_hold",
                },
                order_id=order.pk,
            )
        ]
    )


def fulfillment_order_hold(
    *, fo_id: int, reason: str, notes: str = "", notify_customer: bool = True, actor: Actor
) -> FulfillmentOrder:
    """Put one FO on hold; for a hold the buyer must act on (incorrect_address), email the buyer
    unless `notify_customer` is False. Raises NotFound, ValidationError (reason), Conflict
    (closed, held)."""
    _check_reason(reason)
    with transaction.atomic():
        order, fo = fo_lock(fo_id)
        fo_require_live(fo)
        if fo.holds.filter(reason=reason).exists():
            raise Conflict(
                f"Fulfillment order {fo.pk} is already on hold for {reason}.",
                code="already_on_hold",
                fields={"reason": reason},
            )
        now = timezone.now()
        _hold(fo, reason, notes, actor, now)
        orders_progress(order_ids=[order.pk], actor=actor)
        if notify_customer:
            _ask_buyer(order, reason, now)
    return fo


def order_hold(
    *, order_id: int, reason: str, notes: str = "", notify_customer: bool = True, actor: Actor
) -> list[int]:
    """Hold every live FO of the order not already held for this reason (and ask the buyer, as
    `fulfillment_order_hold` does). Returns their ids."""
    _check_reason(reason)
    with transaction.atomic():
        order = order_lock(order_id)
        fos = [
            fo
            for fo in FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO)
            if not fo.holds.filter(reason=reason).exists()
        ]
        if not fos:
            raise Conflict(
                "This order has no open fulfillment order to hold.",
                code="nothing_to_hold",
            )
        now = timezone.now()
        for fo in fos:
            _hold(fo, reason, notes, actor, now)
        orders_progress(order_ids=[order.pk], actor=actor)
        if notify_customer:
            _ask_buyer(order, reason, now)
    return [fo.pk for fo in fos]


def _release(fo: FulfillmentOrder, reasons: set[str] | None, actor: Actor, now: Any) -> int:
    holds = [
        h
        for h in fo.holds.all()
        if h.reason != HoldReason.INVENTORY_OUT_OF_STOCK
        and (reasons is None or h.reason in reasons)
    ]
    if not holds:
        return 0
    FulfillmentHold.objects.filter(pk__in=[h.pk for h in holds]).delete()
    _settle(fo, now)
    _fo_event(fo, "fulfillment_order_released", actor, {"reasons": [h.reason for h in holds]})
    return len(holds)


def fulfillment_order_release(
    *, fo_id: int, reasons: Sequence[str] | None = None, actor: Actor
) -> FulfillmentOrder:
    """Lift an FO's holds (all, or those reasons). Out-of-stock holds lift only when stock
    arrives. Raises NotFound, Conflict (`not_on_hold`, `out_of_stock_hold`)."""
    with transaction.atomic():
        order, fo = fo_lock(fo_id)
        fo_require_live(fo)
        if not _release(fo, set(reasons) if reasons else None, actor, timezone.now()):
            if fo.holds.filter(reason=HoldReason.INVENTORY_OUT_OF_STOCK).exists():
                raise Conflict(
                    "This fulfillment order waits for stock; it is released when stock arrives.",
                    code="out_of_stock_hold",
                )
            raise Conflict(f"Fulfillment order {fo.pk} is not on hold.", code="not_on_hold")
        orders_progress(order_ids=[order.pk], actor=actor)
    return fo


def order_release(*, order_id: int, actor: Actor) -> int:
    """Lift every hold placed on the order's FOs but out-of-stock ones. Returns how many."""
    with transaction.atomic():
        order = order_lock(order_id)
        now = timezone.now()
        released = sum(
            _release(fo, None, actor, now)
            for fo in FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO)
        )
        if not released:
            raise Conflict("This order has no hold to release.", code="not_on_hold")
        orders_progress(order_ids=[order.pk], actor=actor)
    return released


def order_pay(*, order_id: int, actor: Actor) -> Order:
    """Record the order as paid and lift its awaiting-payment holds. Raises Conflict."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.financial_status not in (FinancialStatus.PENDING, FinancialStatus.PARTIALLY_PAID):
            raise Conflict(
                f"The order is {order.financial_status}, not awaiting payment.",
                code="not_awaiting_payment",
            )
        previous = order.financial_status
        order.financial_status = FinancialStatus.PAID
        order.updated_at = timezone.now()
        order.save(update_fields=["financial_status", "updated_at"])
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_paid",
            actor=actor,
            data={"from": previous},
        )
        for fo in FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO):
            _release(fo, {HoldReason.AWAITING_PAYMENT}, actor, order.updated_at)
        order.status, order.fulfillment_status = orders_progress(order_ids=[order.pk], actor=actor)[
            order.pk
        ]
    return order


def fos_cancel(order: Order, fos: Sequence[FulfillmentOrder], actor: Actor, reason: str) -> None:
    """Cancel live FOs of a locked order: release their stock, cancel their open quantities on
    the order lines, tell services that had the request."""
    from colis.fulfillment.models import Shipment
    from colis.fulfillment.status import PACKED

    packed = list(
        Shipment.objects.filter(fulfillment_order__in=fos, status__in=PACKED).values_list(
            "pk", flat=True
        )
    )
    if packed:
        raise Conflict(
            "Packed shipments wait to leave; ship or cancel them first.",
            code="fulfillment_order_has_packed_shipments",
            fields={"shipments": packed},
        )
    now = timezone.now()
    changes: list[StockChange] = []
    cancelled: dict[int, int] = {}
    for fo in fos:
        lines = list(fo.lines.all())
        for ln in lines:
            if ln.remaining and fo.commits_stock:
                changes.append(
                    StockChange(
                        product_id=ln.product_id,
                        location_id=fo.location_id,
                        reason=Reason.RELEASED,
                        committed=-ln.remaining,
                        order_id=order.pk,
                        reference=f"fo:{fo.pk}",
                    )
                )
            cancelled[ln.order_line_id] = cancelled.get(ln.order_line_id, 0) + ln.remaining
            ln.quantity = ln.quantity_fulfilled
        FulfillmentOrderLine.objects.bulk_update(lines, ["quantity"])
        fo.holds.all().delete()
        fo.status = FOStatus.CANCELLED
        at_service = fo.request_status in AT_SERVICE
        if at_service:
            fo.request_status = RequestStatus.CANCELLATION_REQUESTED
        fo_effects(
            fo_id=fo.pk,
            order_id=order.pk,
            location_id=fo.location_id,
            what="cancelled",
            service_message="fulfillment_cancellation_request" if at_service else "",
            key=f"fo:{fo.pk}:cancel",
        )
        fo.updated_at = now
        fo.save(update_fields=["status", "request_status", "updated_at"])
        _fo_event(fo, "fulfillment_order_cancelled", actor, {"reason": reason})
    inventory_apply(changes=changes, actor=actor)
    lines = list(OrderLine.objects.filter(pk__in=cancelled))
    for ol in lines:
        ol.quantity_cancelled = min(ol.quantity, ol.quantity_cancelled + cancelled[ol.pk])
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled"])


def fulfillment_order_cancel(*, fo_id: int, reason: str = "", actor: Actor) -> FulfillmentOrder:
    """Cancel one FO: its open items are cancelled on the order and their stock released.
    Cancelling the last open items of an unshipped order cancels the order. Raises NotFound,
    Conflict (closed)."""
    from colis.orders.services import order_mark_cancelled

    with transaction.atomic():
        order, fo = fo_lock(fo_id)
        fo_require_live(fo)
        fos_cancel(order, [fo], actor, reason)
        lines = list(OrderLine.objects.filter(order=order))
        if all(ln.quantity_cancelled >= ln.quantity for ln in lines):
            order_mark_cancelled(order=order, lines=lines, reason=reason, actor=actor)
        else:
            orders_progress(order_ids=[order.pk], actor=actor)
    return fo


def _picks_resolve(
    fo: FulfillmentOrder, picks: Sequence[LinePick], field: str = "lines"
) -> dict[int, int]:
    """FO line id -> quantity for these picks. Raises ValidationError naming each bad pick."""
    lines = list(fo.lines.all())
    by_line = {ln.order_line_id: ln for ln in lines}
    by_sku: dict[str, list[FulfillmentOrderLine]] = {}
    for ln in lines:
        by_sku.setdefault(ln.sku.upper(), []).append(ln)
    chosen: dict[int, int] = {}
    errors: dict[str, str] = {}
    for i, pick in enumerate(picks):
        target = None
        if pick.line_id is not None:
            target = by_line.get(pick.line_id)
            if target is None:
                errors[f"{field}[{i}].line_id"] = f"Line {pick.line_id} is not in this FO."
        elif pick.sku:
            matches = [ln for ln in by_sku.get(pick.sku.upper(), []) if ln.remaining]
            matches = matches or by_sku.get(pick.sku.upper(), [])
            if not matches:
                errors[f"{field}[{i}].sku"] = f"SKU {pick.sku!r} is not in this FO."
            else:
                target = matches[0]
        else:
            errors[f"{field}[{i}]"] = "Give line_id or sku."
        if pick.quantity <= 0:
            errors[f"{field}[{i}].quantity"] = "Must be at least 1."
        elif target is not None:
            total = chosen.get(target.pk, 0) + pick.quantity
            if total > target.remaining:
                errors[f"{field}[{i}].quantity"] = (
                    f"Only {target.remaining} of {target.sku} left in this FO."
                )
            chosen[target.pk] = total
    if errors:
        code = (
            "quantity_exceeds_remaining"
            if all(k.endswith(".quantity") and "left" in v for k, v in errors.items())
            else "invalid_lines"
        )
        raise ValidationError("Some lines cannot be taken from this FO.", code=code, fields=errors)
    return chosen
