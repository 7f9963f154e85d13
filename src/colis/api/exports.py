"""HTTP API: exports of orders, shipments and sync records as CSV or XLSX, streamed.

Rows are read in keyset pages of `PAGE` (two or three queries a page), written as they come and
sent as they are written, so memory stays flat whatever the size of the export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Router

from colis.accounts.roles import READ
from colis.api.auth import require
from colis.api.filters import order_filters
from colis.api.pagination import Id
from colis.channels.models import Channel, SyncRecord
from colis.core.errors import NotFound
from colis.core.exports import csv_stream, xlsx_stream
from colis.fulfillment.models import Shipment, ShipmentLine
from colis.orders.models import OrderLine
from colis.orders.selectors import (
    ORDER_EXPORT_HEADER,
    OrderFilters,
    order_export_row,
    order_queryset,
    status_labels,
)

router = Router(tags=["exports"])
PAGE = 1_000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

ORDER_HEADER = ORDER_EXPORT_HEADER
SHIPMENT_HEADER = (
    "id", "order_id", "order_number", "fulfillment_order_id", "location_id", "status",
    "carrier", "carrier_name", "service", "tracking_numbers", "tracking_urls", "ship_date",
    "shipped_at", "delivered_at", "cancelled_at", "items", "quantity", "weight_grams", "notes",
    "created_at",
)  # fmt: skip
SYNC_HEADER = (
    "id", "channel_id", "channel", "direction", "operation", "state", "order_id",
    "shipment_id", "vendor_id", "message", "attempts", "next_retry_at", "created_at",
    "updated_at",
)  # fmt: skip


def _pages(qs: QuerySet[Any]) -> Iterator[list[Any]]:
    """The queryset's rows in id order, one page per query (keyset, so no OFFSET scans)."""
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).order_by("pk")[:PAGE])
        if not rows:
            return
        yield rows
        last = rows[-1].pk
        if len(rows) < PAGE:
            return


def _items(pairs: Sequence[tuple[str, int]]) -> str:
    return "; ".join(f"{sku} x {qty}" for sku, qty in pairs)


def order_rows(filters: OrderFilters) -> Iterator[tuple[Any, ...]]:
    labels = status_labels()
    for page in _pages(order_queryset(filters)):
        lines: dict[int, list[OrderLine]] = {}
        for ln in OrderLine.objects.filter(order_id__in=[o.pk for o in page]).order_by(
            "order_id", "position"
        ):
            lines.setdefault(ln.order_id, []).append(ln)
        for o in page:
            yield order_export_row(o, lines.get(o.pk, []), labels)


def shipment_rows(filters: OrderFilters, status: str, carrier: str) -> Iterator[tuple[Any, ...]]:
    qs = Shipment.objects.select_related("order").only(
        *(f.name for f in Shipment._meta.concrete_fields), "order__number"
    )
    if filters != OrderFilters():
        qs = qs.filter(order__in=order_queryset(filters).values("pk"))
    if status:
        qs = qs.filter(status__in=[s.strip() for s in status.split(",") if s.strip()])
    if carrier:
        qs = qs.filter(carrier=carrier.strip().lower())
    for page in _pages(qs):
        lines: dict[int, list[tuple[str, int]]] = {}
        for shipment_id, sku, qty in (
            ShipmentLine.objects.filter(shipment_id__in=[s.pk for s in page])
            .order_by("pk")
            .values_list("shipment_id", "sku", "quantity")
        ):
            lines.setdefault(shipment_id, []).append((sku, qty))
        for s in page:
            mine = lines.get(s.pk, [])
            yield (
                s.pk, s.order_id, s.order.number, s.fulfillment_order_id, s.location_id,
                s.status, s.carrier, s.carrier_name, s.service,
                " ".join(str(n) for n in s.tracking_numbers or ()),
                " ".join(str(u) for u in s.tracking_urls or ()), s.ship_date, s.shipped_at,
                s.delivered_at, s.cancelled_at, _items(mine), sum(q for _, q in mine),
                (s.package or {}).get("weight_grams"), s.notes, s.created_at,
            )  # fmt: skip


def sync_rows(channel_id: int | None, direction: str, state: str) -> Iterator[tuple[Any, ...]]:
    names = dict(Channel.objects.values_list("pk", "name"))
    qs = SyncRecord.objects.defer("request", "response")
    if channel_id is not None:
        if channel_id not in names:
            raise NotFound("No such channel.", code="channel_not_found")
        qs = qs.filter(channel_id=channel_id)
    if direction:
        qs = qs.filter(direction=direction)
    if state:
        qs = qs.filter(state=state)
    for page in _pages(qs):
        for r in page:
            yield (
                r.pk, r.channel_id, names.get(r.channel_id, ""), r.direction, r.operation,
                r.state, r.order_id, r.shipment_id, r.vendor_id, r.message, r.attempts,
                r.next_retry_at, r.created_at, r.updated_at,
            )  # fmt: skip


def _primed(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Read the first row now, so a bad filter is a 4xx before the response starts."""
    try:
        first = next(rows)
    except StopIteration:
        return iter(())

    def chain() -> Iterator[tuple[Any, ...]]:
        yield first
        yield from rows

    return chain()


def _respond(
    name: str, fmt: str, header: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> StreamingHttpResponse:
    rows = _primed(rows)
    body = csv_stream(header, rows) if fmt == "csv" else xlsx_stream(name, header, rows)
    response = StreamingHttpResponse(body, content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def _order_export(fmt: str) -> Callable[..., Any]:
    def view(
        request: HttpRequest,
        status: str = "",
        fulfillment_status: str = "",
        channel: str = "",
        q: str = "",
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        location: Id | None = None,
        location_id: Id | None = None,
    ) -> Any:
        require(request, READ)
        filters = order_filters(
            status=status,
            fulfillment_status=fulfillment_status,
            channel=channel,
            q=q,
            created_after=created_after,
            created_before=created_before,
            location_id=location_id if location_id is not None else location,
        )
        return _respond("orders", fmt, ORDER_HEADER, order_rows(filters))

    return view


def _shipment_export(fmt: str) -> Callable[..., Any]:
    def view(
        request: HttpRequest,
        status: str = "",
        fulfillment_status: str = "",
        channel: str = "",
        q: str = "",
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        location: Id | None = None,
        location_id: Id | None = None,
        shipment_status: str = "",
        carrier: str = "",
    ) -> Any:
        require(request, READ)
        filters = order_filters(
            status=status,
            fulfillment_status=fulfillment_status,
            channel=channel,
            q=q,
            created_after=created_after,
            created_before=created_before,
            location_id=location_id if location_id is not None else location,
        )
        rows = shipment_rows(filters, shipment_status[:200], carrier[:50])
        return _respond("shipments", fmt, SHIPMENT_HEADER, rows)

    return view


def _sync_export(fmt: str) -> Callable[..., Any]:
    def view(
        request: HttpRequest,
        channel_id: Id | None = None,
        direction: str = "",
        state: str = "",
    ) -> Any:
        require(request, READ)
        rows = sync_rows(channel_id, direction[:10], state[:10])
        return _respond("sync-records", fmt, SYNC_HEADER, rows)

    return view


for _fmt in FORMATS:
    router.get(f"/orders.{_fmt}", summary=f"Orders as {_fmt.upper()} (the order list's filters)",
               operation_id=f"exports_orders_{_fmt}")(_order_export(_fmt))  # fmt: skip
    router.get(f"/shipments.{_fmt}", summary=f"Shipments as {_fmt.upper()}",
               operation_id=f"exports_shipments_{_fmt}")(_shipment_export(_fmt))  # fmt: skip
    router.get(f"/sync-records.{_fmt}", summary=f"Channel sync records as {_fmt.upper()}",
               operation_id=f"exports_sync_records_{_fmt}")(_sync_export(_fmt))  # fmt: skip
