"""Reads for returns: what an order may still send back, the return window, return pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from colis.core.errors import NotFound
from colis.core.models import Event, Shop
from colis.fulfillment.models import Shipment, ShipmentLine
from colis.orders.models import Order, OrderLine
from colis.returns.models import Refund, Return, ReturnLine, ReturnReceipt
from colis.returns.status import ReturnState

# Shipments whose units reached (or are on their way to) the buyer, so may come back.
SHIPPED_STATES = ("shipped", "in_transit", "delivered", "failed")
# Returns that still hold their requested units; a closed one holds what it received.
OPEN_STATES = (
    ReturnState.REQUESTED,
    ReturnState.APPROVED,
    ReturnState.IN_TRANSIT,
    ReturnState.RECEIVED,
    ReturnState.INSPECTED,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Returnable:
    """One order line and how many of its units may still be returned."""

    line_id: int
    sku: str
    title: str
    product_id: int
    quantity: int


def shipped_quantities(order_id: int) -> dict[int, int]:
    """Order line id -> units shipped to the buyer."""
    rows = (
        ShipmentLine.objects.filter(
            shipment__order_id=order_id, shipment__status__in=SHIPPED_STATES
        )
        .values("order_line_id")
        .annotate(n=Sum("quantity"))
    )
    return {r["order_line_id"]: r["n"] for r in rows}


def returned_quantities(order_id: int, *, exclude_return: int | None = None) -> dict[int, int]:
    """Order line id -> units already claimed by returns: requested ones for open returns,
    received ones for closed returns (what never came back may be asked for again)."""
    out: dict[int, int] = defaultdict(int)
    rows = ReturnLine.objects.filter(rma__order_id=order_id).filter(
        Q(rma__state__in=OPEN_STATES) | Q(rma__state=ReturnState.CLOSED)
    )
    if exclude_return is not None:
        rows = rows.exclude(rma_id=exclude_return)
    for line_id, state, quantity, received in rows.values_list(
        "order_line_id", "rma__state", "quantity", "quantity_received"
    ):
        out[line_id] += received if state == ReturnState.CLOSED else quantity
    return dict(out)


def return_window_end(order: Order, shop: Shop | None = None) -> datetime | None:
    """When the buyer's right to ask for a return ends: the shop's window after the last
    delivery (or the last shipment, for parcels never marked delivered). None: nothing shipped."""
    shop = shop or Shop.objects.filter(pk=1).first() or Shop()
    stamps = Shipment.objects.filter(order_id=order.pk, status__in=SHIPPED_STATES).aggregate(
        delivered=Max("delivered_at"), shipped=Max("shipped_at")
    )
    start = stamps["delivered"] or stamps["shipped"]
    if start is None:
        return None
    return start + timedelta(days=shop.return_window_days)


def return_window_open(order: Order, shop: Shop | None = None, at: datetime | None = None) -> bool:
    end = return_window_end(order, shop)
    return end is not None and (at or timezone.now()) <= end


def returnable_lines(
    *, order: Order, within_window: bool = False, exclude_return: int | None = None
) -> list[Returnable]:
    """The lines of an order with units that may come back (shipped, not already returned);
    none when `within_window` and the shop's return window has closed."""
    if within_window and not return_window_open(order):
        return []
    shipped = shipped_quantities(order.pk)
    if not shipped:
        return []
    taken = returned_quantities(order.pk, exclude_return=exclude_return)
    out = []
    for line in OrderLine.objects.filter(order_id=order.pk).order_by("position", "pk"):
        left = shipped.get(line.pk, 0) - taken.get(line.pk, 0)
        if left > 0:
            out.append(
                Returnable(
                    line_id=line.pk,
                    sku=line.sku,
                    title=line.title,
                    product_id=line.product_id,
                    quantity=left,
                )
            )
    return out


def _with_parts(qs: QuerySet[Return]) -> QuerySet[Return]:
    return qs.select_related("order").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.order_by("pk")),
        Prefetch("receipts", queryset=ReturnReceipt.objects.order_by("pk")),
        Prefetch("refunds", queryset=Refund.objects.order_by("pk")),
    )


def return_get(*, return_id: int, location_id: int | None = None) -> Return:
    """One return with its lines, receipts and refunds. `location_id` scopes it to a 3PL's
    location (a return of an order it shipped). Raises NotFound."""
    qs = Return.objects.filter(pk=return_id)
    if location_id is not None:
        qs = qs.filter(order__fulfillment_orders__location_id=location_id).distinct()
    rma = _with_parts(qs).first()
    if rma is None:
        raise NotFound("No such return.", code="return_not_found")
    return rma


def return_page(
    *,
    after_id: int | None,
    limit: int,
    state: str = "",
    reason: str = "",
    location_id: int | None = None,
    order_id: int | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    q: str = "",
    scope_location_id: int | None = None,
) -> list[Return]:
    """Newest first, `limit + 1` rows (the extra one says there is a next page)."""
    qs = Return.objects.all()
    if after_id is not None:
        qs = qs.filter(pk__lt=after_id)
    if state:
        qs = qs.filter(state=state)
    if reason:
        qs = qs.filter(pk__in=ReturnLine.objects.filter(reason=reason).values("rma_id"))
    if location_id is not None:
        qs = qs.filter(location_id=location_id)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if created_after is not None:
        qs = qs.filter(created_at__gte=created_after)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    if q:
        qs = qs.filter(Q(number__iexact=q) | Q(order__number__iexact=q))
    if scope_location_id is not None:
        qs = qs.filter(
            order_id__in=Order.objects.filter(
                fulfillment_orders__location_id=scope_location_id
            ).values("pk")
        )
    return list(_with_parts(qs.order_by("-pk"))[: limit + 1])


def refunds_for_order(order_id: int) -> list[Refund]:
    return list(Refund.objects.filter(order_id=order_id).order_by("pk"))


def _return_events(rma: Return) -> QuerySet[Event]:
    # A return's events carry its order's id, which is indexed (the subject index covers only
    # events without an order).
    return Event.objects.filter(order_id=rma.order_id, subject_type="return", subject_id=rma.pk)


def return_events(*, rma: Return, limit: int = 200) -> list[Event]:
    """A return's timeline, newest first."""
    return list(_return_events(rma).order_by("-pk")[:limit])


def return_event_page(*, rma: Return, after_id: int | None, limit: int) -> list[Event]:
    """A return's timeline, oldest first, `limit + 1` rows after `after_id`."""
    qs = _return_events(rma).order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return list(qs[: limit + 1])
