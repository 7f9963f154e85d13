"""Shipments: packages leaving a location with some of an FO's quantities.

Creating one takes the quantities off the FO and the order lines, and `on_hand` and `committed`
off the FO's location, in one transaction with its timeline event and the outbox rows of its
effects (shipping email, channel push, webhook event). Cancelling it puts everything back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.models import OutboxMessage
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.shop import shop_snapshot
from colis.core.timeline import event_row, events_insert
from colis.fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    Shipment,
    ShipmentLine,
)
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.services import LinePick, _picks_resolve, fo_require_live
from colis.fulfillment.status import LIVE_FO, PACKED, FOStatus, RequestStatus, ShipmentStatus
from colis.fulfillment.store import (
    fo_lines_fulfilled_write,
    fo_status_write,
    fo_with_lines,
    order_lines_fulfilled_add,
    order_lock_brief,
    shipment_insert,
)
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply
from colis.orders.models import Order
from colis.orders.services import LOCAL_CHANNELS

if TYPE_CHECKING:
    from colis.shipping.resolve import ResolvedTracking

MAX_NOTES = 5000


@dataclass(frozen=True, kw_only=True, slots=True)
class ShipmentDraft:
    fulfillment_order_id: int | None = None
    lines: Sequence[LinePick] | None = None
    carrier: str | None = None
    carrier_name: str = ""
    service: str = ""
    tracking_numbers: Sequence[str] = ()
    tracking_urls: Sequence[str] | None = None
    package: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    ship_date: date | None = None
    notify_customer: bool = True
    force: bool = False
    # "shipped" (left the building), or packed and waiting for the carrier: "label_printed" or
    # "pending". A packed shipment holds its quantities; its stock leaves when it ships.
    status: str = ShipmentStatus.SHIPPED


def _tracking(draft: ShipmentDraft) -> Any:
    from colis.shipping.services import tracking_resolve

    return tracking_resolve(
        carrier=draft.carrier,
        carrier_name=draft.carrier_name,
        numbers=list(draft.tracking_numbers),
        urls=list(draft.tracking_urls) if draft.tracking_urls is not None else None,
        force=draft.force,
    )


def _package(spec: dict[str, Any]) -> dict[str, Any]:
    from colis.shipping.services import package_resolve

    return package_resolve(
        preset=spec.get("preset"),
        length_mm=spec.get("length_mm"),
        width_mm=spec.get("width_mm"),
        height_mm=spec.get("height_mm"),
        weight_grams=spec.get("weight_grams"),
    )


def _pick_fo(order: Order, fo_id: int | None, actor: Actor) -> FulfillmentOrder:
    """The FO to ship from, read from the database (see `_fo_choose`)."""
    own = _service_location(actor)
    if fo_id is not None:
        return _fo_choose(fo_id, fo_with_lines(fo_id=fo_id, order_id=order.pk), [], own)
    candidates = FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO)
    if own is not None:
        candidates = candidates.filter(location_id=own)
    return _fo_choose(None, None, list(candidates), own)


def _fo_choose(
    fo_id: int | None,
    found: FulfillmentOrder | None,
    live: Sequence[FulfillmentOrder],
    own: int | None,
) -> FulfillmentOrder:
    """The FO to ship from: `found` (the order's FO `fo_id`, or None) when an id is given, else
    the one of the order's `live` FOs with something left. A fulfillment service only ever sees
    its own location's FOs: for anything else it gets the same 404, whatever the order holds."""
    if fo_id is not None:
        if found is None or (own is not None and found.location_id != own):
            raise NotFound(
                "This order has no such fulfillment order.",
                code="fulfillment_order_not_found",
                fields={"fulfillment_order_id": "Not a fulfillment order of this order."},
            )
        return found
    mine = [fo for fo in live if own is None or fo.location_id == own]
    left = [fo for fo in mine if any(ln.remaining for ln in fo.lines.all())]
    if not left:
        if own is not None:
            raise NotFound("No such fulfillment order.", code="fulfillment_order_not_found")
        raise Conflict("Nothing is left to ship on this order.", code="nothing_to_ship")
    if len(left) > 1:
        raise ValidationError(
            "This order has several open fulfillment orders; say which one ships.",
            code="fulfillment_order_required",
            fields={"fulfillment_order_id": [fo.pk for fo in left]},
        )
    return left[0]


def _service_location(actor: Actor) -> int | None:
    if actor.kind != "service":
        return None
    from colis.partners.selectors import service_location_id

    try:
        return service_location_id(service_id=actor.id)
    except NotFound:
        raise NotFound("No such fulfillment order.", code="fulfillment_order_not_found") from None


def _check_shippable(fo: FulfillmentOrder, actor: Actor) -> None:
    fo_require_live(fo)
    if actor.kind == "service" and fo.request_status != RequestStatus.ACCEPTED:
        raise Conflict(
            "Accept the request before shipping it.",
            code="request_not_accepted",
            fields={"fulfillment_order_id": fo.request_status},
        )
    if fo.status == FOStatus.ON_HOLD:
        reasons = sorted({h.reason for h in fo.holds.all()})
        raise Conflict(
            f"Fulfillment order {fo.pk} is on hold ({', '.join(reasons)}).",
            code="fulfillment_order_on_hold",
            fields={"fulfillment_order_id": {"holds": reasons}},
        )


def _check_text(draft: ShipmentDraft) -> None:
    errors = {}
    if draft.status not in (ShipmentStatus.SHIPPED, *PACKED):
        errors["status"] = "One of shipped, label_printed, pending."
    if len(draft.notes) > MAX_NOTES:
        errors["notes"] = f"At most {MAX_NOTES} characters."
    if len(draft.service) > 100:
        errors["service"] = "At most 100 characters."
    if errors:
        raise ValidationError("The shipment is not valid.", code="invalid_shipment", fields=errors)


def _draft_resolve(draft: ShipmentDraft) -> tuple[ResolvedTracking, dict[str, Any]]:
    """What a draft says before any lock: its tracking and its package. Raises
    ValidationError."""
    _check_text(draft)
    return _tracking(draft), _package(draft.package)


def _order_missing(actor: Actor) -> NotFound:
    if actor.kind == "service":
        return NotFound("No such fulfillment order.", code="fulfillment_order_not_found")
    return NotFound("No such order.", code="order_not_found")


def _lines_chosen(
    fo: FulfillmentOrder, fo_lines: dict[int, FulfillmentOrderLine], draft: ShipmentDraft
) -> dict[int, int]:
    """FO line id -> quantity the draft ships. Raises ValidationError (lines), Conflict
    `nothing_to_ship`."""
    if draft.lines:
        chosen = _picks_resolve(fo, draft.lines)
    else:
        chosen = {pk: ln.remaining for pk, ln in fo_lines.items() if ln.remaining}
    if not chosen:
        raise Conflict("Nothing is left to ship in this FO.", code="nothing_to_ship")
    return chosen


def _shipment_build(
    *,
    order_id: int,
    fo: FulfillmentOrder,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    draft: ShipmentDraft,
    tracking: ResolvedTracking,
    package: dict[str, Any],
    now: datetime,
) -> tuple[Shipment, list[ShipmentLine]]:
    """The unsaved shipment and its lines."""
    shipment = Shipment(
        order_id=order_id,
        fulfillment_order_id=fo.pk,
        location_id=fo.location_id,
        status=draft.status,
        carrier=tracking.carrier_code,
        carrier_name=tracking.carrier_name,
        service=draft.service,
        tracking_numbers=list(tracking.numbers),
        tracking_urls=list(tracking.urls),
        package=package,
        notes=draft.notes,
        ship_date=draft.ship_date or now.date(),
        notify_customer=draft.notify_customer,
        shipped_at=None if draft.status in PACKED else now,
        created_at=now,
        updated_at=now,
    )
    lines = [
        ShipmentLine(
            fulfillment_order_line_id=pk,
            order_line_id=fo_lines[pk].order_line_id,
            sku=fo_lines[pk].sku,
            quantity=qty,
        )
        for pk, qty in chosen.items()
    ]
    return shipment, lines


def _created_event(
    shipment: Shipment,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    actor: Actor,
    now: datetime,
) -> tuple[Any, ...]:
    return event_row(
        subject_type="shipment",
        subject_id=shipment.pk,
        order_id=shipment.order_id,
        kind="shipment_created",
        actor=actor,
        data={
            "fulfillment_order_id": shipment.fulfillment_order_id,
            "lines": {fo_lines[pk].sku: q for pk, q in chosen.items()},
            "carrier": shipment.carrier,
            "tracking_numbers": shipment.tracking_numbers,
            "status": shipment.status,
        },
        at=now,
    )


def shipment_create(*, order_id: int, draft: ShipmentDraft, actor: Actor) -> Shipment:
    """Ship some or all of what an FO has left. Raises NotFound, ValidationError (lines,
    carrier, tracking numbers, package), Conflict (held or closed FO, nothing left,
    insufficient stock)."""
    tracking, package = _draft_resolve(draft)
    with transaction.atomic():
        order = order_lock_brief(order_id)
        if order is None:
            raise _order_missing(actor)
        fo = _pick_fo(order, draft.fulfillment_order_id, actor)
        _check_shippable(fo, actor)
        fo_lines = {ln.pk: ln for ln in fo.lines.all()}
        chosen = _lines_chosen(fo, fo_lines, draft)
        packed = draft.status in PACKED
        now = timezone.now()
        shipment, lines = _shipment_build(
            order_id=order.pk,
            fo=fo,
            fo_lines=fo_lines,
            chosen=chosen,
            draft=draft,
            tracking=tracking,
            package=package,
            now=now,
        )
        shipment_insert(shipment, lines)
        _quantities_move(fo, fo_lines, chosen, +1, now)
        events_insert([_created_event(shipment, fo_lines, chosen, actor, now)])
        if not packed:
            _effects(order, shipment, "created")
        orders_progress(order_ids=[order.pk], actor=actor)
        if not packed:
            # Last, so the stock rows stay locked for the shortest time (a short level still
            # refuses the whole shipment: the transaction rolls back).
            _stock_leaves(fo, fo_lines, chosen, order.pk, actor)
    return shipment


def _stock_leaves(
    fo: FulfillmentOrder,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    order_id: int,
    actor: Actor,
) -> None:
    """Take shipped quantities (FO line id -> quantity) off the shelf and out of committed;
    the inventory service sums them per level."""
    inventory_apply(
        changes=_stock_changes(fo, fo_lines, chosen, order_id), actor=actor, savepoint=False
    )


def _stock_changes(
    fo: FulfillmentOrder,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    order_id: int,
) -> list[StockChange]:
    return [
        StockChange(
            product_id=fo_lines[pk].product_id,
            location_id=fo.location_id,
            reason=Reason.SHIPPED,
            on_hand=-qty,
            committed=-qty if fo.commits_stock else 0,
            order_id=order_id,
            reference=f"fo:{fo.pk}",
        )
        for pk, qty in chosen.items()
    ]


def _quantities_move(
    fo: FulfillmentOrder,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    sign: int,
    now: Any,
) -> None:
    """Shipped (+1) or put back (-1): FO lines, order lines, and the FO's state."""
    per_line = _fo_move(fo, fo_lines, chosen, sign, now)
    fo_lines_fulfilled_write([fo_lines[pk] for pk in chosen])
    order_lines_fulfilled_add(per_line)
    fo_status_write(fo)


def _fo_move(
    fo: FulfillmentOrder,
    fo_lines: dict[int, FulfillmentOrderLine],
    chosen: dict[int, int],
    sign: int,
    now: Any,
) -> dict[int, int]:
    """`_quantities_move` in memory: the FO lines and the FO's state change; returns the
    change to each order line (order line id -> quantity) for the caller to write."""
    for pk, qty in chosen.items():
        fo_lines[pk].quantity_fulfilled += sign * qty
    per_line: dict[int, int] = {}
    for pk, qty in chosen.items():
        line_id = fo_lines[pk].order_line_id
        per_line[line_id] = per_line.get(line_id, 0) + sign * qty
    left = sum(ln.remaining for ln in fo_lines.values())
    if left == 0:
        fo.status = FOStatus.CLOSED
    elif fo.status in (FOStatus.OPEN, FOStatus.IN_PROGRESS, FOStatus.CLOSED):
        shipped = any(ln.quantity_fulfilled for ln in fo_lines.values())
        fo.status = FOStatus.IN_PROGRESS if shipped else FOStatus.OPEN
    fo.updated_at = now
    return per_line


def _effects(order: Order, shipment: Shipment, what: str, version: int = 0) -> None:
    """Queue the shipment's effects: buyer email, channel push, webhook event (one insert)."""
    outbox_enqueue_many(_effect_list(order, shipment, what, version))


def _effect_list(order: Order, shipment: Shipment, what: str, version: int = 0) -> list[Effect]:
    """The effects `_effects` queues."""
    key = f"shipment:{shipment.pk}:{what}" + (f":{version}" if version else "")
    payload = {"shipment_id": shipment.pk, "order_id": order.pk, "event": f"shipment.{what}"}
    email = {
        "created": "shipping_confirmation",
        "tracking_added": "shipping_confirmation",
        "updated": "shipping_update",
        "delivered": "delivered",
    }.get(what)
    effects: list[Effect] = []
    # A shipment without tracking tells the buyer nothing unless the merchant chose to: the
    # confirmation then goes out when the tracking is added (as an update if one went already).
    early = what == "created" and shop_snapshot().notify_without_tracking
    if (
        what == "tracking_added"
        and OutboxMessage.objects.filter(
            idempotency_key=f"shipment:{shipment.pk}:created:email"
        ).exists()
    ):
        email = "shipping_update"
    if (
        email
        and shipment.notify_customer
        and (shipment.tracking_numbers or what == "delivered" or early)
    ):
        effects.append(
            Effect(
                kind="customer_email",
                idempotency_key=f"{key}:email",
                payload={**payload, "template": email, "to": order.email},
                order_id=order.pk,
            )
        )
    if order.channel not in LOCAL_CHANNELS and what != "delivered":
        effects.append(
            Effect(kind="channel_push", idempotency_key=f"{key}:push", payload=payload,
                   order_id=order.pk)
        )  # fmt: skip
    effects.append(
        Effect(kind="webhook_event", idempotency_key=f"{key}:webhook", payload=payload,
               order_id=order.pk)
    )  # fmt: skip
    return effects
