"""Reading stock back the way the invariants talk about it."""

from __future__ import annotations

from django.db.models import Sum

from colis.inventory.models import InventoryLevel, StockMovement


def level_of(product_id: int, location_id: int) -> InventoryLevel | None:
    return InventoryLevel.objects.filter(product_id=product_id, location_id=location_id).first()


def on_hand(product_id: int, location_id: int) -> int:
    level = level_of(product_id, location_id)
    return level.on_hand if level else 0


def ledger_sum(level: InventoryLevel) -> tuple[int, int]:
    """(sum of on_hand deltas, sum of committed deltas) of one level's ledger."""
    sums = StockMovement.objects.filter(level=level).aggregate(
        on_hand=Sum("delta_on_hand"), committed=Sum("delta_committed")
    )
    return sums["on_hand"] or 0, sums["committed"] or 0


def assert_ledger_matches(level: InventoryLevel) -> None:
    """Invariant 1: the ledger of a level sums to its quantities, and its last row agrees."""
    level.refresh_from_db()
    assert ledger_sum(level) == (level.on_hand, level.committed)
    last = StockMovement.objects.filter(level=level).order_by("-pk").first()
    if last is not None:
        assert (last.on_hand_after, last.committed_after) == (level.on_hand, level.committed)
