"""Reads of orders: one order with everything on it, lists with filters and cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from colis.catalog.models import sku_key
from colis.core.cache import Snapshot
from colis.core.errors import NotFound, ValidationError
from colis.core.models import Event
from colis.orders.models import Order, OrderLine, OrderStatusLabel
from colis.orders.status import STATUS_BY_NAME, STATUS_NAMES, FulfillmentStatus, OrderStatus


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderFilters:
    status: str = ""
    fulfillment_status: str = ""
    channel: str = ""
    q: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    location_id: int | None = None


def _labels_load() -> dict[int, str]:
    labels = {s.value: s.label for s in OrderStatus}
    labels.update(OrderStatusLabel.objects.values_list("status", "label"))
    return labels


_LABELS = Snapshot(_labels_load)


def status_labels() -> dict[int, str]:
    """Status id -> the shop's label (a snapshot at most two seconds old; renaming clears it)."""
    return _LABELS.get()


def status_labels_forget() -> None:
    _LABELS.forget()


def _parse_statuses(raw: str) -> list[int]:
    out = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if part.isascii() and part.isdigit() and int(part) in STATUS_NAMES:
            out.append(int(part))
        elif part in STATUS_BY_NAME:
            out.append(STATUS_BY_NAME[part].value)
        else:
            raise ValidationError(
                f"Unknown status {part!r}.",
                code="invalid_filter",
                fields={"status": f"Unknown status {part!r}."},
            )
    return out


def order_queryset(filters: OrderFilters) -> QuerySet[Order]:
    qs = Order.objects.all()
    if filters.status:
        qs = qs.filter(status__in=_parse_statuses(filters.status))
    if filters.fulfillment_status:
        values = [v.strip() for v in filters.fulfillment_status.split(",") if v.strip()]
        bad = [v for v in values if v not in FulfillmentStatus.values]
        if bad:
            raise ValidationError(
                f"Unknown fulfillment status {bad[0]!r}.",
                code="invalid_filter",
                fields={"fulfillment_status": f"Unknown: {bad[0]!r}."},
            )
        qs = qs.filter(fulfillment_status__in=values)
    if filters.channel:
        # A channel's name, or the id of its record.
        if filters.channel.isascii() and filters.channel.isdigit() and len(filters.channel) <= 18:
            qs = qs.filter(Q(channel=filters.channel) | Q(channel_record_id=int(filters.channel)))
        else:
            qs = qs.filter(channel=filters.channel)
    if filters.location_id is not None:
        from colis.fulfillment.models import FulfillmentOrder

        qs = qs.filter(
            pk__in=FulfillmentOrder.objects.filter(location_id=filters.location_id).values(
                "order_id"
            )
        )
    if filters.created_after:
        qs = qs.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        qs = qs.filter(created_at__lt=filters.created_before)
    if q := filters.q.strip():
        match = Q(number__iexact=q.lstrip("#")) | Q(buyer_name__icontains=q)
        if "@" in q:
            match |= Q(email__startswith=q.lower())
        match |= Q(pk__in=OrderLine.objects.filter(product__sku_key=sku_key(q)).values("order_id"))
        qs = qs.filter(match)
    return qs


def order_page(*, filters: OrderFilters, after_id: int | None, limit: int) -> list[Order]:
    """Newest first; `after_id` is the last id of the previous page. Two queries in all."""
    qs = order_queryset(filters).order_by("-pk")
    if after_id is not None:
        qs = qs.filter(pk__lt=after_id)
    return list(
        qs.prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("position")), *_fulfillment()
        )[: limit + 1]
    )


def _fulfillment() -> list[Prefetch]:
    from colis.fulfillment.models import FulfillmentOrder, Shipment

    return [
        Prefetch(
            "fulfillment_orders",
            queryset=FulfillmentOrder.objects.order_by("pk").prefetch_related(
                Prefetch("lines", queryset=_fo_lines()), "holds"
            ),
        ),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.order_by("pk").prefetch_related(
                Prefetch("lines", queryset=_shipment_lines())
            ),
        ),
    ]


def _fo_lines() -> QuerySet:
    from colis.fulfillment.models import FulfillmentOrderLine

    return FulfillmentOrderLine.objects.order_by("pk")


def _shipment_lines() -> QuerySet:
    from colis.fulfillment.models import ShipmentLine

    return ShipmentLine.objects.order_by("pk")


def order_get(*, order_id: int) -> Order:
    """The order with its lines, fulfillment orders (lines, holds) and shipments (lines)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    lines = list(OrderLine.objects.filter(order_id=order_id).order_by("position"))
    # Fill the prefetch cache so `order.lines.all()` reads these without a query.
    order._prefetched_objects_cache = {"lines": lines}  # type: ignore[attr-defined]
    prefetch_related_objects([order], *_fulfillment())
    return order


def order_events(*, order_id: int, after_id: int | None, limit: int) -> list[Event]:
    if not Order.objects.filter(pk=order_id).exists():
        raise NotFound("No such order.", code="order_not_found")
    qs = Event.objects.filter(order_id=order_id).order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return list(qs[: limit + 1])
