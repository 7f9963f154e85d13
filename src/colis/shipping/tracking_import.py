"""Tracking-number import: a carrier's (or a channel's) CSV of tracking numbers becomes shipments.

`tracking_import_check` (the dry run) and `tracking_import_apply` read the file the same way and
plan it with the same function, so the dry run reports exactly what the apply would do. The plan
reads orders, their live fulfillment orders and the tracking numbers they already carry in bulk,
a few queries per chunk of rows; the apply then makes the planned shipments a chunk at a time
through `shipments_create` (stock, timeline, buyer email, channel push and webhook through the
outbox), a few statements per chunk.

Rows sharing an order and a tracking number are one package: one shipment per fulfillment order
they draw from. A tracking number the order already carries makes its row "already applied": it
creates nothing, so the same file uploaded again creates nothing new.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from django.db import transaction

from colis.catalog.models import sku_key
from colis.core.actor import Actor
from colis.core.errors import DomainError, ValidationError
from colis.core.locks import lock_rows_sql
from colis.core.sql import fetch_all, in_list
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment
from colis.fulfillment.services import LinePick
from colis.fulfillment.shipments import MAX_NOTES, ShipmentDraft
from colis.fulfillment.shipments_batch import shipments_create
from colis.fulfillment.status import LIVE_FO, FOStatus, ShipmentStatus
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from colis.shipping.models import Carrier
from colis.shipping.resolve import ResolvedTracking, tracking_resolve
from colis.shipping.tracking import tracking_normalize

ORDER_TABLE = Order._meta.db_table
FO_TABLE = FulfillmentOrder._meta.db_table
FO_LINE_TABLE = FulfillmentOrderLine._meta.db_table
SHIPMENT_TABLE = Shipment._meta.db_table
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
CHUNK = 1_000
APPLY_CHUNK = 100
MAX_SERVICE = 100
# A row whose tracking number its order already carries: reported, not an error.
SKIPPED = "already_applied"

# Header names (lower case, words joined by "_") -> our column. BigCommerce's shipment export
# names the order "Order ID" (its own id: the order's external id here), the carrier "Tracking
# Carrier" and the shipping module "Shipping Provider".
HEADERS: dict[str, str] = {
    "order_number": "order_number",
    "order_no": "order_number",
    "order": "order_number",
    "number": "order_number",
    "channel_order_id": "channel_order_id",
    "external_id": "channel_order_id",
    "order_id": "channel_order_id",
    "tracking_number": "tracking_number",
    "tracking_no": "tracking_number",
    "tracking": "tracking_number",
    "tracking_code": "tracking_number",
    "carrier": "carrier",
    "tracking_carrier": "carrier",
    "shipping_provider": "provider",
    "shipping_provider_display_name": "provider_name",
    "service": "service",
    "shipping_method": "service",
    "ship_date": "ship_date",
    "date_shipped": "ship_date",
    "shipped_at": "ship_date",
    "shipped_date": "ship_date",
    "date_created": "created_date",
    "sku": "sku",
    "quantity": "quantity",
    "qty": "quantity",
    "notes": "notes",
    "note": "notes",
    "comments": "notes",
    "tracking_url": "tracking_url",
    "tracking_link": "tracking_url",
}
# BigCommerce shipping modules that stand for a registry carrier.
PROVIDER_ALIASES = {"upsready": "ups", "upsonline": "ups", "endicia": "usps"}


class FileTooLarge(ValidationError):
    http_status = 413


@dataclass(frozen=True, kw_only=True, slots=True)
class ImportRow:
    """One data row as read, numbered from 1 for the first data row."""

    row: int
    order_number: str = ""
    channel_order_id: str = ""
    tracking_number: str = ""
    carrier: str = ""
    service: str = ""
    ship_date: str = ""
    sku: str = ""
    quantity: str = ""
    notes: str = ""
    tracking_url: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RowIssue:
    row: int
    code: str
    message: str


@dataclass(kw_only=True, slots=True)
class PlannedShipment:
    """One shipment to make: from one FO, `picks` order line id -> quantity (None: all left)."""

    order_id: int
    fulfillment_order_id: int
    rows: list[int]
    picks: dict[int, int] | None
    tracking: ResolvedTracking
    service: str
    ship_date: date | None
    notes: str


@dataclass(kw_only=True, slots=True)
class ImportReport:
    dry_run: bool
    rows: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    skipped: list[RowIssue] = field(default_factory=list)
    shipments: list[PlannedShipment] = field(default_factory=list)
    created_shipment_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.rows - len({e.row for e in self.errors})

    @property
    def created_shipments(self) -> int:
        return len(self.created_shipment_ids)


# --- reading the file -------------------------------------------------------------------------


def _header_key(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else " " for ch in name.strip().lower())
    return "_".join(cleaned.split())


def tracking_import_read(*, data: bytes) -> list[ImportRow]:
    """The file's data rows. Raises FileTooLarge `file_too_large` / `too_many_rows` and
    ValidationError `empty_file`, `not_csv`, `invalid_encoding`, `missing_columns`."""
    if len(data) > MAX_BYTES:
        raise FileTooLarge(
            f"The file is larger than {MAX_BYTES // 2**20} MB; split it.",
            code="file_too_large",
            fields={"file": f"At most {MAX_BYTES} bytes."},
        )
    text = _decode(data)
    lines = iter(io.StringIO(text, newline=""))
    first = next(lines, "")
    if not first.strip():
        raise ValidationError(
            "The file is empty.", code="empty_file", fields={"file": "No header row."}
        )
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(_chain(first, lines), delimiter=delimiter)
    try:
        header = next(reader)
        columns = _columns(header)
        rows = [
            _row(n, raw, columns) for n, raw in _numbered(reader) if any(c.strip() for c in raw)
        ]
    except csv.Error as exc:
        raise ValidationError(
            f"The file is not valid CSV ({exc}).", code="not_csv", fields={"file": str(exc)}
        ) from None
    return rows


def _decode(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04" or data[:5] == b"%PDF-" or b"\x00" in data[:4096]:
        raise ValidationError(
            "This is not a CSV file (a spreadsheet or other binary file?); save it as CSV, UTF-8.",
            code="not_csv",
            fields={"file": "Not text."},
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"The file is not UTF-8 (byte {exc.start}); save it as CSV, UTF-8.",
            code="invalid_encoding",
            fields={"file": "Not UTF-8."},
        ) from None


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for n, raw in enumerate(reader, start=1):
        if n > MAX_ROWS:
            raise FileTooLarge(
                f"The file has more than {MAX_ROWS:,} rows; split it.",
                code="too_many_rows",
                fields={"file": f"At most {MAX_ROWS} rows."},
            )
        yield n, raw


def _columns(header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        ours = HEADERS.get(_header_key(name))
        if ours and ours not in columns:
            columns[ours] = i
    missing = []
    if "order_number" not in columns and "channel_order_id" not in columns:
        missing.append("order_number or channel_order_id")
    if "tracking_number" not in columns:
        missing.append("tracking_number")
    if missing:
        raise ValidationError(
            f"The header row lacks {' and '.join(missing)}.",
            code="missing_columns",
            fields={"file": {"missing": missing, "header": header[:50]}},
        )
    return columns


def _row(n: int, raw: list[str], columns: dict[str, int]) -> ImportRow:
    def get(name: str) -> str:
        i = columns.get(name)
        return raw[i].strip() if i is not None and i < len(raw) else ""

    carrier = get("carrier") or get("provider") or get("provider_name")
    return ImportRow(
        row=n,
        order_number=get("order_number"),
        channel_order_id=get("channel_order_id"),
        tracking_number=get("tracking_number"),
        carrier=PROVIDER_ALIASES.get(carrier.lower(), carrier),
        service=get("service"),
        ship_date=get("ship_date") or get("created_date"),
        sku=get("sku"),
        quantity=get("quantity"),
        notes=get("notes"),
        tracking_url=get("tracking_url"),
    )


# --- what the database holds for the file's orders --------------------------------------------


@dataclass(slots=True)
class _FOState:
    pk: int
    status: str
    # [FO line id, order line id, sku key, remaining]
    lines: list[list[Any]]


@dataclass(slots=True)
class _OrderState:
    pk: int
    number: str
    status: int
    fos: list[_FOState] = field(default_factory=list)
    tracking: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _World:
    by_number: dict[str, _OrderState] = field(default_factory=dict)
    by_external: dict[str, list[_OrderState]] = field(default_factory=dict)


def _world_load(rows: Sequence[ImportRow]) -> _World:
    """Orders named by the rows, with live FOs and known tracking numbers: four queries per
    chunk of 1,000 names (plain SQL: building ORM lookups over long IN lists costs more than
    running them)."""
    world = _World()
    numbers = sorted({_number_key(r.order_number) for r in rows if r.order_number})
    externals = sorted(
        {r.channel_order_id for r in rows if not r.order_number and r.channel_order_id}
    )
    states: dict[int, _OrderState] = {}
    select = f"SELECT id, number, status, external_id FROM {ORDER_TABLE} WHERE"
    for chunk in _chunks(numbers):
        for pk, number, status, _ in fetch_all(f"{select} number IN ({in_list(chunk)})", chunk):
            world.by_number[number] = states.setdefault(pk, _OrderState(pk, number, status))
    for chunk in _chunks(externals):
        for pk, number, status, ext in fetch_all(
            f"{select} external_id IN ({in_list(chunk)})", chunk
        ):
            state = states.setdefault(pk, _OrderState(pk, number, status))
            world.by_external.setdefault(ext, []).append(state)
    for chunk in _chunks(sorted(states)):
        _fos_load(chunk, states)
        for order_id, numbers_on in _tracking_on(chunk).items():
            states[order_id].tracking.update(numbers_on)
    return world


def _tracking_on(order_ids: list[int]) -> dict[int, set[str]]:
    """The tracking numbers of these orders' shipments (cancelled ones aside)."""
    found: dict[int, set[str]] = {}
    for order_id, raw in fetch_all(
        f"SELECT order_id, tracking_numbers FROM {SHIPMENT_TABLE} "
        f"WHERE order_id IN ({in_list(order_ids)}) AND status <> %s",
        [*order_ids, ShipmentStatus.CANCELLED.value],
    ):
        values = json.loads(raw) if isinstance(raw, str) else raw
        found.setdefault(order_id, set()).update(tracking_normalize(str(n)) for n in values or ())
    return found


def _fos_load(order_ids: list[int], states: dict[int, _OrderState]) -> None:
    fos: dict[int, _FOState] = {}
    live = sorted(s.value for s in LIVE_FO)
    for fo_id, order_id, status, line_id, order_line_id, sku, qty, done in fetch_all(
        "SELECT fo.id, fo.order_id, fo.status, l.id, l.order_line_id, l.sku, l.quantity, "
        f"l.quantity_fulfilled FROM {FO_TABLE} fo JOIN {FO_LINE_TABLE} l "
        f"ON l.fulfillment_order_id = fo.id WHERE fo.order_id IN ({in_list(order_ids)}) "
        f"AND fo.status IN ({in_list(live)}) ORDER BY fo.id, l.id",
        [*order_ids, *live],
    ):
        fo = fos.get(fo_id)
        if fo is None:
            fo = fos[fo_id] = _FOState(fo_id, status, [])
            states[order_id].fos.append(fo)
        fo.lines.append([line_id, order_line_id, sku_key(sku), qty - done])


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _number_key(value: str) -> str:
    return value.strip().lstrip("#")


# --- the plan -----------------------------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class _Group:
    """Rows of one order and one tracking number: one package."""

    order: _OrderState
    first_row: int
    rows: list[int] = field(default_factory=list)
    # FO id -> {order line id: quantity} or None for everything left in it
    picks: dict[int, dict[int, int] | None] = field(default_factory=dict)
    tracking: ResolvedTracking | None = None
    service: str = ""
    ship_date: date | None = None
    notes: str = ""
    failed: bool = False


def tracking_import_plan(*, rows: Sequence[ImportRow], dry_run: bool = True) -> ImportReport:
    """What importing these rows does: the shipments to make, the rows refused (each with a
    stable code) and the rows already applied. Reads only."""
    report = ImportReport(dry_run=dry_run, rows=len(rows))
    world = _world_load(rows)
    carriers = _CarrierCache()
    dates: dict[str, date | None] = {}
    groups: dict[tuple[int, str], _Group] = {}
    seen: dict[tuple[int, str, str], int] = {}
    for row in rows:
        try:
            order = _order_of(row, world)
            number = tracking_normalize(row.tracking_number)
            if not number:
                raise _RowError("tracking_number_required", "The tracking number is blank.")
            if number in order.tracking:
                report.skipped.append(
                    RowIssue(
                        row=row.row,
                        code=SKIPPED,
                        message=f"Order {order.number} already has tracking number {number}.",
                    )
                )
                continue
            _duplicate_check(row, order, number, seen)
            group = groups.get((order.pk, number))
            if group is None:
                group = groups[(order.pk, number)] = _Group(order=order, first_row=row.row)
            group.rows.append(row.row)
            try:
                _row_plan(row, order, number, group, carriers, dates)
            except _RowError:
                group.failed = True
                raise
        except _RowError as exc:
            report.errors.append(RowIssue(row=row.row, code=exc.code, message=exc.message))
    failed_rows = {e.row for e in report.errors}
    for group in groups.values():
        if group.failed:
            for n in group.rows:
                if n not in failed_rows:
                    report.errors.append(
                        RowIssue(
                            row=n,
                            code="shipment_incomplete",
                            message="Another row of this package (same order and tracking "
                            "number) has an error; none of its rows is applied.",
                        )
                    )
            continue
        assert group.tracking is not None
        for fo_id, picks in group.picks.items():
            report.shipments.append(
                PlannedShipment(
                    order_id=group.order.pk,
                    fulfillment_order_id=fo_id,
                    rows=group.rows,
                    picks=picks,
                    tracking=group.tracking,
                    service=group.service,
                    ship_date=group.ship_date,
                    notes=group.notes,
                )
            )
    report.errors.sort(key=lambda e: e.row)
    return report


def _order_of(row: ImportRow, world: _World) -> _OrderState:
    if row.order_number:
        found = world.by_number.get(_number_key(row.order_number))
        if found is None:
            raise _RowError("order_not_found", f"No order has the number {row.order_number!r}.")
        return found
    if not row.channel_order_id:
        raise _RowError("order_required", "Give an order number or a channel order id.")
    matches = world.by_external.get(row.channel_order_id, [])
    if not matches:
        raise _RowError(
            "order_not_found", f"No order has the channel order id {row.channel_order_id!r}."
        )
    if len(matches) > 1:
        raise _RowError(
            "order_ambiguous",
            f"Several orders ({', '.join(o.number for o in matches)}) have the channel order id "
            f"{row.channel_order_id!r}; use the order number.",
        )
    return matches[0]


def _duplicate_check(
    row: ImportRow, order: _OrderState, number: str, seen: dict[tuple[int, str, str], int]
) -> None:
    sku = sku_key(row.sku)
    earlier = seen.get((order.pk, number, sku))
    if earlier is None:
        # A row naming no SKU stands for the whole package: it clashes with any other row.
        earlier = seen.get((order.pk, number, "")) if sku else seen.get((order.pk, number, "*"))
    if earlier is not None:
        raise _RowError(
            "duplicate_row", f"Row {earlier} already gives tracking number {number} for this order."
        )
    seen[(order.pk, number, sku)] = row.row
    seen.setdefault((order.pk, number, "*"), row.row)


def _row_plan(
    row: ImportRow,
    order: _OrderState,
    number: str,
    group: _Group,
    carriers: _CarrierCache,
    dates: dict[str, date | None],
) -> None:
    if order.status in (OrderStatus.CANCELLED, OrderStatus.DECLINED):
        raise _RowError("order_cancelled", f"Order {order.number} is cancelled.")
    tracking = carriers.resolve(row.carrier, number, row.tracking_url)
    if group.tracking is not None and group.tracking.carrier_code != tracking.carrier_code:
        raise _RowError(
            "carrier_mismatch",
            f"Row {group.first_row} gives this tracking number with carrier "
            f"{group.tracking.carrier_code}.",
        )
    group.tracking = group.tracking or tracking
    if len(row.service) > MAX_SERVICE:
        raise _RowError("invalid_service", f"The service has more than {MAX_SERVICE} characters.")
    if len(row.notes) > MAX_NOTES:
        raise _RowError("invalid_notes", f"The notes have more than {MAX_NOTES} characters.")
    ship_date = _date(row.ship_date, dates)
    quantity = _quantity(row.quantity)
    if quantity is not None and not row.sku:
        raise _RowError("sku_required", "A quantity needs the SKU it counts.")
    _allocate(row, order, group, quantity)
    group.service = group.service or row.service
    group.ship_date = group.ship_date or ship_date
    group.notes = "\n".join(n for n in (group.notes, row.notes) if n)


def _quantity(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise _RowError("invalid_quantity", f"The quantity {raw!r} is not a whole number from 1.")
    return int(raw)


def _date(raw: str, cache: dict[str, date | None]) -> date | None:
    if not raw:
        return None
    if raw not in cache:
        cache[raw] = _date_parse(raw)
    found = cache[raw]
    if found is None:
        raise _RowError(
            "invalid_ship_date", f"The ship date {raw!r} is not a date (use YYYY-MM-DD)."
        )
    return found


def _date_parse(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(raw).date()  # BigCommerce: "Mon, 23 Sep 2024 14:21:24 +0000"
    except (TypeError, ValueError, IndexError):
        return None


def _allocate(row: ImportRow, order: _OrderState, group: _Group, quantity: int | None) -> None:
    """Take what the row ships off the order's remaining quantities (FOs oldest first)."""
    shippable = [fo for fo in order.fos if fo.status != FOStatus.ON_HOLD]
    held = [fo for fo in order.fos if fo.status == FOStatus.ON_HOLD]
    if not row.sku:
        if any(ln[3] for fo in held for ln in fo.lines):
            raise _RowError("order_on_hold", f"Order {order.number} is on hold.")
        taken = False
        for fo in shippable:
            if any(ln[3] for ln in fo.lines):
                group.picks[fo.pk] = None
                for ln in fo.lines:
                    ln[3] = 0
                taken = True
        if not taken:
            raise _RowError("nothing_to_ship", f"Nothing is left to ship on order {order.number}.")
        return
    key = sku_key(row.sku)
    lines = [(fo, ln) for fo in shippable for ln in fo.lines if ln[2] == key]
    held_left = sum(ln[3] for fo in held for ln in fo.lines if ln[2] == key)
    left = sum(ln[3] for _, ln in lines)
    if not lines and not held_left:
        raise _RowError("sku_not_in_order", f"SKU {row.sku!r} is not left in order {order.number}.")
    wanted = left if quantity is None else quantity
    if wanted > left or wanted == 0:
        if held_left:
            raise _RowError("order_on_hold", f"Order {order.number} is on hold.")
        if left == 0:
            raise _RowError("nothing_to_ship", f"Nothing of {row.sku} is left on {order.number}.")
        raise _RowError(
            "quantity_exceeds_remaining",
            f"Only {left} of {row.sku} left to ship on order {order.number}.",
        )
    for fo, ln in lines:
        take = min(wanted, ln[3])
        if not take:
            continue
        picks = group.picks.setdefault(fo.pk, {})
        if picks is None:  # the whole FO already goes in this package
            continue
        picks[ln[1]] = picks.get(ln[1], 0) + take
        ln[3] -= take
        wanted -= take
        if not wanted:
            break


class _CarrierCache:
    """The registry carrier for each distinct carrier value of the file, resolved once."""

    def __init__(self) -> None:
        self.codes: dict[str, str | None] = {}
        self.carriers: list[Carrier] | None = None

    def code(self, value: str) -> str | None:
        if value not in self.codes:
            if self.carriers is None:
                self.carriers = list(Carrier.objects.order_by("pk"))
            self.codes[value] = _carrier_code(value, self.carriers)
        return self.codes[value]

    def resolve(self, value: str, number: str, url: str) -> ResolvedTracking:
        code = self.code(value) if value else None
        if value and code is None:
            raise _RowError("unknown_carrier", f"No carrier is known as {value!r}.")
        try:
            return tracking_resolve(
                carrier=code, numbers=[number], urls=[url] if url else None, force=False
            )
        except DomainError as exc:
            raise _RowError(exc.code, _message(exc)) from None


def _carrier_code(value: str, carriers: list[Carrier]) -> str | None:
    """A registry code for a code, a name, or a channel's name for the carrier."""
    lowered = value.strip().lower()
    for carrier in carriers:
        if lowered in (carrier.code, carrier.name.lower()):
            return carrier.code
    for carrier in carriers:
        if any(str(v).lower() == lowered for v in (carrier.channel_codes or {}).values()):
            return carrier.code
    return None


def _message(exc: DomainError) -> str:
    details = [str(v) for v in exc.fields.values() if isinstance(v, str)]
    return " ".join([exc.message, *details])


# --- the services -------------------------------------------------------------------------------


def tracking_import_check(*, data: bytes, actor: Actor) -> ImportReport:
    """The dry run: the report the apply would give, changing nothing. Raises what
    `tracking_import_read` raises."""
    return tracking_import_plan(rows=tracking_import_read(data=data), dry_run=True)


def tracking_import_apply(*, data: bytes, actor: Actor) -> ImportReport:
    """Make the planned shipments through `shipments_create`, a chunk at a time. A shipment the
    database refuses at that moment (the order changed since the plan) turns its rows into
    errors and the rest goes on. Raises what `tracking_import_read` raises."""
    report = tracking_import_plan(rows=tracking_import_read(data=data), dry_run=False)
    state = _ApplyState()
    for start in range(0, len(report.shipments), APPLY_CHUNK):
        _apply_chunk(report.shipments[start : start + APPLY_CHUNK], report, state, actor)
    report.errors.sort(key=lambda e: e.row)
    report.skipped.sort(key=lambda e: e.row)
    return report


@dataclass(slots=True)
class _ApplyState:
    failed: set[int] = field(default_factory=set)
    made: set[tuple[int, str]] = field(default_factory=set)


def _apply_chunk(
    chunk: list[PlannedShipment], report: ImportReport, state: _ApplyState, actor: Actor
) -> None:
    """One transaction: lock the chunk's orders, read their tracking numbers again (another
    import of the same file may have run since the plan), make the shipments with one
    `shipments_create`. It locks the orders, their FOs and the stock levels each in one
    statement in primary-key order, so two imports cannot deadlock."""
    order_ids = sorted({p.order_id for p in chunk})
    with transaction.atomic():
        lock_rows_sql(f"SELECT id FROM {ORDER_TABLE}", f"id IN ({in_list(order_ids)})", order_ids)
        present = _tracking_on(order_ids)
        todo: list[PlannedShipment] = []
        for planned in chunk:
            number = planned.tracking.numbers[0]
            if state.failed.intersection(planned.rows):
                continue
            if number in present.get(planned.order_id, ()) and (
                (planned.order_id, number) not in state.made
            ):
                report.skipped.extend(
                    RowIssue(row=n, code=SKIPPED, message=f"The order already has {number}.")
                    for n in planned.rows
                )
                continue
            todo.append(planned)
        for planned, result in _create(todo, actor):
            if isinstance(result, DomainError):
                state.failed.update(planned.rows)
                report.errors.extend(
                    RowIssue(row=n, code=result.code, message=_message(result))
                    for n in planned.rows
                )
                continue
            state.made.add((planned.order_id, planned.tracking.numbers[0]))
            report.created_shipment_ids.append(result.pk)


class _Retry(Exception):
    pass


def _create(
    todo: list[PlannedShipment], actor: Actor
) -> list[tuple[PlannedShipment, Shipment | DomainError]]:
    """The chunk's shipments, each with its shipment or its error. A package drawing from
    several FOs is several shipments with the same rows: once one of them is refused, the later
    ones are not made (their rows are already errors), so a batch that made one is done again
    without it."""
    left_out: set[int] = set()
    while True:
        attempt = [k for k in range(len(todo)) if k not in left_out]
        try:
            with transaction.atomic():
                results = shipments_create(
                    items=[(todo[k].order_id, _draft(todo[k])) for k in attempt], actor=actor
                )
                failed: set[int] = set()
                late = set()
                for k, result in zip(attempt, results, strict=True):
                    rows = set(todo[k].rows)
                    if isinstance(result, DomainError):
                        failed |= rows
                    elif rows & failed:
                        late.add(k)
                if late:
                    left_out |= late
                    raise _Retry
        except _Retry:
            continue
        return [(todo[k], result) for k, result in zip(attempt, results, strict=True)]


def _draft(planned: PlannedShipment) -> ShipmentDraft:
    tracking = planned.tracking
    return ShipmentDraft(
        fulfillment_order_id=planned.fulfillment_order_id,
        lines=_picks(planned.picks.items()) if planned.picks is not None else None,
        carrier=tracking.carrier_code,
        carrier_name=tracking.carrier_name,
        service=planned.service,
        tracking_numbers=tracking.numbers,
        tracking_urls=tracking.urls or None,
        notes=planned.notes,
        ship_date=planned.ship_date,
    )


def _picks(items: Iterable[tuple[int, int]]) -> list[LinePick]:
    return [LinePick(line_id=line_id, quantity=qty) for line_id, qty in items]
