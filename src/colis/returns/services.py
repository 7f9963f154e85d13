"""Returns (RMAs): request, approve or reject, return tracking, cancel, close.

Receipt, inspection and restocking are in `receiving.py`, refunds in `refunds.py`, exchanges in
`exchanges.py`. Every change locks the order first (as every order change does), checks the
move against `status.TRANSITIONS`, and writes its timeline event and buyer email in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.models import Shop
from colis.core.outbox import Effect, outbox_enqueue_many, outbox_enqueue_new
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentOrder, ShipmentLine
from colis.locations.models import Location
from colis.orders.models import Order
from colis.orders.services import order_lock
from colis.returns.models import Return, ReturnLine
from colis.returns.selectors import Returnable, return_window_open, returnable_lines
from colis.returns.status import (
    ReturnReason,
    ReturnSource,
    ReturnState,
    return_transition_check,
)
from colis.webhooks.models import EVENTS

MAX_TEXT = 1000


@dataclass(frozen=True, kw_only=True, slots=True)
class ReturnLineDraft:
    """One line asked back: by order line id or SKU, how many, why."""

    quantity: int
    reason: str
    line_id: int | None = None
    sku: str = ""
    note: str = ""


def return_lock(return_id: int, *, location_id: int | None = None) -> tuple[Order, Return]:
    """Lock a return's order, then the return. `location_id` scopes it to a 3PL's location.
    Raises NotFound."""
    missing = NotFound("No such return.", code="return_not_found")
    order_id = Return.objects.filter(pk=return_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise missing
    if location_id is not None and not (
        FulfillmentOrder.objects.filter(order_id=order_id, location_id=location_id).exists()
    ):
        raise missing
    order = order_lock(order_id)
    rma = lock_by_pk(Return.objects.all(), [return_id]).get(return_id)
    if rma is None:
        raise missing
    return order, rma


def return_event(rma: Return, kind: str, actor: Actor, data: dict[str, Any] | None = None) -> None:
    """Write a return's timeline event and queue its `return.<what>` webhook event."""
    event = event_record(
        subject_type="return",
        subject_id=rma.pk,
        order_id=rma.order_id,
        kind=kind,
        actor=actor,
        data={"number": rma.number, "state": rma.state, **(data or {})},
    )
    what = kind.removeprefix("return_")
    if f"return.{what}" not in EVENTS:
        return
    outbox_enqueue_new(
        [
            Effect(
                kind="webhook_event",
                idempotency_key=f"return:{rma.pk}:{what}:{event.pk}:webhook",
                payload={
                    "return_id": rma.pk,
                    "number": rma.number,
                    "order_id": rma.order_id,
                    "state": rma.state,
                    "event": f"return.{what}",
                },
                order_id=rma.order_id,
            )
        ]
    )


def _address(location: Location | None) -> dict[str, Any]:
    if location is None:
        return {}
    # Parcels go to the location by its name (its address may name a contact person).
    return {**(location.address or {}), "name": location.name, "phone": location.phone}


def return_email(rma: Return, order: Order, template: str, shop: Shop | None = None) -> None:
    """Queue one buyer email about this return (skipped for orders without an email)."""
    if not order.email:
        return
    shop = shop or Shop.objects.filter(pk=1).first() or Shop()
    lines = list(rma.lines.all().select_related("order_line"))
    location = Location.objects.filter(pk=rma.location_id).first() if rma.location_id else None
    stamp = int(timezone.now().timestamp() * 1_000_000)
    outbox_enqueue_many(
        [
            Effect(
                kind="customer_email",
                idempotency_key=f"return:{rma.pk}:{template}:{stamp}:email",
                payload={
                    "order_id": order.pk,
                    "template": template,
                    "to": order.email,
                    "event": f"return.{template.removeprefix('return_')}",
                    "return": {
                        "number": rma.number,
                        "state": rma.state,
                        "rejection_reason": rma.rejection_reason,
                        "instructions": shop.return_instructions,
                        "lines": [
                            {
                                "sku": ln.sku,
                                "title": ln.order_line.title,
                                "quantity": ln.quantity,
                                "quantity_received": ln.quantity_received,
                                "reason": ln.reason,
                                "note": ln.note,
                            }
                            for ln in lines
                        ],
                        "address": _address(location),
                    },
                },
                order_id=order.pk,
            )
        ]
    )


def _check_text(field: str, value: str, limit: int = MAX_TEXT) -> None:
    if len(value) > limit:
        raise ValidationError(
            f"{field} is too long.", code="invalid_return", fields={field: f"At most {limit}."}
        )


def _lines_resolve(
    drafts: Sequence[ReturnLineDraft], returnable: list[Returnable]
) -> dict[int, tuple[Returnable, int, str, str]]:
    """Order line id -> (returnable, quantity, reason, note). Raises ValidationError for bad
    fields, Conflict `quantity_not_returnable` for units that were not shipped or are back."""
    if not drafts:
        raise ValidationError(
            "Name at least one line to return.",
            code="invalid_return",
            fields={"lines": "At least one line."},
        )
    by_id = {r.line_id: r for r in returnable}
    by_sku: dict[str, list[Returnable]] = {}
    for r in returnable:
        by_sku.setdefault(r.sku, []).append(r)
    errors: dict[str, Any] = {}
    over: dict[str, Any] = {}
    chosen: dict[int, tuple[Returnable, int, str, str]] = {}
    for i, d in enumerate(drafts):
        key = f"lines.{i}"
        if d.quantity < 1:
            errors[f"{key}.quantity"] = "Must be at least 1."
            continue
        if d.reason not in ReturnReason.values:
            errors[f"{key}.reason"] = f"One of {', '.join(ReturnReason.values)}."
            continue
        if d.reason == ReturnReason.OTHER and not d.note.strip():
            errors[f"{key}.note"] = "Say what is wrong when the reason is other."
            continue
        if len(d.note) > MAX_TEXT:
            errors[f"{key}.note"] = f"At most {MAX_TEXT} characters."
            continue
        if d.line_id is not None:
            target = by_id.get(d.line_id)
        else:
            candidates = by_sku.get(d.sku, [])
            target = next(
                (c for c in candidates if chosen.get(c.line_id, (c, 0))[1] < c.quantity),
                candidates[0] if candidates else None,
            )
        if target is None:
            over[f"{key}.quantity"] = "Nothing of this line was shipped or it is all returned."
            continue
        _, before, _, _ = chosen.get(target.line_id, (target, 0, d.reason, d.note))
        if before + d.quantity > target.quantity:
            over[f"{key}.quantity"] = f"At most {target.quantity - before} may be returned."
            continue
        chosen[target.line_id] = (target, before + d.quantity, d.reason, d.note)
    if errors:
        raise ValidationError("The return is not valid.", code="invalid_return", fields=errors)
    if over:
        raise Conflict(
            "Some lines ask back more than was shipped and not yet returned.",
            code="quantity_not_returnable",
            fields=over,
        )
    return chosen


def _expected_location(order_id: int, line_ids: set[int]) -> int | None:
    """Where the units are expected back: the location that shipped most of them."""
    counts: dict[int, int] = {}
    rows = ShipmentLine.objects.filter(
        shipment__order_id=order_id, order_line_id__in=line_ids
    ).values_list("shipment__location_id", "quantity")
    for loc, n in rows:
        counts[loc] = counts.get(loc, 0) + n
    return max(counts, key=lambda k: counts[k]) if counts else None


def return_create(
    *,
    order_id: int,
    lines: Sequence[ReturnLineDraft],
    source: str,
    note: str = "",
    location_id: int | None = None,
    notify_customer: bool = True,
    require_window: bool = False,
    actor: Actor,
) -> Return:
    """Open a return for shipped units of an order. `require_window`: only within the shop's
    return window (the buyer's page). Reasons the shop approves by itself are approved at once
    within the window. Raises NotFound, ValidationError, Conflict (`nothing_returnable`,
    `return_window_closed`, `quantity_not_returnable`)."""
    if source not in ReturnSource.values:
        raise ValidationError(
            "Unknown source.", code="invalid_return", fields={"source": "Unknown source."}
        )
    _check_text("note", note)
    with transaction.atomic():
        order = order_lock(order_id)
        shop = Shop.objects.filter(pk=1).first() or Shop()
        in_window = return_window_open(order, shop)
        if require_window and not in_window:
            raise Conflict(
                "The return window of this order has closed.", code="return_window_closed"
            )
        returnable = returnable_lines(order=order)
        if not returnable:
            raise Conflict(
                "Nothing of this order was shipped or everything shipped is returned already.",
                code="nothing_returnable",
            )
        chosen = _lines_resolve(lines, returnable)
        if location_id is not None and not Location.objects.filter(pk=location_id).exists():
            raise NotFound(
                "No such location.",
                code="location_not_found",
                fields={"location_id": "Unknown location."},
            )
        now = timezone.now()
        rma = Return.objects.create(
            order=order,
            number=f"{order.number}-R{Return.objects.filter(order_id=order.pk).count() + 1}",
            state=ReturnState.REQUESTED,
            source=source,
            location_id=location_id or _expected_location(order.pk, set(chosen)),
            note=note,
            created_at=now,
            updated_at=now,
        )
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(
                    rma=rma,
                    order_line_id=line_id,
                    product_id=r.product_id,
                    sku=r.sku,
                    quantity=quantity,
                    reason=reason,
                    note=line_note,
                )
                for line_id, (r, quantity, reason, line_note) in chosen.items()
            ]
        )
        return_event(
            rma,
            "return_requested",
            actor,
            {
                "source": source,
                "lines": [
                    {"line_id": k, "sku": r.sku, "quantity": q, "reason": why}
                    for k, (r, q, why, _) in chosen.items()
                ],
            },
        )
        if notify_customer:
            return_email(rma, order, "return_requested", shop)
        reasons = {why for _, _, why, _ in chosen.values()}
        auto = set(shop.return_auto_approve_reasons or [])
        if in_window and reasons and reasons <= auto:
            _approve(rma, order, actor, notify_customer, shop, auto_approved=True)
    return rma


def _approve(
    rma: Return,
    order: Order,
    actor: Actor,
    notify_customer: bool,
    shop: Shop | None = None,
    *,
    auto_approved: bool = False,
) -> None:
    return_transition_check(rma.state, ReturnState.APPROVED)
    now = timezone.now()
    rma.state = ReturnState.APPROVED
    rma.approved_at = rma.updated_at = now
    rma.save(update_fields=["state", "approved_at", "updated_at", "location"])
    return_event(rma, "return_approved", actor, {"auto": auto_approved})
    if notify_customer:
        return_email(rma, order, "return_approved", shop)


def return_approve(
    *,
    return_id: int,
    location_id: int | None = None,
    notify_customer: bool = True,
    actor: Actor,
) -> Return:
    """Accept a requested return; the buyer gets the instructions and the address to send the
    items to (`location_id`, else the location that shipped them). Raises Conflict."""
    with transaction.atomic():
        order, rma = return_lock(return_id)
        if location_id is not None:
            if not Location.objects.filter(pk=location_id).exists():
                raise NotFound(
                    "No such location.",
                    code="location_not_found",
                    fields={"location_id": "Unknown location."},
                )
            rma.location_id = location_id
        _approve(rma, order, actor, notify_customer)
    return rma


def return_reject(
    *, return_id: int, reason: str, notify_customer: bool = True, actor: Actor
) -> Return:
    """Refuse a requested return, saying why (the buyer is told). Raises ValidationError,
    Conflict."""
    if not reason.strip():
        raise ValidationError(
            "Say why the return is rejected.",
            code="invalid_return",
            fields={"reason": "Required."},
        )
    _check_text("reason", reason, 500)
    with transaction.atomic():
        order, rma = return_lock(return_id)
        return_transition_check(rma.state, ReturnState.REJECTED)
        rma.state = ReturnState.REJECTED
        rma.rejection_reason = reason
        rma.updated_at = rma.closed_at = timezone.now()
        rma.save(update_fields=["state", "rejection_reason", "updated_at", "closed_at"])
        return_event(rma, "return_rejected", actor, {"reason": reason})
        if notify_customer:
            return_email(rma, order, "return_rejected")
    return rma


def return_cancel(*, return_id: int, reason: str = "", actor: Actor) -> Return:
    """Cancel a return before anything of it arrived. Raises Conflict."""
    _check_text("reason", reason, 500)
    with transaction.atomic():
        _, rma = return_lock(return_id)
        return_transition_check(rma.state, ReturnState.CANCELLED)
        rma.state = ReturnState.CANCELLED
        rma.cancel_reason = reason
        rma.updated_at = rma.closed_at = timezone.now()
        rma.save(update_fields=["state", "cancel_reason", "updated_at", "closed_at"])
        return_event(rma, "return_cancelled", actor, {"reason": reason})
    return rma


def return_tracking_set(
    *,
    return_id: int,
    tracking_number: str,
    carrier: str = "",
    tracking_url: str = "",
    actor: Actor,
    location_id: int | None = None,
) -> Return:
    """The buyer's parcel is on its way back: record its tracking and move to in_transit.
    Raises ValidationError, Conflict."""
    if not tracking_number.strip():
        raise ValidationError(
            "Give the return's tracking number.",
            code="invalid_return",
            fields={"tracking_number": "Required."},
        )
    _check_text("tracking_number", tracking_number, 100)
    _check_text("carrier", carrier, 40)
    _check_text("tracking_url", tracking_url, 500)
    with transaction.atomic():
        _, rma = return_lock(return_id, location_id=location_id)
        if rma.state != ReturnState.IN_TRANSIT:
            return_transition_check(rma.state, ReturnState.IN_TRANSIT)
        rma.state = ReturnState.IN_TRANSIT
        rma.return_tracking_number = tracking_number.strip()
        rma.return_carrier = carrier
        rma.return_tracking_url = tracking_url
        rma.updated_at = timezone.now()
        rma.save(
            update_fields=[
                "state",
                "return_tracking_number",
                "return_carrier",
                "return_tracking_url",
                "updated_at",
            ]
        )
        return_event(
            rma,
            "return_in_transit",
            actor,
            {"tracking_number": tracking_number, "carrier": carrier},
        )
    return rma


def return_close(*, return_id: int, actor: Actor) -> Return:
    """Close a received return (what has not arrived will not come). Units received but not
    restocked yet block the close. Raises Conflict."""
    from colis.returns.receiving import exchange_release

    with transaction.atomic():
        order, rma = return_lock(return_id)
        return_transition_check(rma.state, ReturnState.CLOSED)
        if rma.receipts.filter(applied_at__isnull=True).exists():
            raise Conflict(
                "Some received units have no disposition yet: inspect and restock them first.",
                code="return_not_restocked",
            )
        rma.state = ReturnState.CLOSED
        rma.updated_at = rma.closed_at = timezone.now()
        rma.save(update_fields=["state", "updated_at", "closed_at"])
        return_event(rma, "return_closed", actor)
        exchange_release(rma, actor)
    return rma
