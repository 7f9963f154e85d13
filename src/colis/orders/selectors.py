"""Reads of orders: one order with everything on it, lists with filters and cursors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Concat, TruncDate

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


def status_labels_read() -> dict[int, str]:
    """The shop's labels as they are now: one query, every time (pages that pin their query
    count use this rather than the snapshot, which reloads now and then)."""
    return _labels_load()


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
        qs = qs.filter(order_search_q(q))
    return qs


def order_search_q(q: str) -> Q:
    """What a search of the orders list matches: the number, the buyer's name, the email (from
    its start, when the text has an @), an ordered SKU."""
    match = Q(number__iexact=q.lstrip("#")) | Q(buyer_name__icontains=q)
    if "@" in q:
        match |= Q(email__startswith=q.lower())
    return match | order_sku_q(q)


def order_sku_q(q: str) -> Q:
    """Orders with a line of this SKU (any case, as the catalog keys it)."""
    return Q(pk__in=OrderLine.objects.filter(product__sku_key=sku_key(q)).values("order_id"))


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


# --- the merchant UI's orders list and dashboard -------------------------------------------

LIST_TABS = (
    "all",
    "unfulfilled",
    "on_hold",
    "awaiting_shipment",
    "partially_shipped",
    "shipped",
    "cancelled",
    "returns",
)
LIST_SORTS = ("-date", "date", "ship_by", "-ship_by")
# What a row of the list shows; the rest of an order stays in the database.
LIST_COLUMNS = (
    "id",
    "number",
    "created_at",
    "buyer_name",
    "email",
    "channel",
    "total",
    "currency",
    "status",
    "fulfillment_status",
    "ship_by",
)
TO_FULFILL = (FulfillmentStatus.UNFULFILLED, FulfillmentStatus.PARTIALLY_FULFILLED)
NOT_SHIPPED = (
    *TO_FULFILL,
    FulfillmentStatus.ON_HOLD,
    FulfillmentStatus.IN_PROGRESS,
    FulfillmentStatus.SCHEDULED,
)
_CANCELLED = OrderStatus.CANCELLED
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderListQuery:
    """The orders list: the API's filters, plus a tab, a tag, `late` (past its ship-by date and
    not shipped), `shipped_since` (has a shipment shipped since then) and the sort."""

    filters: OrderFilters = OrderFilters()
    tab: str = "all"
    tag: str = ""
    late_at: datetime | None = None
    shipped_since: datetime | None = None
    sort: str = "-date"


@dataclass(frozen=True, kw_only=True, slots=True)
class ListKey:
    """Where a page of the list ends: an order's id and its value of the sort's column
    (`at`: created_at, or ship_by; None: in the tail of orders without a ship-by)."""

    id: int
    at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderListPage:
    orders: list[Order]
    items: dict[int, int]
    next_key: ListKey | None
    prev_key: ListKey | None


def _broad(qs: QuerySet[Order], column: str, values: Sequence[Any]) -> QuerySet[Order]:
    """`column IN values` for a filter that matches most orders (the orders to fulfill, those
    shipped). SQLite, without statistics, would read every match through the column's index
    and sort them; written so that no index serves it, it walks the sort's index and stops at
    the end of the page. PostgreSQL's planner knows the column's spread and chooses well."""
    if connection.vendor != "sqlite":
        return qs.filter(**{f"{column}__in": list(values)})
    name = f"_broad_{column}"
    if column == "status":
        expression: Any = F(column) + 0
    else:
        expression = Concat(F(column), Value(""), output_field=CharField())
    return qs.alias(**{name: expression}).filter(**{f"{name}__in": list(values)})


def _tab_filter(qs: QuerySet[Order], tab: str) -> QuerySet[Order]:
    if tab == "unfulfilled":
        return _broad(qs, "fulfillment_status", TO_FULFILL).exclude(status=_CANCELLED)
    if tab == "on_hold":
        return qs.filter(fulfillment_status=FulfillmentStatus.ON_HOLD).exclude(status=_CANCELLED)
    if tab == "awaiting_shipment":
        return qs.filter(status=OrderStatus.AWAITING_SHIPMENT)
    if tab == "partially_shipped":
        return qs.filter(status=OrderStatus.PARTIALLY_SHIPPED)
    if tab == "shipped":
        return _broad(qs, "status", [OrderStatus.SHIPPED, OrderStatus.COMPLETED])
    if tab == "cancelled":
        return qs.filter(status=_CANCELLED)
    if tab == "returns":
        from colis.returns.models import Return

        return qs.filter(pk__in=Return.objects.values("order_id"))
    return qs


def _tracking_q(q: str) -> Q:
    """Orders with a shipment carrying this tracking number (whole number, any case)."""
    from colis.fulfillment.models import Shipment

    text = json.dumps(q.replace(" ", "").upper())
    return Q(pk__in=Shipment.objects.filter(tracking_numbers__icontains=text).values("order_id"))


def order_list_queryset(query: OrderListQuery) -> QuerySet[Order]:
    """The orders the list shows, unordered. Search also matches a shipment's tracking number.
    Raises ValidationError for an unknown status in the filters."""
    q = query.filters.q.strip()
    qs = _tab_filter(order_queryset(replace(query.filters, q="")), query.tab)
    if q and EMAIL.fullmatch(q):
        # A whole email address: the buyer's orders, through the email index.
        qs = qs.filter(email=q.lower())
    elif q and q.lstrip("#").isdigit():
        # A number: the order of that number (its unique index), or a SKU or tracking number
        # made of digits; no buyer's name is made of digits.
        match = Q(number=q.lstrip("#")) | order_sku_q(q)
        qs = qs.filter(match | _tracking_q(q) if len(q) >= 8 else match)
    elif q:
        match = order_search_q(q)
        if len(q) >= 8 and q.isalnum() and any(c.isdigit() for c in q):
            match |= _tracking_q(q)
        qs = qs.filter(match)
    if tag := query.tag.strip():
        # Tags are a JSON list: a tag is matched whole, as its JSON text.
        qs = qs.filter(tags__icontains=json.dumps(tag))
    if query.late_at is not None:
        qs = qs.filter(ship_by__lt=query.late_at, fulfillment_status__in=NOT_SHIPPED).exclude(
            status=_CANCELLED
        )
    if query.shipped_since is not None:
        from colis.fulfillment.models import Shipment

        qs = qs.filter(
            pk__in=Shipment.objects.filter(shipped_at__gte=query.shipped_since).values("order_id")
        )
    return qs


def _id_scan(qs: QuerySet[Order], key: ListKey | None, desc: bool, n: int) -> list[Order]:
    if key is not None:
        qs = qs.filter(pk__lt=key.id) if desc else qs.filter(pk__gt=key.id)
    return list(qs.order_by("-pk" if desc else "pk")[:n])


def _dated_scan(
    qs: QuerySet[Order], column: str, key: ListKey | None, desc: bool, n: int
) -> list[Order]:
    """Orders by (column, id), after `key` in that direction; the column's index serves it."""
    qs = qs.filter(**{f"{column}__isnull": False})
    if key is not None and key.at is not None:
        at = key.at
        # The first term bounds the index range; the second breaks ties on the id.
        if desc:
            past = Q(**{f"{column}__lt": at}) | Q(pk__lt=key.id)
            qs = qs.filter(Q(**{f"{column}__lte": at}) & past)
        else:
            past = Q(**{f"{column}__gt": at}) | Q(pk__gt=key.id)
            qs = qs.filter(Q(**{f"{column}__gte": at}) & past)
    order = (f"-{column}", "-pk") if desc else (column, "pk")
    return list(qs.order_by(*order)[:n])


def _ship_by_scan(
    qs: QuerySet[Order], key: ListKey | None, desc: bool, backward: bool, n: int
) -> list[Order]:
    """The ship-by sorts: orders with a ship-by date in its order, then those without one by id
    (in the same direction); a backward scan walks that sequence the other way."""
    undated = qs.filter(ship_by__isnull=True)
    in_tail = key is not None and key.at is None
    if not backward:
        if in_tail:
            return _id_scan(undated, key, desc, n)
        rows = _dated_scan(qs, "ship_by", key, desc, n)
        return rows + (_id_scan(undated, None, desc, n - len(rows)) if len(rows) < n else [])
    if not in_tail:
        return _dated_scan(qs, "ship_by", key, desc, n)
    rows = _id_scan(undated, key, desc, n)
    return rows + (_dated_scan(qs, "ship_by", None, desc, n - len(rows)) if len(rows) < n else [])


def _key(order: Order, sort: str) -> ListKey:
    return ListKey(id=order.pk, at=order.ship_by if "ship_by" in sort else order.created_at)


def order_list_page(
    *,
    query: OrderListQuery,
    after: ListKey | None = None,
    before: ListKey | None = None,
    limit: int = 50,
) -> OrderListPage:
    """One page of the list, by keyset (no OFFSET, no count): after `after` (the next page) or
    before `before` (the previous one). Two to three queries whatever the number of orders."""
    qs = order_list_queryset(query).only(*LIST_COLUMNS)
    backward = before is not None
    key = before if backward else after
    desc = query.sort.startswith("-") != backward
    if "ship_by" in query.sort:
        rows = _ship_by_scan(qs, key, desc, backward, limit + 1)
    else:
        rows = _dated_scan(qs, "created_at", key, desc, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    has_next = more if not backward else True
    has_prev = more if backward else after is not None
    return OrderListPage(
        orders=rows,
        items=order_item_counts([o.pk for o in rows]),
        next_key=_key(rows[-1], query.sort) if rows and has_next else None,
        prev_key=_key(rows[0], query.sort) if rows and has_prev else None,
    )


def order_item_counts(order_ids: list[int]) -> dict[int, int]:
    """Units ordered (less those cancelled) per order, in one query."""
    if not order_ids:
        return {}
    rows = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(n=Sum(F("quantity") - F("quantity_cancelled")))
        .order_by()
        .values_list("order_id", "n")
    )
    return {order_id: n or 0 for order_id, n in rows}


@dataclass(frozen=True, kw_only=True, slots=True)
class DashboardCounts:
    to_fulfill: int
    on_hold: int
    late: int
    shipped_today: int
    channel_pending: int
    outbox_failed: int


def dashboard_counts(*, now: datetime, day_start: datetime) -> DashboardCounts:
    """The day's work, in four queries: orders to fulfill, on hold, late against their ship-by,
    orders shipped since `day_start`; vendor orders waiting in the channels' queue; outbox
    deliveries that failed for good."""
    from colis.channels.models import ChannelOrder, ImportState
    from colis.core.models import OutboxMessage, OutboxStatus
    from colis.fulfillment.models import Shipment

    open_orders = Order.objects.filter(fulfillment_status__in=NOT_SHIPPED).exclude(
        status=_CANCELLED
    )
    counts = open_orders.aggregate(
        to_fulfill=Count("pk", filter=Q(fulfillment_status__in=TO_FULFILL)),
        on_hold=Count("pk", filter=Q(fulfillment_status=FulfillmentStatus.ON_HOLD)),
        late=Count("pk", filter=Q(ship_by__lt=now)),
    )
    shipped = (
        Shipment.objects.filter(shipped_at__gte=day_start).values("order_id").distinct().count()
    )
    pending = ChannelOrder.objects.filter(state=ImportState.PENDING).count()
    failed = OutboxMessage.objects.filter(status=OutboxStatus.FAILED).count()
    return DashboardCounts(
        to_fulfill=counts["to_fulfill"],
        on_hold=counts["on_hold"],
        late=counts["late"],
        shipped_today=shipped,
        channel_pending=pending,
        outbox_failed=failed,
    )


def activity_per_day(*, since: datetime, tz: tzinfo) -> dict[date, tuple[int, int]]:
    """Orders created and shipments shipped per day (in `tz`) since `since`: two grouped
    queries, days without either left out."""
    from colis.fulfillment.models import Shipment

    out: dict[date, list[int]] = {}
    created = (
        Order.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    for day, n in created:
        out.setdefault(day, [0, 0])[0] = n
    shipped = (
        Shipment.objects.filter(shipped_at__gte=since)
        .annotate(day=TruncDate("shipped_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    for day, n in shipped:
        out.setdefault(day, [0, 0])[1] = n
    return {day: (a, b) for day, (a, b) in out.items()}


ORDER_EXPORT_HEADER = (
    "id", "number", "channel", "external_id", "created_at", "status", "status_label",
    "fulfillment_status", "financial_status", "email", "buyer_name", "ship_to_name",
    "ship_to_company", "ship_to_line1", "ship_to_line2", "ship_to_city", "ship_to_region",
    "ship_to_postal_code", "ship_to_country", "ship_to_phone", "currency", "subtotal",
    "shipping_price", "tax_total", "discount_total", "total", "shipping_method", "ship_by",
    "items", "quantity", "quantity_fulfilled", "tags", "note",
)  # fmt: skip
_ADDRESS_KEYS = ("name", "company", "line1", "line2", "city", "region", "postal_code",
                 "country", "phone")  # fmt: skip


def order_export_rows(order_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """These orders as rows of ORDER_EXPORT_HEADER (the API's orders export columns), read a
    thousand at a time."""
    labels = status_labels()
    for start in range(0, len(order_ids), 1000):
        chunk = list(order_ids[start : start + 1000])
        orders = Order.objects.filter(pk__in=chunk).order_by("pk")
        lines: dict[int, list[OrderLine]] = {}
        for ln in OrderLine.objects.filter(order_id__in=chunk).order_by("order_id", "position"):
            lines.setdefault(ln.order_id, []).append(ln)
        for o in orders:
            yield order_export_row(o, lines.get(o.pk, []), labels)


def order_export_row(
    o: Order, mine: Sequence[OrderLine], labels: dict[int, str]
) -> tuple[Any, ...]:
    """One order (with its lines) as a row of ORDER_EXPORT_HEADER."""
    address = o.shipping_address or {}
    return (
        o.pk, o.number, o.channel, o.external_id, o.created_at, STATUS_NAMES[o.status],
        labels.get(o.status, ""), o.fulfillment_status, o.financial_status, o.email,
        o.buyer_name, *(address.get(k, "") for k in _ADDRESS_KEYS), o.currency,
        o.subtotal, o.shipping_price, o.tax_total, o.discount_total, o.total,
        o.shipping_method, o.ship_by,
        "; ".join(f"{ln.sku} x {ln.quantity}" for ln in mine),
        sum(ln.quantity for ln in mine), sum(ln.quantity_fulfilled for ln in mine),
        ", ".join(str(t) for t in o.tags or ()), o.note,
    )  # fmt: skip


def order_channel_choices() -> list[str]:
    """The channels the list's filter offers: the local ones (API, CSV, manual, demo) and every
    connected channel by name. One query."""
    from colis.channels.models import Channel

    local = ["api", "csv", "manual", "demo"]
    names = Channel.objects.order_by("name").values_list("name", flat=True)
    return [*local, *(n for n in names if n not in local)]


def order_list_export_rows(query: OrderListQuery) -> Iterator[tuple[Any, ...]]:
    """Every order the list's query finds, oldest first, as export rows; ids are read a thousand
    at a time by keyset, so memory stays flat."""
    qs = order_list_queryset(query).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last)[:1000])
        if not ids:
            return
        yield from order_export_rows(ids)
        last = ids[-1]


def order_events_latest(*, order_id: int, limit: int) -> list[Event]:
    """The order's latest `limit + 1` events, newest first (the extra one says there are more)."""
    return list(Event.objects.filter(order_id=order_id).order_by("-pk")[: limit + 1])


def order_list_ids(query: OrderListQuery, *, limit: int) -> list[int]:
    """The ids of the orders the list's query finds, oldest first, at most `limit` (ask one more
    than allowed to tell that there are too many)."""
    return list(order_list_queryset(query).order_by("pk").values_list("pk", flat=True)[:limit])
