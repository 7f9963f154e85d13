"""Many shipments at once (imports): the work of `shipment_create`, a few statements per batch.

Each draft goes through the same checks as `shipment_create`, in the given order and against
the quantities the earlier drafts of the batch left, so the outcome is the one the drafts would
have one by one. Then every write is one statement for the whole batch: shipments, their lines,
FO lines, order lines, FOs, timeline events, outbox rows, the orders' statuses and the stock.

The orders, then their FOs, then the stock levels are each locked once in primary-key order, so
two batches (or a batch and a single shipment) cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.bulk import bulk_insert
from colis.core.errors import DomainError, NotFound
from colis.core.locks import lock_rows_sql
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.sql import in_list
from colis.core.timeline import events_insert
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment, ShipmentLine
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.shipments import (
    ShipmentDraft,
    _check_shippable,
    _created_event,
    _draft_resolve,
    _effect_list,
    _fo_choose,
    _fo_move,
    _lines_chosen,
    _order_missing,
    _service_location,
    _shipment_build,
    _stock_changes,
    shipment_create,
)
from colis.fulfillment.status import LIVE_FO, PACKED
from colis.fulfillment.store import (
    FO_TABLE,
    ORDER_TABLE,
    SHIPMENT_COLUMNS,
    SHIPMENT_LINE_COLUMNS,
    fo_lines_fulfilled_write,
    fos_with_lines_locked,
    order_lines_fulfilled_add,
)
from colis.inventory.services import StockChange, inventory_apply, inventory_levels_lock
from colis.orders.models import Order

Result = Shipment | DomainError


@dataclass(slots=True)
class _Made:
    """One shipment that passed its checks, not yet written."""

    index: int
    order: Order
    fo: FulfillmentOrder
    fo_lines: dict[int, FulfillmentOrderLine]
    chosen: dict[int, int]
    shipment: Shipment
    lines: list[ShipmentLine]


class _StockRefused(Exception):
    """The batch's stock change was refused as a whole (a short level)."""


def shipments_create(*, items: Sequence[tuple[int, ShipmentDraft]], actor: Actor) -> list[Result]:
    """`shipment_create` for each (order id, draft), in one transaction: a Shipment, or the
    DomainError that refused it (the same code `shipment_create` raises), in `items` order.
    A refused shipment does not stop the others.

    Intended for batches of up to a few hundred shipments (each write is one statement). When a
    stock level would go short, the batch is made one by one so only the short shipments fail.
    Several shipments of one order in one batch record one status change, from its status before
    the batch to its status after.
    """
    results: list[Result | None] = [None] * len(items)
    resolved: dict[int, tuple[Any, dict[str, Any]]] = {}
    for i, (_, draft) in enumerate(items):
        try:
            resolved[i] = _draft_resolve(draft)
        except DomainError as exc:
            results[i] = exc
    with transaction.atomic():
        if resolved:
            try:
                with transaction.atomic():
                    _batch(items, resolved, results, actor)
            except _StockRefused:
                _one_by_one(items, sorted(resolved), results, actor)
    done = [r for r in results if r is not None]
    assert len(done) == len(items)
    return done


def _batch(
    items: Sequence[tuple[int, ShipmentDraft]],
    resolved: dict[int, tuple[Any, dict[str, Any]]],
    results: list[Result | None],
    actor: Actor,
) -> None:
    order_ids = sorted({items[i][0] for i in resolved})
    orders = _orders_lock(order_ids)
    fos = fos_with_lines_locked(sorted(orders))
    by_order: dict[int, list[FulfillmentOrder]] = {}
    for fo in fos.values():
        by_order.setdefault(fo.order_id, []).append(fo)
    own = _own_location(actor)
    now = timezone.now()
    made: list[_Made] = []
    for i, (tracking, package) in resolved.items():
        order_id, draft = items[i]
        try:
            order = orders.get(order_id)
            if order is None:
                raise _order_missing(actor)
            if isinstance(own, DomainError):
                raise own
            fo_id = draft.fulfillment_order_id
            found = fos.get(fo_id) if fo_id is not None else None
            if found is not None and found.order_id != order_id:
                found = None
            live = [fo for fo in by_order.get(order_id, []) if fo.status in LIVE_FO]
            fo = _fo_choose(fo_id, found, live, own)
            _check_shippable(fo, actor)
            fo_lines = {ln.pk: ln for ln in fo.lines.all()}
            chosen = _lines_chosen(fo, fo_lines, draft)
        except DomainError as exc:
            results[i] = exc
            continue
        shipment, lines = _shipment_build(
            order_id=order_id,
            fo=fo,
            fo_lines=fo_lines,
            chosen=chosen,
            draft=draft,
            tracking=tracking,
            package=package,
            now=now,
        )
        made.append(_Made(i, order, fo, fo_lines, chosen, shipment, lines))
        _fo_move(fo, fo_lines, chosen, +1, now)
    if made:
        _write(made, actor, now)
    for m in made:
        results[m.index] = m.shipment


def _own_location(actor: Actor) -> int | None | DomainError:
    """The service's location (None for anyone else), or the error every draft then gets."""
    try:
        return _service_location(actor)
    except NotFound as exc:
        return exc


def _write(made: list[_Made], actor: Actor, now: Any) -> None:
    _shipments_insert(made)
    fo_lines: dict[int, FulfillmentOrderLine] = {}
    per_line: dict[int, int] = {}
    touched: dict[int, FulfillmentOrder] = {}
    events: list[tuple[Any, ...]] = []
    effects: list[Effect] = []
    changes: list[StockChange] = []
    for m in made:
        for pk, qty in m.chosen.items():
            line = m.fo_lines[pk]
            fo_lines[pk] = line
            per_line[line.order_line_id] = per_line.get(line.order_line_id, 0) + qty
        touched[m.fo.pk] = m.fo
        events.append(_created_event(m.shipment, m.fo_lines, m.chosen, actor, now))
        if m.shipment.status not in PACKED:
            effects.extend(_effect_list(m.order, m.shipment, "created"))
            changes.extend(_stock_changes(m.fo, m.fo_lines, m.chosen, m.order.pk))
    fo_lines_fulfilled_write(list(fo_lines.values()))
    order_lines_fulfilled_add(per_line)
    _fos_status_write(list(touched.values()))
    events_insert(events)
    outbox_enqueue_many(effects)
    orders_progress(order_ids=sorted({m.order.pk for m in made}), actor=actor)
    if changes:
        # Last, so the stock rows stay locked for the shortest time.
        try:
            inventory_apply(changes=changes, actor=actor, savepoint=False)
        except DomainError as exc:
            raise _StockRefused from exc


def _shipments_insert(made: list[_Made]) -> None:
    """Insert the shipments and their lines; sets their ids and each shipment's lines cache."""
    rows = []
    for m in made:
        rows.append(tuple(getattr(m.shipment, Shipment._meta.get_field(c).attname)
                          for c in SHIPMENT_COLUMNS))  # fmt: skip
    returned = bulk_insert(Shipment, SHIPMENT_COLUMNS, rows, returning=("id", "fulfillment_order"))
    # An insert numbers its rows in the order it inserts them, which is the given order.
    returned.sort()
    if [fo_id for _, fo_id in returned] != [m.fo.pk for m in made]:
        raise RuntimeError("The inserted shipments came back in an unexpected order.")
    line_rows = []
    for (pk, _), m in zip(returned, made, strict=True):
        m.shipment.pk = pk
        for ln in m.lines:
            ln.shipment_id = pk
            line_rows.append(
                (pk, ln.fulfillment_order_line_id, ln.order_line_id, ln.sku, ln.quantity)
            )
        m.shipment._prefetched_objects_cache = {"lines": m.lines}  # type: ignore[attr-defined]
    bulk_insert(ShipmentLine, SHIPMENT_LINE_COLUMNS, line_rows)


def _fos_status_write(fos: list[FulfillmentOrder]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {FO_TABLE} SET status = %s, updated_at = %s WHERE id = %s",
            [(fo.status, fo.updated_at, fo.pk) for fo in fos],
        )


def _orders_lock(order_ids: list[int]) -> dict[int, Order]:
    """Lock the orders in id order; each with the few fields shipping reads."""
    if not order_ids:
        return {}
    rows = lock_rows_sql(
        f"SELECT id, channel, email, number FROM {ORDER_TABLE}",
        f"id IN ({in_list(order_ids)})",
        order_ids,
    )
    return {
        pk: Order(pk=pk, channel=channel, email=email, number=number)
        for pk, channel, email, number in rows
    }


def _one_by_one(
    items: Sequence[tuple[int, ShipmentDraft]],
    indexes: list[int],
    results: list[Result | None],
    actor: Actor,
) -> None:
    """Each shipment through `shipment_create` in its own savepoint. The batch's stock levels
    are locked first, in id order, as the batch would have locked them (rolling the batch back
    released its locks)."""
    orders = sorted(_orders_lock(sorted({items[i][0] for i in indexes})))
    fos = fos_with_lines_locked(orders)
    inventory_levels_lock(
        product_ids={ln.product_id for fo in fos.values() for ln in fo.lines.all()},
        location_ids={fo.location_id for fo in fos.values()},
    )
    for i in indexes:
        order_id, draft = items[i]
        try:
            results[i] = shipment_create(order_id=order_id, draft=draft, actor=actor)
        except DomainError as exc:
            results[i] = exc
