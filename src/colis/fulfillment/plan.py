"""Routing rules as a pure function: which location ships which quantity of each line.

Rules, in order: one location for everything when one can (fewest splits); otherwise the
location that covers the most whole lines first, then split what is left line by line;
ties go to the merchant's priority (`priority` strategy) or to the most stock (`most_stock`).
What nothing covers goes to the first location, out of stock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PRIORITY = "priority"
MOST_STOCK = "most_stock"
STRATEGIES = (PRIORITY, MOST_STOCK)


@dataclass(frozen=True, kw_only=True, slots=True)
class Site:
    """A location routing may use; `unlimited` when it may sell beyond its stock."""

    location_id: int
    priority: int
    unlimited: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Want:
    """One order line's quantity to route."""

    line_id: int
    product_id: int
    quantity: int


@dataclass(kw_only=True, slots=True)
class Allocation:
    location_id: int
    out_of_stock: bool = False
    lines: dict[int, int] = field(default_factory=dict)  # line id -> quantity


Stock = dict[tuple[int, int], int]  # (product, location) -> available, updated as we allocate


def _available(stock: Stock, site: Site, product_id: int) -> int | None:
    """None means no limit."""
    if site.unlimited:
        return None
    return max(stock.get((product_id, site.location_id), 0), 0)


def _covers(stock: Stock, site: Site, want: Want, quantity: int) -> bool:
    have = _available(stock, site, want.product_id)
    return have is None or have >= quantity


def _rank(stock: Stock, sites: Sequence[Site], wants: Sequence[Want], strategy: str) -> list[Site]:
    if strategy == MOST_STOCK:
        products = {w.product_id for w in wants}

        def depth(site: Site) -> int:
            if site.unlimited:
                return 0
            return sum(max(stock.get((p, site.location_id), 0), 0) for p in products)

        return sorted(sites, key=lambda s: (-depth(s), s.priority, s.location_id))
    return sorted(sites, key=lambda s: (s.priority, s.location_id))


def route_plan(
    *, wants: Sequence[Want], sites: Sequence[Site], stock: Stock, strategy: str = PRIORITY
) -> list[Allocation]:
    """Allocate `wants` over `sites`, taking what it allocates out of `stock`.

    Returns one allocation per location used, plus at most one out-of-stock allocation at the
    first site (by priority) for what no site can cover. With no site at all, returns nothing.
    """
    wants = [w for w in wants if w.quantity > 0]
    if not wants or not sites:
        return []
    ranked = _rank(stock, sites, wants, strategy)
    left = {w.line_id: w.quantity for w in wants}
    by_line = {w.line_id: w for w in wants}
    plan: dict[int, Allocation] = {}

    def take(site: Site, want: Want, quantity: int) -> None:
        alloc = plan.setdefault(site.location_id, Allocation(location_id=site.location_id))
        alloc.lines[want.line_id] = alloc.lines.get(want.line_id, 0) + quantity
        key = (want.product_id, site.location_id)
        if not site.unlimited:
            stock[key] = stock.get(key, 0) - quantity
        left[want.line_id] -= quantity

    # 1. One site for everything. Demand for one product over several lines is summed.
    need: dict[int, int] = {}
    for w in wants:
        need[w.product_id] = need.get(w.product_id, 0) + w.quantity
    for site in ranked:
        if all((have := _available(stock, site, p)) is None or have >= q for p, q in need.items()):
            for w in wants:
                take(site, w, w.quantity)
            return list(plan.values())

    # 2. Whole lines, the site covering the most lines (then units) first.
    while True:
        best: tuple[int, int] | None = None
        best_site: Site | None = None
        for site in ranked:
            covered = [
                w for w in wants if left[w.line_id] and _covers(stock, site, w, left[w.line_id])
            ]
            score = (len(covered), sum(left[w.line_id] for w in covered))
            if covered and (best is None or score > best):
                best, best_site = score, site
        if best_site is None:
            break
        for w in wants:
            if left[w.line_id] and _covers(stock, best_site, w, left[w.line_id]):
                take(best_site, w, left[w.line_id])

    # 3. Split what is left of each line over the sites, in rank order.
    for line_id in [k for k, q in left.items() if q]:
        want = by_line[line_id]
        for site in ranked:
            have = _available(stock, site, want.product_id)
            if have is None:
                take(site, want, left[line_id])
            elif have > 0:
                take(site, want, min(have, left[line_id]))
            if not left[line_id]:
                break

    allocations = list(plan.values())
    short = {k: q for k, q in left.items() if q}
    if short:
        first = min(sites, key=lambda s: (s.priority, s.location_id))
        allocations.append(
            Allocation(location_id=first.location_id, out_of_stock=True, lines=short)
        )
    return allocations
