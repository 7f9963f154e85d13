"""Changes to a shipment after it was created: it leaves (packed → shipped), its tracking
changes, it is delivered, or it is cancelled (quantities and stock go back)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.services import order_lock
from colis.fulfillment.shipments import (
    ShipmentDraft,
    _effects,
    _quantities_move,
    _stock_leaves,
    _tracking,
)
from colis.fulfillment.status import PACKED, FOStatus, ShipmentStatus
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply
from colis.orders.models import Order


def shipment_ship(*, shipment_id: int, actor: Actor) -> Shipment:
    """A packed shipment leaves: its stock goes off the shelf and the buyer is told. Raises
    NotFound, Conflict (`shipment_not_packed`, insufficient stock)."""
    with transaction.atomic():
        order, shipment = _shipment_lock(shipment_id)
        _require_active(shipment)
        if shipment.status not in PACKED:
            raise Conflict("This shipment has already left.", code="shipment_not_packed")
        fo = FulfillmentOrder.objects.get(pk=shipment.fulfillment_order_id)
        fo_lines = {ln.pk: ln for ln in fo.lines.all()}
        chosen = _shipment_quantities(shipment)
        _stock_leaves(fo, fo_lines, chosen, order.pk, actor)
        _advance(order, shipment, ShipmentStatus.SHIPPED, "shipped_at", "shipped", "created", actor)
    return shipment


def _shipment_quantities(shipment: Shipment) -> dict[int, int]:
    """FO line id -> quantity in this shipment."""
    out: dict[int, int] = {}
    for sl in shipment.lines.all():
        out[sl.fulfillment_order_line_id] = out.get(sl.fulfillment_order_line_id, 0) + sl.quantity
    return out


def _advance(
    order: Order,
    shipment: Shipment,
    status: str,
    stamp: str,
    event: str,
    effect: str,
    actor: Actor,
) -> None:
    """Move a shipment on (shipped, delivered): its state and time, its event, its effects,
    the order's statuses."""
    now = timezone.now()
    shipment.status = status
    setattr(shipment, stamp, now)
    shipment.updated_at = now
    shipment.save(update_fields=["status", stamp, "updated_at"])
    event_record(
        subject_type="shipment",
        subject_id=shipment.pk,
        order_id=order.pk,
        kind=f"shipment_{event}",
        actor=actor,
    )
    _effects(order, shipment, effect)
    orders_progress(order_ids=[order.pk], actor=actor)


def _shipment_lock(shipment_id: int) -> tuple[Order, Shipment]:
    order_id = Shipment.objects.filter(pk=shipment_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such shipment.", code="shipment_not_found")
    order = order_lock(order_id)
    return order, Shipment.objects.get(pk=shipment_id)


def _require_active(shipment: Shipment) -> None:
    if shipment.status == ShipmentStatus.CANCELLED:
        raise Conflict("This shipment is cancelled.", code="shipment_cancelled")


def shipment_tracking_update(
    *,
    shipment_id: int,
    carrier: str | None,
    carrier_name: str = "",
    tracking_numbers: Sequence[str],
    tracking_urls: Sequence[str] | None = None,
    force: bool = False,
    notify_customer: bool | None = None,
    actor: Actor,
) -> Shipment:
    """Replace the carrier and tracking. The first tracking of a shipment sends the shipping
    confirmation (when the buyer is notified); later changes send a shipping update."""
    draft = ShipmentDraft(
        carrier=carrier,
        carrier_name=carrier_name,
        tracking_numbers=tracking_numbers,
        tracking_urls=tracking_urls,
        force=force,
    )
    with transaction.atomic():
        order, shipment = _shipment_lock(shipment_id)
        _require_active(shipment)
        tracking = _tracking(
            draft if carrier or not shipment.carrier else _with_carrier(draft, shipment.carrier)
        )
        had = bool(shipment.tracking_numbers)
        shipment.carrier = tracking.carrier_code
        shipment.carrier_name = tracking.carrier_name
        shipment.tracking_numbers = list(tracking.numbers)
        shipment.tracking_urls = list(tracking.urls)
        if notify_customer is not None:
            shipment.notify_customer = notify_customer
        shipment.updated_at = timezone.now()
        shipment.save()
        event = event_record(
            subject_type="shipment",
            subject_id=shipment.pk,
            order_id=order.pk,
            kind="shipment_tracking_updated",
            actor=actor,
            data={"carrier": shipment.carrier, "tracking_numbers": shipment.tracking_numbers},
        )
        if shipment.status not in PACKED:
            _effects(order, shipment, "updated" if had else "tracking_added", version=event.pk)
    return shipment


def _with_carrier(draft: ShipmentDraft, carrier: str) -> ShipmentDraft:
    return ShipmentDraft(
        carrier=carrier,
        carrier_name=draft.carrier_name,
        tracking_numbers=draft.tracking_numbers,
        tracking_urls=draft.tracking_urls,
        force=draft.force,
    )


def shipment_deliver(*, shipment_id: int, actor: Actor) -> Shipment:
    """Mark delivered; the order completes when all its shipments are. Raises Conflict."""
    with transaction.atomic():
        order, shipment = _shipment_lock(shipment_id)
        _require_active(shipment)
        if shipment.status == ShipmentStatus.DELIVERED:
            raise Conflict("This shipment is already delivered.", code="already_delivered")
        if shipment.status in PACKED:
            raise Conflict("This shipment has not left yet.", code="shipment_not_shipped")
        _advance(
            order,
            shipment,
            ShipmentStatus.DELIVERED,
            "delivered_at",
            "delivered",
            "delivered",
            actor,
        )
    return shipment


def shipment_cancel(*, shipment_id: int, reason: str = "", actor: Actor) -> Shipment:
    """Cancel a shipment that was not delivered: its quantities return to the FO and its stock
    to the shelf (committed again). Raises NotFound, Conflict."""
    with transaction.atomic():
        order, shipment = _shipment_lock(shipment_id)
        _require_active(shipment)
        if shipment.status == ShipmentStatus.DELIVERED:
            raise Conflict("A delivered shipment cannot be cancelled.", code="shipment_delivered")
        fo = FulfillmentOrder.objects.get(pk=shipment.fulfillment_order_id)
        if fo.status == FOStatus.CANCELLED:
            raise Conflict(
                "Its fulfillment order is cancelled; the items cannot go back to it.",
                code="fulfillment_order_closed",
            )
        fo_lines = {ln.pk: ln for ln in fo.lines.all()}
        chosen = _shipment_quantities(shipment)
        inventory_apply(
            changes=[]
            if shipment.status in PACKED
            else [
                StockChange(
                    product_id=fo_lines[pk].product_id,
                    location_id=fo.location_id,
                    reason=Reason.RETURNED,
                    on_hand=qty,
                    committed=qty if fo.commits_stock else 0,
                    order_id=order.pk,
                    reference=f"shipment:{shipment.pk}",
                    note="shipment cancelled",
                )
                for pk, qty in chosen.items()
            ],
            actor=actor,
        )
        now = timezone.now()
        if fo.status == FOStatus.CLOSED:
            fo.status = FOStatus.OPEN
        _quantities_move(fo, fo_lines, chosen, -1, now)
        if fo.holds.exists():
            fo.status = FOStatus.ON_HOLD
            fo.save(update_fields=["status"])
        shipment.status = ShipmentStatus.CANCELLED
        shipment.cancelled_at = shipment.updated_at = now
        shipment.save(update_fields=["status", "cancelled_at", "updated_at"])
        event_record(
            subject_type="shipment",
            subject_id=shipment.pk,
            order_id=order.pk,
            kind="shipment_cancelled",
            actor=actor,
            data={"reason": reason},
        )
        _effects(order, shipment, "cancelled")
        orders_progress(order_ids=[order.pk], actor=actor)
    return shipment
