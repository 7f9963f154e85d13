"""Raw reads and writes for the shipping hot path, where compiling ORM queries costs more than
running them. Each function is one statement; the models stay the source of the table shapes."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from colis.core.bulk import bulk_insert
from colis.core.locks import lock_rows_sql
from colis.core.sql import fetch_all, in_list
from colis.fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    Shipment,
    ShipmentLine,
)
from colis.orders.models import Order, OrderLine

FO_TABLE = FulfillmentOrder._meta.db_table
FO_LINE_TABLE = FulfillmentOrderLine._meta.db_table
ORDER_LINE_TABLE = OrderLine._meta.db_table
ORDER_TABLE = Order._meta.db_table
SHIPMENT_COLUMNS = (
    "order",
    "fulfillment_order",
    "location",
    "status",
    "carrier",
    "carrier_name",
    "service",
    "tracking_numbers",
    "tracking_urls",
    "package",
    "notes",
    "ship_date",
    "notify_customer",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "created_at",
    "updated_at",
)
SHIPMENT_LINE_COLUMNS = ("shipment", "fulfillment_order_line", "order_line", "sku", "quantity")


def order_lock_brief(order_id: int) -> Order | None:
    """Lock the order row; an Order with the few fields shipping reads (id, channel, email,
    number), or None."""
    rows = lock_rows_sql(
        f"SELECT id, channel, email, number FROM {ORDER_TABLE}", "id = %s", [order_id]
    )
    if not rows:
        return None
    pk, channel, email, number = rows[0]
    return Order(pk=pk, channel=channel, email=email, number=number)


_FO_SELECT = (
    "SELECT fo.id, fo.order_id, fo.location_id, fo.status, fo.request_status, "
    "fo.commits_stock, fo.reject_reason, fo.created_at, fo.updated_at, "
    "l.id, l.order_line_id, l.product_id, l.sku, l.quantity, l.quantity_fulfilled "
    f"FROM {FO_TABLE} fo LEFT JOIN {FO_LINE_TABLE} l ON l.fulfillment_order_id = fo.id"
)


def _fos_from_rows(rows: Sequence[tuple]) -> dict[int, FulfillmentOrder]:
    """FOs from `_FO_SELECT` rows, each with its lines (by id) in its prefetch cache."""
    fos: dict[int, FulfillmentOrder] = {}
    lines: dict[int, list[FulfillmentOrderLine]] = {}
    for row in rows:
        pk = row[0]
        if pk not in fos:
            order_id, location_id, status, request, commits, reason, created, updated = row[1:9]
            fos[pk] = FulfillmentOrder(
                pk=pk,
                order_id=order_id,
                location_id=location_id,
                status=status,
                request_status=request,
                commits_stock=bool(commits),
                reject_reason=reason,
                created_at=created,
                updated_at=updated,
            )
            lines[pk] = []
        if row[9] is not None:
            lines[pk].append(
                FulfillmentOrderLine(
                    pk=row[9],
                    fulfillment_order_id=pk,
                    order_line_id=row[10],
                    product_id=row[11],
                    sku=row[12],
                    quantity=row[13],
                    quantity_fulfilled=row[14],
                )
            )
    for pk, fo in fos.items():
        fo._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "lines": sorted(lines[pk], key=lambda ln: ln.pk)
        }
    return fos


def fo_with_lines(*, fo_id: int, order_id: int) -> FulfillmentOrder | None:
    """The FO of this order with its lines in its prefetch cache (one query), or None."""
    rows = fetch_all(f"{_FO_SELECT} WHERE fo.id = %s AND fo.order_id = %s", [fo_id, order_id])
    return _fos_from_rows(rows).get(fo_id)


def fos_with_lines_locked(order_ids: Sequence[int]) -> dict[int, FulfillmentOrder]:
    """Lock these (locked) orders' FOs in id order and read them with their lines (in their
    prefetch cache), one query."""
    if not order_ids:
        return {}
    rows = lock_rows_sql(
        _FO_SELECT, f"fo.order_id IN ({in_list(order_ids)})", list(order_ids), table="fo"
    )
    return _fos_from_rows(rows)


def fo_lines_fulfilled_write(lines: Sequence[FulfillmentOrderLine]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {FO_LINE_TABLE} SET quantity_fulfilled = %s WHERE id = %s",
            [(ln.quantity_fulfilled, ln.pk) for ln in lines],
        )


def order_lines_fulfilled_add(per_line: dict[int, int]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {ORDER_LINE_TABLE} SET quantity_fulfilled = quantity_fulfilled + %s "
            "WHERE id = %s",
            [(qty, line_id) for line_id, qty in per_line.items()],
        )


def fo_status_write(fo: FulfillmentOrder) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FO_TABLE} SET status = %s, updated_at = %s WHERE id = %s",
            [fo.status, fo.updated_at, fo.pk],
        )


def shipment_insert(shipment: Shipment, lines: list[ShipmentLine]) -> Shipment:
    """Insert the shipment and its lines; sets their ids and the shipment's lines cache."""
    values = {c: getattr(shipment, Shipment._meta.get_field(c).attname) for c in SHIPMENT_COLUMNS}
    [(pk,)] = bulk_insert(Shipment, SHIPMENT_COLUMNS, [tuple(values.values())], returning=("id",))
    shipment.pk = pk
    for ln in lines:
        ln.shipment_id = pk
    bulk_insert(
        ShipmentLine,
        SHIPMENT_LINE_COLUMNS,
        [(pk, ln.fulfillment_order_line_id, ln.order_line_id, ln.sku, ln.quantity) for ln in lines],
    )
    shipment._prefetched_objects_cache = {"lines": lines}  # type: ignore[attr-defined]
    return shipment
