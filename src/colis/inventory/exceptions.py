from __future__ import annotations

from dataclasses import dataclass

from colis.core.errors import Conflict


@dataclass(frozen=True, kw_only=True, slots=True)
class Shortage:
    product_id: int
    sku: str
    location_id: int
    requested_on_hand: int
    requested_committed: int
    on_hand: int
    committed: int


class InsufficientStock(Conflict):
    """Every short line of one change, not just the first."""

    default_code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        super().__init__(
            "Not enough stock: "
            + ", ".join(f"{s.sku} at location {s.location_id}" for s in shortages),
            fields={
                f"{s.sku}@{s.location_id}": {
                    "on_hand": s.on_hand,
                    "committed": s.committed,
                    "on_hand_after": s.requested_on_hand,
                    "committed_after": s.requested_committed,
                }
                for s in shortages
            },
        )
