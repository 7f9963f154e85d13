"""Reads for documents: which orders a print run covers, and their data in chunks (a few queries
per chunk, never one per order), as the plain values templates and renderers take."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from colis.catalog.models import GRAMS_PER_UNIT
from colis.core.errors import NotFound, ValidationError
from colis.core.shop import shop_snapshot
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment, ShipmentLine
from colis.fulfillment.status import FOStatus, ShipmentStatus
from colis.inventory.models import InventoryLevel
from colis.locations.models import Location
from colis.orders.models import Order, OrderLine
from colis.orders.selectors import OrderFilters, order_queryset

MAX_ORDERS = 10_000
CHUNK = 250
GROUPS = ("fulfillment_order", "order")
# FOs whose lines are waiting on a shelf to be picked.
PICKABLE = (FOStatus.OPEN, FOStatus.IN_PROGRESS)


def document_order_ids(
    *, order_ids: Sequence[int] | None = None, filters: OrderFilters | None = None
) -> list[int]:
    """The orders a print run covers: the given ids (in their order, once each) or those the
    filters match (oldest first). Raises ValidationError: unknown ids, none, more than 10,000."""
    if order_ids:
        wanted = list(dict.fromkeys(order_ids))
        if len(wanted) > MAX_ORDERS:
            raise _too_many(len(wanted))
        found: set[int] = set()
        for start in range(0, len(wanted), 2000):
            part = wanted[start : start + 2000]
            found.update(Order.objects.filter(pk__in=part).values_list("pk", flat=True))
        missing = [i for i in wanted if i not in found]
        if missing:
            raise ValidationError(
                f"{len(missing)} of these orders do not exist.",
                code="orders_not_found",
                fields={"order_ids": missing[:20]},
            )
        return wanted
    ids = list(
        order_queryset(filters or OrderFilters())
        .order_by("pk")
        .values_list("pk", flat=True)[: MAX_ORDERS + 1]
    )
    if len(ids) > MAX_ORDERS:
        raise _too_many(len(ids), more=True)
    if not ids:
        raise ValidationError("No order matches.", code="no_orders", fields={"filter": "None."})
    return ids


def order_require(order_id: int) -> None:
    """Raises NotFound unless the order exists."""
    if not Order.objects.filter(pk=order_id).exists():
        raise NotFound("No such order.", code="order_not_found")


def _too_many(count: int, more: bool = False) -> ValidationError:
    return ValidationError(
        f"At most {MAX_ORDERS:,} orders per document.",
        code="too_many_orders",
        fields={"order_ids": f"{'More than ' if more else ''}{count:,} orders."},
    )


def _clean(value: Any) -> str:
    """One line of text that cannot break the markup (no line breaks, no column bars)."""
    return " ".join(str(value or "").split()).replace("|", "/")


def address_lines(address: dict[str, Any] | None) -> list[str]:
    a = {k: _clean(v) for k, v in (address or {}).items()}
    country = a.get("country", "")
    if country in ("US", "CA", "AU"):
        place = ", ".join(x for x in (a.get("city", ""), a.get("region", "")) if x)
        place = f"{place} {a.get('postal_code', '')}".strip()
    else:
        place = f"{a.get('postal_code', '')} {a.get('city', '')}".strip()
        if a.get("region"):
            place = f"{place}, {a['region']}" if place else a["region"]
    lines = [a.get("name", ""), a.get("company", ""), a.get("line1", ""), a.get("line2", "")]
    return [x for x in (*lines, place, country) if x]


@dataclass(frozen=True, kw_only=True, slots=True)
class Places:
    """The locations (name, address lines) and the shop as a sender."""

    names: dict[int, str]
    addresses: dict[int, list[str]]
    shop: dict[str, Any]


def places_load() -> Places:
    """Two queries: the locations, the shop. The shop's address is its default location's."""
    names, addresses = {}, {}
    default = None
    for pk, name, address, is_default in Location.objects.values_list(
        "pk", "name", "address", "is_default"
    ):
        names[pk] = _clean(name)
        addresses[pk] = address_lines({**(address or {}), "name": ""})
        if is_default:
            default = pk
    shop = shop_snapshot()
    return Places(
        names=names,
        addresses=addresses,
        shop={
            "name": _clean(shop.name),
            "address_lines": addresses.get(default, []) if default else [],
        },
    )


def _bins(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """(product id, location id) -> bin, where one is set."""
    if not pairs:
        return {}
    rows = InventoryLevel.objects.filter(
        product_id__in={p for p, _ in pairs}, location_id__in={loc for _, loc in pairs}
    ).exclude(bin="")
    return {(p, loc): b for p, loc, b in rows.values_list("product_id", "location_id", "bin")}


def _order_dict(row: dict[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    return {
        "id": row["id"],
        "number": _clean(row["number"]),
        "date": timezone.localtime(created).date().isoformat() if created else "",
        "email": _clean(row["email"]),
        "phone": _clean(row["phone"]),
        "buyer_name": _clean(row["buyer_name"]),
        "shipping_method": _clean(row["shipping_method"]),
        "note": _clean(row["note"]),
        "tags": [_clean(t) for t in row["tags"] or []],
        "shipping_address": row["shipping_address"] or {},
        "shipping_address_lines": address_lines(row["shipping_address"]),
    }


ORDER_FIELDS = (
    "id", "number", "created_at", "email", "phone", "buyer_name", "shipping_method", "note",
    "tags", "shipping_address",
)  # fmt: skip


def slip_chunks(
    order_ids: Sequence[int],
    *,
    places: Places,
    location_id: int | None = None,
    group_by: str = "fulfillment_order",
    chunk: int = CHUNK,
) -> Iterator[list[dict[str, Any]]]:
    """Packing-slip contexts, a list per chunk of orders, in the orders' order: one per FO that
    is not cancelled (only at `location_id` when given), or one per order when `group_by` is
    "order" or the order has no such FO. Five queries per chunk."""
    for start in range(0, len(order_ids), chunk):
        ids = list(order_ids[start : start + chunk])
        orders = {r["id"]: r for r in Order.objects.filter(pk__in=ids).values(*ORDER_FIELDS)}
        lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in (
            OrderLine.objects.filter(order_id__in=ids)
            .order_by("position", "pk")
            .values_list("order_id", "pk", "sku", "title", "quantity", "quantity_cancelled",
                         "product_id", "product__title")
        ):  # fmt: skip
            lines[row[0]].append(row)
        fos_qs = FulfillmentOrder.objects.filter(order_id__in=ids).exclude(
            status=FOStatus.CANCELLED
        )
        if location_id is not None:
            fos_qs = fos_qs.filter(location_id=location_id)
        fos: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for fo_id, order_id, loc in fos_qs.order_by("pk").values_list(
            "pk", "order_id", "location_id"
        ):
            fos[order_id].append((fo_id, loc))
        fo_lines: dict[int, dict[int, int]] = defaultdict(dict)
        for fo_id, line_id, qty in FulfillmentOrderLine.objects.filter(
            fulfillment_order_id__in=[f for group in fos.values() for f, _ in group]
        ).values_list("fulfillment_order_id", "order_line_id", "quantity"):
            if qty:
                fo_lines[fo_id][line_id] = qty
        pairs = {
            (ln[6], loc) for oid, group in fos.items() for _, loc in group for ln in lines[oid]
        }
        bins = _bins(pairs)
        out = []
        for oid in ids:
            row = orders.get(oid)
            if row is None:
                continue
            order = _order_dict(row)
            base = {"shop": places.shop, "order": order}
            group = fos.get(oid, [])
            if group and group_by == "fulfillment_order":
                for fo_id, loc in group:
                    items = [
                        _item(ln, fo_lines[fo_id][ln[1]], bins.get((ln[6], loc), ""))
                        for ln in lines[oid]
                        if ln[1] in fo_lines[fo_id]
                    ]
                    fo = {"id": fo_id, "location": places.names.get(loc, "")}
                    out.append(_slip(base, fo, items))
            elif group:
                items = []
                for ln in lines[oid]:
                    held = [(fo_lines[f].get(ln[1], 0), loc) for f, loc in group]
                    qty = sum(q for q, _ in held)
                    if qty:
                        where = next((bins[(ln[6], loc)] for q, loc in held
                                      if q and (ln[6], loc) in bins), "")  # fmt: skip
                        items.append(_item(ln, qty, where))
                out.append(_slip(base, None, items))
            else:
                items = [_item(ln, ln[4] - ln[5], "") for ln in lines[oid] if ln[4] - ln[5] > 0]
                out.append(_slip(base, None, items))
        yield out


def _item(line: tuple[Any, ...], quantity: int, bin_: str) -> dict[str, Any]:
    return {
        "sku": _clean(line[2]),
        "title": _clean(line[3] or line[7]),
        "quantity": quantity,
        "ordered": line[4],
        "bin": _clean(bin_),
    }


def _slip(
    base: dict[str, Any], fo: dict[str, Any] | None, items: list[dict[str, Any]]
) -> dict[str, Any]:
    return {**base, "fulfillment_order": fo, "items": items,
            "total_quantity": sum(i["quantity"] for i in items)}  # fmt: skip


@dataclass(kw_only=True, slots=True)
class PickRow:
    location: str
    bin: str
    sku: str
    title: str
    quantity: int = 0
    orders: list[str] = field(default_factory=list)


def pick_rows(
    order_ids: Sequence[int], *, places: Places, location_id: int | None = None
) -> list[PickRow]:
    """What is left to pick in the open FOs of these orders, summed per SKU and location,
    sorted by location, then bin (rows without a bin last), then SKU. Three queries per chunk
    of orders."""
    rows: dict[tuple[int, int], PickRow] = {}
    for start in range(0, len(order_ids), CHUNK * 4):
        ids = list(order_ids[start : start + CHUNK * 4])
        numbers = dict(Order.objects.filter(pk__in=ids).values_list("pk", "number"))
        qs = FulfillmentOrderLine.objects.filter(
            fulfillment_order__order_id__in=ids, fulfillment_order__status__in=PICKABLE
        )
        if location_id is not None:
            qs = qs.filter(fulfillment_order__location_id=location_id)
        found = list(
            qs.order_by("fulfillment_order__order_id", "pk").values_list(
                "fulfillment_order__order_id", "fulfillment_order__location_id", "product_id",
                "sku", "quantity", "quantity_fulfilled", "order_line__title",
            )
        )  # fmt: skip
        bins = _bins({(r[2], r[1]) for r in found})
        for order_id, loc, product_id, sku, qty, done, title in found:
            left = qty - done
            if left <= 0:
                continue
            key = (loc, product_id)
            row = rows.get(key)
            if row is None:
                row = rows[key] = PickRow(
                    location=places.names.get(loc, str(loc)),
                    bin=_clean(bins.get((product_id, loc), "")),
                    sku=_clean(sku),
                    title=_clean(title),
                )
            row.quantity += left
            number = _clean(numbers.get(order_id, ""))
            if not row.orders or row.orders[-1] != number:
                row.orders.append(number)
    titles = _titles({pid for _, pid in rows if not rows[(_, pid)].title})
    for (_, pid), row in rows.items():
        row.title = row.title or titles.get(pid, "")
    return sorted(rows.values(), key=lambda r: (r.location, r.bin == "", r.bin, r.sku))


def _titles(product_ids: set[int]) -> dict[int, str]:
    from colis.catalog.models import Product

    if not product_ids:
        return {}
    return {pk: _clean(t) for pk, t in Product.objects.filter(pk__in=product_ids).values_list(
        "pk", "title")}  # fmt: skip


def label_chunks(
    order_ids: Sequence[int], *, places: Places, location_id: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """One label per tracking number (or per shipment without one) of the orders' shipments
    that are not cancelled. Colis buys no carrier labels, so every shipment gets one. Three
    queries per chunk."""
    for start in range(0, len(order_ids), CHUNK):
        ids = list(order_ids[start : start + CHUNK])
        orders = dict(Order.objects.filter(pk__in=ids).values_list("pk", "shipping_address"))
        qs = Shipment.objects.filter(order_id__in=ids).exclude(status=ShipmentStatus.CANCELLED)
        if location_id is not None:
            qs = qs.filter(location_id=location_id)
        shipments = list(
            qs.order_by("order_id", "pk").values_list(
                "pk", "order_id", "order__number", "location_id", "carrier", "carrier_name",
                "service", "tracking_numbers", "package",
            )
        )  # fmt: skip
        weights: dict[int, float] = defaultdict(float)
        for sid, qty, weight, unit in ShipmentLine.objects.filter(
            shipment_id__in=[s[0] for s in shipments]
        ).values_list(
            "shipment_id", "quantity", "order_line__product__weight",
            "order_line__product__weight_unit",
        ):  # fmt: skip
            if weight is not None:
                weights[sid] += float(weight) * GRAMS_PER_UNIT.get(unit, 1.0) * qty
        out = []
        for sid, oid, number, loc, carrier, carrier_name, service, tracking, package in shipments:
            grams = (package or {}).get("weight_grams") or weights.get(sid) or 0
            base = {
                "shipment_id": sid,
                "order_number": _clean(number),
                "ship_from": [places.names.get(loc, ""), *places.addresses.get(loc, [])],
                "ship_to": address_lines(orders.get(oid)),
                "carrier": _clean(carrier_name or carrier),
                "service": _clean(service),
                "weight": _weight(float(grams)),
            }
            for number_ in tracking or [""]:
                out.append({**base, "tracking_number": _clean(number_)})
        yield out


def _weight(grams: float) -> str:
    if grams <= 0:
        return ""
    return f"{grams / 1000:.2f} kg" if grams >= 1000 else f"{grams:.0f} g"
