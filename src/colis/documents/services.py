"""Writes of a print run: the orders are marked printed, and may move to awaiting_shipment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import DomainError
from colis.core.timeline import event_row, events_insert
from colis.orders.models import Order
from colis.orders.services import order_status_set
from colis.orders.status import OrderStatus

DOCUMENTS = ("packing_slips", "pick_list", "labels")


@dataclass(kw_only=True, slots=True)
class PrintMarks:
    printed: int = 0
    moved: list[int] = field(default_factory=list)
    not_moved: dict[int, str] = field(default_factory=dict)


def orders_mark_printed(
    *,
    order_ids: Sequence[int],
    document: str,
    move_to_awaiting_shipment: bool = False,
    actor: Actor,
) -> PrintMarks:
    """Write a `documents_printed` event on each order (multi-row inserts, one transaction per
    thousand orders); with `move_to_awaiting_shipment`, move those awaiting fulfillment through
    `order_status_set` (one order failing to move does not stop the others)."""
    marks = PrintMarks()
    now = timezone.now()
    for start in range(0, len(order_ids), 1000):
        part = list(order_ids[start : start + 1000])
        with transaction.atomic():
            events_insert(
                [
                    event_row(
                        subject_type="order",
                        subject_id=oid,
                        order_id=oid,
                        kind="documents_printed",
                        actor=actor,
                        at=now,
                        data={"document": document, "orders_in_run": len(order_ids)},
                    )
                    for oid in part
                ]
            )
        marks.printed += len(part)
    if move_to_awaiting_shipment:
        waiting = Order.objects.filter(
            pk__in=list(order_ids), status=OrderStatus.AWAITING_FULFILLMENT
        ).values_list("pk", flat=True)
        for oid in sorted(waiting):
            try:
                order_status_set(
                    order_id=oid,
                    status=OrderStatus.AWAITING_SHIPMENT,
                    note=f"{document.replace('_', ' ')} printed",
                    actor=actor,
                )
                marks.moved.append(oid)
            except DomainError as exc:
                marks.not_moved[oid] = exc.code
    return marks
