"""The order's statuses follow its fulfillment: one function derives both and records a change.

`status` advances by itself among the statuses that describe fulfillment (paid → awaiting
fulfillment, packed → awaiting shipment, first shipment → partially shipped, all shipped →
shipped, all delivered → completed, held for fraud or address → manual verification). A status
a person or the money side set (cancelled, declined, refunded, disputed, ...) is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from colis.core.actor import Actor
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder, Shipment
from colis.fulfillment.status import LIVE_FO, PACKED, VERIFICATION_HOLDS, ShipmentStatus
from colis.orders.models import Order, OrderLine
from colis.orders.status import (
    STATUS_NAMES,
    FinancialStatus,
    FulfillmentStatus,
    LineQuantities,
    OrderStatus,
    fulfillment_status_derive,
)

S = OrderStatus
AUTOMATIC = frozenset(
    {
        S.PENDING,
        S.AWAITING_PAYMENT,
        S.AWAITING_FULFILLMENT,
        S.AWAITING_SHIPMENT,
        S.AWAITING_PICKUP,
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
        S.COMPLETED,
        S.MANUAL_VERIFICATION_REQUIRED,
    }
)
UNPAID = frozenset({FinancialStatus.PENDING, FinancialStatus.PARTIALLY_PAID})


def status_derive(
    *,
    order: Order,
    fulfillment: str,
    hold_reasons: set[str],
    shipment_states: Sequence[str],
) -> int:
    """The status the order's fulfillment calls for, or its current one when it is not ours."""
    if order.status not in AUTOMATIC:
        return order.status
    live = [s for s in shipment_states if s != ShipmentStatus.CANCELLED]
    left = [s for s in live if s not in PACKED]
    if fulfillment == FulfillmentStatus.FULFILLED:
        if not left:
            return S.AWAITING_SHIPMENT
        if len(left) < len(live):
            return S.PARTIALLY_SHIPPED
        if all(s == ShipmentStatus.DELIVERED for s in live):
            return S.COMPLETED
        return S.SHIPPED
    if fulfillment == FulfillmentStatus.PARTIALLY_FULFILLED and left:
        return S.PARTIALLY_SHIPPED
    if order.financial_status in UNPAID:
        return S.AWAITING_PAYMENT
    if hold_reasons & VERIFICATION_HOLDS:
        return S.MANUAL_VERIFICATION_REQUIRED
    if order.status == S.AWAITING_PICKUP:
        return order.status
    return S.AWAITING_FULFILLMENT


def orders_progress(*, order_ids: Sequence[int], actor: Actor) -> list[Order]:
    """Derive and store both statuses of these (locked) orders; one event per status change."""
    orders = {o.pk: o for o in Order.objects.filter(pk__in=order_ids)}
    lines: dict[int, list[OrderLine]] = {}
    for ln in OrderLine.objects.filter(order_id__in=order_ids):
        lines.setdefault(ln.order_id, []).append(ln)
    fos: dict[int, list[FulfillmentOrder]] = {}
    for fo in FulfillmentOrder.objects.filter(order_id__in=order_ids, status__in=LIVE_FO):
        fos.setdefault(fo.order_id, []).append(fo)
    holds: dict[int, set[str]] = {}
    for order_id, reason in FulfillmentHold.objects.filter(
        fulfillment_order__order_id__in=order_ids,
        fulfillment_order__status__in=LIVE_FO,
    ).values_list("fulfillment_order__order_id", "reason"):
        holds.setdefault(order_id, set()).add(reason)
    shipments: dict[int, list[str]] = {}
    for order_id, state in Shipment.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "status"
    ):
        shipments.setdefault(order_id, []).append(state)
    now = timezone.now()
    changed: list[Order] = []
    for order_id in order_ids:
        order = orders[order_id]
        order_lines = lines.get(order_id, [])
        live = fos.get(order_id, [])
        fulfillment = fulfillment_status_derive(
            (
                LineQuantities(
                    ordered=ln.quantity,
                    fulfilled=ln.quantity_fulfilled,
                    cancelled=ln.quantity_cancelled,
                )
                for ln in order_lines
            ),
            fo_states=[fo.status for fo in live],
            fo_requests=[fo.request_status for fo in live],
        )
        status = status_derive(
            order=order,
            fulfillment=fulfillment,
            hold_reasons=holds.get(order_id, set()),
            shipment_states=shipments.get(order_id, []),
        )
        if status == order.status and fulfillment == order.fulfillment_status:
            continue
        if status != order.status:
            event_record(
                subject_type="order",
                subject_id=order_id,
                order_id=order_id,
                kind="order_status_changed",
                actor=actor,
                data={
                    "from": STATUS_NAMES[order.status],
                    "to": STATUS_NAMES[status],
                    "manual": False,
                },
            )
        order.status = status
        order.fulfillment_status = fulfillment
        order.updated_at = now
        changed.append(order)
    if changed:
        Order.objects.bulk_update(changed, ["status", "fulfillment_status", "updated_at"])
    return [orders[i] for i in order_ids]
