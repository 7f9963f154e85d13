"""The order's statuses follow its fulfillment: one function derives both and records a change.

`status` advances by itself among the statuses that describe fulfillment (paid → awaiting
fulfillment, packed → awaiting shipment, first shipment → partially shipped, all shipped →
shipped, all delivered → completed, held for fraud or address → manual verification). A status
a person or the money side set (cancelled, declined, refunded, disputed, ...) is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.sql import fetch_all, in_list
from colis.core.timeline import event_row, events_insert
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder, Shipment
from colis.fulfillment.status import LIVE_FO, PACKED, VERIFICATION_HOLDS, ShipmentStatus
from colis.orders.effects import Updated, orders_updated_queue
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
    status: int,
    financial_status: str,
    fulfillment: str,
    hold_reasons: set[str],
    shipment_states: Sequence[str],
) -> int:
    """The status the order's fulfillment calls for, or its current one when it is not ours."""
    if status not in AUTOMATIC:
        return status
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
    if financial_status in UNPAID:
        return S.AWAITING_PAYMENT
    if hold_reasons & VERIFICATION_HOLDS:
        return S.MANUAL_VERIFICATION_REQUIRED
    if status == S.AWAITING_PICKUP:
        return status
    return S.AWAITING_FULFILLMENT


ORDER_TABLE = Order._meta.db_table
LINE_TABLE = OrderLine._meta.db_table
FO_TABLE = FulfillmentOrder._meta.db_table
HOLD_TABLE = FulfillmentHold._meta.db_table
SHIPMENT_TABLE = Shipment._meta.db_table
LIVE = sorted(LIVE_FO)


@dataclass(kw_only=True, slots=True)
class _State:
    status: int
    financial_status: str
    fulfillment_status: str
    lines: list[LineQuantities] = field(default_factory=list)
    fo_states: list[str] = field(default_factory=list)
    fo_requests: list[str] = field(default_factory=list)
    holds: set[str] = field(default_factory=set)
    shipments: list[str] = field(default_factory=list)


def _states(order_ids: Sequence[int]) -> dict[int, _State]:
    """Everything the derivation needs for these orders, in one query."""
    ids = list(order_ids)
    marks, live = in_list(ids), in_list(LIVE)
    rows = fetch_all(
        f"SELECT id, 'o', financial_status, fulfillment_status, status, 0, 0 FROM {ORDER_TABLE} "
        f"WHERE id IN ({marks}) "
        f"UNION ALL SELECT order_id, 'l', '', '', quantity, quantity_fulfilled, "
        f"quantity_cancelled FROM {LINE_TABLE} WHERE order_id IN ({marks}) "
        f"UNION ALL SELECT order_id, 'f', status, request_status, 0, 0, 0 FROM {FO_TABLE} "
        f"WHERE order_id IN ({marks}) AND status IN ({live}) "
        f"UNION ALL SELECT fo.order_id, 'h', h.reason, '', 0, 0, 0 FROM {HOLD_TABLE} h "
        f"JOIN {FO_TABLE} fo ON fo.id = h.fulfillment_order_id "
        f"WHERE fo.order_id IN ({marks}) AND fo.status IN ({live}) "
        f"UNION ALL SELECT order_id, 's', status, '', 0, 0, 0 FROM {SHIPMENT_TABLE} "
        f"WHERE order_id IN ({marks})",
        [*ids, *ids, *ids, *LIVE, *ids, *LIVE, *ids],
    )
    states: dict[int, _State] = {}
    rest = []
    for row in rows:
        if row[1] == "o":
            order_id, _, financial, fulfillment, status = row[:5]
            states[order_id] = _State(
                status=int(status), financial_status=financial, fulfillment_status=fulfillment
            )
        else:
            rest.append(row)
    for order_id, what, text, request, qty, done, cancelled in rest:
        state = states[order_id]
        if what == "l":
            state.lines.append(LineQuantities(ordered=qty, fulfilled=done, cancelled=cancelled))
        elif what == "f":
            state.fo_states.append(text)
            state.fo_requests.append(request)
        elif what == "h":
            state.holds.add(text)
        else:
            state.shipments.append(text)
    return states


def orders_progress(*, order_ids: Sequence[int], actor: Actor) -> dict[int, tuple[int, str]]:
    """Derive and store both statuses of these (locked) orders; one event per status change.
    Returns (status, fulfillment_status) by order id. One read, whatever the count."""
    if not order_ids:
        return {}
    states = _states(order_ids)
    now = timezone.now()
    updates: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    out: dict[int, tuple[int, str]] = {}
    changed: list[Updated] = []
    for order_id, state in states.items():
        fulfillment = fulfillment_status_derive(
            state.lines, fo_states=state.fo_states, fo_requests=state.fo_requests
        )
        status = status_derive(
            status=state.status,
            financial_status=state.financial_status,
            fulfillment=fulfillment,
            hold_reasons=state.holds,
            shipment_states=state.shipments,
        )
        out[order_id] = (status, fulfillment)
        if status == state.status and fulfillment == state.fulfillment_status:
            continue
        if status != state.status:
            data = {"from": STATUS_NAMES[state.status], "to": STATUS_NAMES[status], "manual": False}
            events.append(
                event_row(
                    subject_type="order",
                    subject_id=order_id,
                    order_id=order_id,
                    kind="order_status_changed",
                    actor=actor,
                    data=data,
                    at=now,
                )
            )
        updates.append((status, str(fulfillment), now, order_id))
        changed.append(
            Updated(
                order_id=order_id,
                status=status,
                fulfillment_status=str(fulfillment),
                previous_status=state.status,
                previous_fulfillment_status=state.fulfillment_status,
            )
        )
    if updates:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {ORDER_TABLE} SET status = %s, fulfillment_status = %s, updated_at = %s "
                "WHERE id = %s",
                updates,
            )
    events_insert(events)
    orders_updated_queue(changed, now)
    return out
