"""The inventory service: the one way stock changes.

`inventory_apply` takes every change of one business operation, sums them per level, locks the
levels in primary-key order, refuses the whole operation if any level would go short, then writes
the new quantities and one ledger row per change. Everything else here builds on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from colis.catalog.models import Product
from colis.core.actor import Actor
from colis.core.bulk import bulk_insert
from colis.core.errors import NotFound, ValidationError
from colis.core.locks import lock_rows_sql
from colis.core.sql import in_list
from colis.core.timeline import event_record
from colis.inventory.exceptions import InsufficientStock, Shortage
from colis.inventory.hooks import stock_arrived
from colis.inventory.models import InventoryLevel, StockMovement
from colis.locations.models import Location


@dataclass(frozen=True, kw_only=True, slots=True)
class StockChange:
    """One change to a level: deltas, or `set_on_hand` to count it to an absolute value."""

    product_id: int
    location_id: int
    reason: str
    on_hand: int = 0
    committed: int = 0
    unsellable: int = 0
    set_on_hand: int | None = None
    note: str = ""
    reference: str = ""
    order_id: int | None = None


Key = tuple[int, int]
LEVEL_TABLE = InventoryLevel._meta.db_table
LOCATION_TABLE = Location._meta.db_table
MAX_LEVEL = 2_000_000_000  # levels are 32-bit integers in the database


def inventory_levels_lock(
    *, product_ids: set[int], location_ids: set[int]
) -> dict[Key, InventoryLevel]:
    """The existing levels of these products at these locations, locked in primary-key order.

    Call inside a transaction; hand the result to `inventory_apply(locked=...)` to change them.
    """
    if not product_ids or not location_ids:
        return {}
    products, locations = sorted(product_ids), sorted(location_ids)
    rows = lock_rows_sql(
        "SELECT lv.id, lv.product_id, lv.location_id, lv.on_hand, lv.committed, lv.unsellable, "
        "lv.bin, "
        f"lv.updated_at, loc.allow_negative_stock FROM {LEVEL_TABLE} lv "
        f"JOIN {LOCATION_TABLE} loc ON loc.id = lv.location_id",
        f"lv.product_id IN ({in_list(products)}) AND lv.location_id IN ({in_list(locations)})",
        [*products, *locations],
        table="lv",
    )
    levels = {}
    for pk, p, loc, on_hand, committed, unsellable, bin_, updated, negative in rows:
        level = InventoryLevel(
            pk=pk,
            product_id=p,
            location_id=loc,
            on_hand=on_hand,
            committed=committed,
            unsellable=unsellable,
            bin=bin_,
            updated_at=updated,
        )
        level.allows_negative = bool(negative)  # type: ignore[attr-defined]
        levels[(p, loc)] = level
    return levels


def _levels_locked(keys: set[Key], locked: dict[Key, InventoryLevel]) -> dict[Key, InventoryLevel]:
    """The levels for these (product, location) pairs, created if missing, locked by pk."""
    levels = {k: locked[k] for k in keys if k in locked}
    todo = keys - levels.keys()
    if not todo:
        return levels
    fresh = inventory_levels_lock(
        product_ids={k[0] for k in todo}, location_ids={k[1] for k in todo}
    )
    levels.update({k: lvl for k, lvl in fresh.items() if k in todo})
    missing = todo - levels.keys()
    if missing:
        InventoryLevel.objects.bulk_create(
            [InventoryLevel(product_id=p, location_id=loc) for p, loc in missing],
            ignore_conflicts=True,
        )
        created = inventory_levels_lock(
            product_ids={k[0] for k in missing}, location_ids={k[1] for k in missing}
        )
        levels.update({k: lvl for k, lvl in created.items() if k in missing})
    return levels


def inventory_apply(
    *,
    changes: Sequence[StockChange],
    actor: Actor,
    locked: dict[Key, InventoryLevel] | None = None,
    merge_commitments: bool = False,
    savepoint: bool = True,
) -> dict[Key, InventoryLevel]:
    """Apply all `changes` atomically or none. Raises InsufficientStock listing every short level.

    A level may not end with negative `on_hand`, nor with `committed` above `on_hand`, unless its
    location allows negative stock. `locked` are levels this transaction already locked with
    `inventory_levels_lock`; they are changed in place. With `merge_commitments`, changes that
    only move `committed` (a batch of new orders) are written as one ledger row per level and
    reason. Stock that arrives (on_hand up) is announced to the stock-arrival listeners after
    commit. `savepoint=False` suits a caller whose whole transaction fails with a refusal here
    (it saves two round trips).
    """
    if not changes:
        return {}
    if merge_commitments:
        changes = _commitments_merged(changes)
    keys = {(c.product_id, c.location_id) for c in changes}
    with transaction.atomic(savepoint=savepoint):
        levels = _levels_locked(keys, locked or {})
        allow_negative = {k[1]: getattr(lvl, "allows_negative", False) for k, lvl in levels.items()}
        before = {k: (lvl.on_hand, lvl.committed) for k, lvl in levels.items()}
        unsellable_before = {k: lvl.unsellable for k, lvl in levels.items()}
        movements: list[tuple[object, ...]] = []
        now = timezone.now()
        for change in changes:
            level = levels[(change.product_id, change.location_id)]
            d_on_hand = change.on_hand
            if change.set_on_hand is not None:
                d_on_hand = change.set_on_hand - level.on_hand
            level.on_hand += d_on_hand
            level.committed += change.committed
            level.unsellable += change.unsellable
            movements.append(
                (
                    level.pk,
                    change.product_id,
                    change.location_id,
                    d_on_hand,
                    change.committed,
                    change.unsellable,
                    level.on_hand,
                    level.committed,
                    change.reason,
                    change.note[:500],
                    change.reference[:100],
                    change.order_id,
                    actor.kind,
                    actor.id,
                    actor.label[:200],
                    now,
                )
            )
        too_big = [
            k for k, lvl in levels.items() if max(abs(lvl.on_hand), abs(lvl.committed)) > MAX_LEVEL
        ]
        too_big += [
            (m[1], m[2])
            for m in movements
            if max(abs(m[3]), abs(m[4])) > MAX_LEVEL  # type: ignore[arg-type]
        ]
        too_big += [k for k, lvl in levels.items() if abs(lvl.unsellable) > MAX_LEVEL]
        if too_big:
            raise ValidationError(
                f"A stock level cannot pass {MAX_LEVEL:,} units.",
                code="quantity_out_of_range",
                fields={f"{p}@{loc}": "Too large." for p, loc in too_big},
            )
        shortages = [
            (key, level)
            for key, level in levels.items()
            if not allow_negative.get(key[1], False) and _worse(before[key], level)
        ]
        shortages += [
            (key, level)
            for key, level in levels.items()
            if level.unsellable < 0 and level.unsellable < unsellable_before[key]
        ]
        if shortages:
            skus = dict(
                Product.objects.filter(pk__in={k[0] for k, _ in shortages}).values_list("pk", "sku")
            )
            raise InsufficientStock(
                [
                    Shortage(
                        product_id=key[0],
                        sku=skus.get(key[0], str(key[0])),
                        location_id=key[1],
                        requested_on_hand=level.on_hand,
                        requested_committed=level.committed,
                        on_hand=before[key][0],
                        committed=before[key][1],
                    )
                    for key, level in sorted(shortages)
                ]
            )
        changed = [
            lvl
            for k, lvl in levels.items()
            if (lvl.on_hand, lvl.committed) != before[k] or lvl.unsellable != unsellable_before[k]
        ]
        for lvl in changed:
            lvl.updated_at = now
        _levels_write(changed)
        bulk_insert(StockMovement, MOVEMENT_COLUMNS, movements, chunk=1000)
        arrived = {m[1] for m in movements if m[3] > 0}  # type: ignore[operator]
        if arrived:
            stock_arrived(arrived)
    return levels


MOVEMENT_COLUMNS = (
    "level",
    "product_id_snapshot",
    "location_id_snapshot",
    "delta_on_hand",
    "delta_committed",
    "delta_unsellable",
    "on_hand_after",
    "committed_after",
    "reason",
    "note",
    "reference",
    "order_id",
    "actor_kind",
    "actor_id",
    "actor_label",
    "created_at",
)


def _levels_write(levels: list[InventoryLevel]) -> None:
    if not levels:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {LEVEL_TABLE} SET on_hand = %s, committed = %s, unsellable = %s, "
            "updated_at = %s WHERE id = %s",
            [
                (lvl.on_hand, lvl.committed, lvl.unsellable, lvl.updated_at, lvl.pk)
                for lvl in levels
            ],
        )


def _commitments_merged(changes: Sequence[StockChange]) -> list[StockChange]:
    out: list[StockChange] = []
    groups: dict[tuple[int, int, str], list[StockChange]] = {}
    for c in changes:
        if c.on_hand or c.set_on_hand is not None:
            out.append(c)
        else:
            groups.setdefault((c.product_id, c.location_id, c.reason), []).append(c)
    for (product_id, location_id, reason), group in groups.items():
        orders = {c.order_id for c in group}
        refs = {c.reference for c in group}
        out.append(
            StockChange(
                product_id=product_id,
                location_id=location_id,
                reason=reason,
                committed=sum(c.committed for c in group),
                order_id=orders.pop() if len(orders) == 1 else None,
                reference=refs.pop() if len(refs) == 1 else f"{len(group)} fulfillment order lines",
                note=group[0].note if len(group) == 1 else "",
            )
        )
    return out


def _worse(before: tuple[int, int], level: InventoryLevel) -> bool:
    """Whether this change breaks the stock rules, or moves a level that already broke them
    (its location allowed negative stock once) further away from them."""
    on_hand, committed = before
    if level.committed < 0:
        return True
    if level.on_hand < 0 and level.on_hand < on_hand:
        return True
    return level.available < 0 and level.available < on_hand - committed


def _check_reason(reason: str) -> None:
    from colis.inventory.models import ADJUSTMENT_REASONS

    if reason not in ADJUSTMENT_REASONS:
        raise ValidationError(
            f"Reason must be one of {', '.join(ADJUSTMENT_REASONS)}.",
            code="invalid_reason",
            fields={"reason": "Unknown reason."},
        )


def inventory_adjust(
    *,
    product_id: int,
    location_id: int,
    reason: str,
    delta: int | None = None,
    set_on_hand: int | None = None,
    note: str = "",
    actor: Actor,
) -> InventoryLevel:
    """Change `on_hand` by `delta`, or count it to `set_on_hand` (exactly one of the two)."""
    _check_reason(reason)
    if (delta is None) == (set_on_hand is None):
        raise ValidationError(
            "Give either delta or set_on_hand.",
            code="invalid_adjustment",
            fields={"delta": "Exactly one of delta and set_on_hand."},
        )
    if set_on_hand is not None and set_on_hand < 0:
        raise ValidationError(
            "A count cannot be negative.",
            code="invalid_adjustment",
            fields={"set_on_hand": "Must be zero or more."},
        )
    if delta == 0:
        raise ValidationError(
            "A delta of zero changes nothing.",
            code="invalid_adjustment",
            fields={"delta": "Must not be zero."},
        )
    if not Location.objects.filter(pk=location_id).exists():
        raise NotFound(
            "No such location.",
            code="location_not_found",
            fields={"location_id": "Unknown location."},
        )
    change = StockChange(
        product_id=product_id,
        location_id=location_id,
        reason=reason,
        on_hand=delta or 0,
        set_on_hand=set_on_hand,
        note=note,
    )
    with transaction.atomic():
        level = inventory_apply(changes=[change], actor=actor)[(product_id, location_id)]
        event_record(
            subject_type="inventory_level",
            subject_id=level.pk,
            kind="inventory_adjusted",
            actor=actor,
            data={
                "product_id": product_id,
                "location_id": location_id,
                "reason": reason,
                "delta": delta,
                "set_on_hand": set_on_hand,
                "on_hand": level.on_hand,
            },
        )
    return level
