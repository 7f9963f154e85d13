"""Routing: turning orders' open lines into fulfillment orders and committing their stock.

`orders_route` is the one writer: it locks the levels involved (primary-key order, through the
inventory service), plans every request of the batch against the same stock so demand for one
SKU is summed, writes FOs, their lines and holds in bulk, commits stock and records one timeline
event per order. Lock order everywhere is orders first, then levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.bulk import bulk_insert
from colis.core.shop import shop_snapshot
from colis.core.sql import fetch_all
from colis.core.timeline import event_row, events_insert
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder, FulfillmentOrderLine
from colis.fulfillment.plan import PRIORITY, STRATEGIES, Site, Want, route_plan
from colis.fulfillment.services import fo_effects
from colis.fulfillment.status import FOStatus, HoldReason, RequestStatus
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply, inventory_levels_lock
from colis.locations.models import Location
from colis.partners.models import FulfillmentService

LOCATION_TABLE = Location._meta.db_table
SERVICE_TABLE = FulfillmentService._meta.db_table

FO_COLUMNS = (
    "order",
    "location",
    "status",
    "request_status",
    "commits_stock",
    "reject_reason",
    "created_at",
    "updated_at",
)
FO_LINE_COLUMNS = (
    "fulfillment_order",
    "order_line",
    "product_id",
    "sku",
    "quantity",
    "quantity_fulfilled",
)
HOLD_COLUMNS = (
    "fulfillment_order",
    "reason",
    "notes",
    "actor_kind",
    "actor_id",
    "actor_label",
    "created_at",
)
BACKORDER_BATCH = 200


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteLine:
    line_id: int
    product_id: int
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteRequest:
    """Lines of one order to route. With `source`, they come out of that FO (a backorder or a
    rejected request): what is routed is taken off it, and, unless `move_short`, what cannot be
    routed stays on it."""

    order_id: int
    lines: Sequence[RouteLine]
    holds: tuple[str, ...] = ()
    # reason -> (notes, actor kind, actor id, actor label, placed at) of a hold carried over
    hold_origin: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    exclude: frozenset[int] = frozenset()
    source: FulfillmentOrder | None = None
    move_short: bool = False


@dataclass(kw_only=True, slots=True)
class Routed:
    """What routing made for one order: FO ids, whether any of them is on hold, and the summary
    its timeline event carries."""

    fo_ids: list[int] = field(default_factory=list)
    held: bool = False
    summary: list[dict[str, Any]] = field(default_factory=list)
    fos: list[FulfillmentOrder] = field(default_factory=list)  # with `materialize` only


@dataclass(kw_only=True, slots=True)
class _Group:
    reasons: list[str] = field(default_factory=list)
    origin: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    quantities: dict[int, int] = field(default_factory=dict)
    lines: dict[int, RouteLine] = field(default_factory=dict)


def routing_strategy() -> str:
    """The shop's tie-break strategy (from the shop snapshot: two seconds at most old)."""
    value = shop_snapshot().routing_strategy
    return value if value in STRATEGIES else PRIORITY


def route_sites() -> tuple[list[Site], set[int]]:
    """Active locations that fulfill online orders (but those of switched-off services), by
    priority, and which of them belong to services. One query."""
    rows = fetch_all(
        f"SELECT l.id, l.priority, l.allow_negative_stock, s.active FROM {LOCATION_TABLE} l "
        f"LEFT JOIN {SERVICE_TABLE} s ON s.location_id = l.id "
        "WHERE l.active AND l.fulfills_online_orders",
    )
    sites = [
        Site(location_id=pk, priority=prio, unlimited=bool(neg))
        for pk, prio, neg, service_active in rows
        if service_active is None or service_active
    ]
    services = {pk for pk, _, _, service_active in rows if service_active}
    return sorted(sites, key=lambda s: (s.priority, s.location_id)), services


def orders_route(
    *,
    requests: Sequence[RouteRequest],
    actor: Actor,
    event_kind: str | None = "order_routed",
    materialize: bool = False,
    locked: dict[Any, Any] | None = None,
) -> dict[int, Routed]:
    """Route every request in one transaction. Returns what was made, by order id.

    Each order gets an `event_kind` timeline event; with None the caller records the summary in
    its own event (new orders carry it in `order_created`). With `materialize`, each Routed
    also carries its FOs as written (lines and holds cached), to render without reading back.
    `locked`: levels the caller already locked (every product of the requests at every site),
    so that all its locks are taken in one pk-ordered round.

    Stock for each allocation is committed through `inventory_apply`; an out-of-stock
    allocation commits nothing and waits on hold `inventory_out_of_stock`.
    """
    requests = [r for r in requests if any(ln.quantity > 0 for ln in r.lines)]
    if not requests:
        return {}
    sites, services = route_sites()
    if not sites:
        return {}
    strategy = routing_strategy()
    now = timezone.now()
    with transaction.atomic():
        if locked is None:
            locked = inventory_levels_lock(
                product_ids={ln.product_id for r in requests for ln in r.lines},
                location_ids={s.location_id for s in sites},
            )
        stock = {k: lvl.on_hand - lvl.committed for k, lvl in locked.items()}
        planned: list[tuple[RouteRequest, list[Any]]] = []
        for req in requests:
            usable = [s for s in sites if s.location_id not in req.exclude] or sites[:1]
            wants = [
                Want(line_id=ln.line_id, product_id=ln.product_id, quantity=ln.quantity)
                for ln in req.lines
            ]
            allocations = route_plan(wants=wants, sites=usable, stock=stock, strategy=strategy)
            if req.source is not None and not req.move_short:
                allocations = [a for a in allocations if not a.out_of_stock]
            planned.append((req, allocations))
        routed = _write(planned, services, locked, actor, now, event_kind, materialize)
    return routed


def _write(
    planned: list[tuple[RouteRequest, list[Any]]],
    services: set[int],
    locked: dict[Any, Any],
    actor: Actor,
    now: Any,
    event_kind: str | None,
    materialize: bool = False,
) -> dict[int, Routed]:
    # One FO per (order, location, commits stock): two requests of one order (two backorders,
    # say) that land at the same place make one FO, with their quantities summed per line.
    groups: dict[tuple[int, int, bool], _Group] = {}
    for req, allocations in planned:
        by_line = {ln.line_id: ln for ln in req.lines}
        for a in allocations:
            group = groups.setdefault((req.order_id, a.location_id, not a.out_of_stock), _Group())
            reasons = [HoldReason.INVENTORY_OUT_OF_STOCK] if a.out_of_stock else []
            for reason in [*reasons, *req.holds]:
                if reason not in group.reasons:
                    group.reasons.append(reason)
            group.origin.update(req.hold_origin)
            for line_id, qty in a.lines.items():
                group.quantities[line_id] = group.quantities.get(line_id, 0) + qty
                group.lines[line_id] = by_line[line_id]
    if not groups:
        return {}
    fo_rows = [
        (
            order_id,
            location_id,
            FOStatus.ON_HOLD if group.reasons else FOStatus.OPEN,
            RequestStatus.SUBMITTED
            if location_id in services and commits
            else RequestStatus.UNSUBMITTED,
            commits,
            "",
            now,
            now,
        )
        for (order_id, location_id, commits), group in groups.items()
    ]
    returned = bulk_insert(
        FulfillmentOrder,
        FO_COLUMNS,
        fo_rows,
        returning=("id", "order", "location", "commits_stock"),
    )
    fo_ids = {(o, loc, bool(c)): pk for pk, o, loc, c in returned}
    line_rows: list[tuple[Any, ...]] = []
    hold_rows: list[tuple[Any, ...]] = []
    for (order_id, location_id, commits), group in groups.items():
        fo_id = fo_ids[(order_id, location_id, commits)]
        for line_id, qty in group.quantities.items():
            ln = group.lines[line_id]
            line_rows.append((fo_id, line_id, ln.product_id, ln.sku, qty, 0))
        for reason in group.reasons:
            origin = group.origin.get(reason) or ("", actor.kind, actor.id, actor.label[:200], now)
            hold_rows.append((fo_id, reason, *origin))
        if location_id in services and commits:
            fo_effects(
                fo_id=fo_id,
                order_id=order_id,
                location_id=location_id,
                what="submitted",
                service_message="fulfillment_request",
                key=f"fo:{fo_id}:request",
            )
    event_rows: list[tuple[Any, ...]] = []
    changes: list[StockChange] = []
    result: dict[int, Routed] = {}
    source_taken: dict[int, dict[int, int]] = {}  # source FO id -> line id -> quantity
    for req, allocations in planned:
        by_line = {ln.line_id: ln for ln in req.lines}
        routed = result.setdefault(req.order_id, Routed())
        summary = routed.summary
        for a in allocations:
            key = (req.order_id, a.location_id, not a.out_of_stock)
            fo_id = fo_ids[key]
            if fo_id not in routed.fo_ids:
                routed.fo_ids.append(fo_id)
            reasons = groups[key].reasons
            routed.held = routed.held or bool(reasons)
            for line_id, qty in a.lines.items():
                ln = by_line[line_id]
                if not a.out_of_stock:
                    changes.append(
                        StockChange(
                            product_id=ln.product_id,
                            location_id=a.location_id,
                            reason=Reason.COMMITTED,
                            committed=qty,
                            order_id=req.order_id,
                            reference=f"fo:{fo_id}",
                        )
                    )
                if req.source is not None:
                    taken = source_taken.setdefault(req.source.pk, {})
                    taken[line_id] = taken.get(line_id, 0) + qty
            summary.append(
                {
                    "id": fo_id,
                    "location_id": a.location_id,
                    "lines": {by_line[k].sku: q for k, q in a.lines.items()},
                    "holds": list(reasons),
                }
            )
        if event_kind is None:
            continue
        data: dict[str, Any] = {"fulfillment_orders": summary}
        if req.source is not None:
            data["from_fulfillment_order"] = req.source.pk
        event_rows.append(
            event_row(
                subject_type="order",
                subject_id=req.order_id,
                order_id=req.order_id,
                kind=event_kind,
                actor=actor,
                data=data,
                at=now,
            )
        )
    line_ids = bulk_insert(
        FulfillmentOrderLine,
        FO_LINE_COLUMNS,
        line_rows,
        chunk=1000,
        returning=("id", "fulfillment_order", "order_line") if materialize else (),
    )
    if materialize:
        _materialize(result, fo_rows, fo_ids, line_rows, line_ids, hold_rows)
    if hold_rows:
        bulk_insert(FulfillmentHold, HOLD_COLUMNS, hold_rows)
    events_insert(event_rows)
    inventory_apply(changes=changes, actor=actor, locked=locked, merge_commitments=len(planned) > 1)
    for req, _ in planned:
        if req.source is not None and req.source.pk in source_taken:
            _take_from_source(req.source, source_taken[req.source.pk], now)
    return result


def _materialize(
    result: dict[int, Routed],
    fo_rows: list[tuple[Any, ...]],
    fo_ids: dict[tuple[int, int, bool], int],
    line_rows: list[tuple[Any, ...]],
    line_ids: list[tuple[Any, ...]],
    hold_rows: list[tuple[Any, ...]],
) -> None:
    ids = {(fo, line): pk for pk, fo, line in line_ids}
    lines: dict[int, list[FulfillmentOrderLine]] = {}
    for fo_id, line_id, product_id, sku, qty, done in line_rows:
        lines.setdefault(fo_id, []).append(
            FulfillmentOrderLine(
                pk=ids[(fo_id, line_id)],
                fulfillment_order_id=fo_id,
                order_line_id=line_id,
                product_id=product_id,
                sku=sku,
                quantity=qty,
                quantity_fulfilled=done,
            )
        )
    holds: dict[int, list[FulfillmentHold]] = {}
    for fo_id, reason, notes, kind, actor_id, label, at in hold_rows:
        holds.setdefault(fo_id, []).append(
            FulfillmentHold(
                fulfillment_order_id=fo_id, reason=reason, notes=notes, actor_kind=kind,
                actor_id=actor_id, actor_label=label, created_at=at,
            )
        )  # fmt: skip
    for row in fo_rows:
        values = dict(zip(FO_COLUMNS, row, strict=True))
        order_id, location_id = values.pop("order"), values.pop("location")
        fo_id = fo_ids[(order_id, location_id, bool(values["commits_stock"]))]
        fo = FulfillmentOrder(pk=fo_id, order_id=order_id, location_id=location_id, **values)
        fo._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "lines": lines.get(fo_id, []),
            "holds": holds.get(fo_id, []),
        }
        result[order_id].fos.append(fo)


def _take_from_source(fo: FulfillmentOrder, taken: dict[int, int], now: Any) -> None:
    """Reduce the source FO by what went elsewhere; close it when nothing is left."""
    lines = list(FulfillmentOrderLine.objects.filter(fulfillment_order=fo))
    for ln in lines:
        ln.quantity -= min(taken.get(ln.order_line_id, 0), ln.remaining)
    FulfillmentOrderLine.objects.bulk_update(lines, ["quantity"])
    if all(ln.remaining == 0 for ln in lines):
        fo.status = FOStatus.CLOSED
        fo.updated_at = now
        fo.save(update_fields=["status", "updated_at"])
        fo.holds.all().delete()
