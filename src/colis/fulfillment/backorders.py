"""Backorders: FOs waiting on hold `inventory_out_of_stock` are routed again when stock
arrives (after the stock change commits), oldest order first, and by the worker's sweep."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from colis.core.actor import Actor
from colis.core.locks import lock_by_pk
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from colis.fulfillment.routing import (
    BACKORDER_BATCH,
    RouteLine,
    RouteRequest,
    orders_route,
    route_sites,
)
from colis.fulfillment.status import FOStatus, HoldReason
from colis.inventory.models import InventoryLevel
from colis.orders.models import Order


def backorders_route(product_ids: Iterable[int], *, actor: Actor | None = None) -> int:
    """Route again, oldest order first, the out-of-stock FOs holding any of these products.

    Returns how many FOs gained stock. Runs in its own transaction: orders are locked before
    levels, as everywhere else.
    """
    from colis.fulfillment.progress import orders_progress

    actor = actor or Actor.system("routing")
    ids = set(product_ids)
    candidates = list(
        FulfillmentOrder.objects.filter(
            commits_stock=False,
            status=FOStatus.ON_HOLD,
            lines__product_id__in=ids,
        )
        .values_list("order_id", flat=True)
        .distinct()
        .order_by("order_id")[:BACKORDER_BATCH]
    )
    if not candidates:
        return 0
    with transaction.atomic():
        lock_by_pk(Order.objects.all(), candidates)
        fos = list(
            FulfillmentOrder.objects.filter(
                order_id__in=candidates, commits_stock=False, status=FOStatus.ON_HOLD
            )
            .prefetch_related("lines", "holds")
            .order_by("order_id", "pk")
        )
        requests = []
        for fo in fos:
            kept = [h for h in fo.holds.all() if h.reason != HoldReason.INVENTORY_OUT_OF_STOCK]
            other = tuple(h.reason for h in kept)
            origin = {
                h.reason: (h.notes, h.actor_kind, h.actor_id, h.actor_label, h.created_at)
                for h in kept
            }
            lines = [
                RouteLine(
                    line_id=ln.order_line_id,
                    product_id=ln.product_id,
                    sku=ln.sku,
                    quantity=ln.remaining,
                )
                for ln in fo.lines.all()
            ]
            requests.append(
                RouteRequest(
                    order_id=fo.order_id, lines=lines, holds=other, hold_origin=origin, source=fo
                )
            )
        routed = orders_route(requests=requests, actor=actor, event_kind="backorder_routed")
        if routed:
            orders_progress(order_ids=list(routed), actor=actor)
    return sum(len(r.fo_ids) for r in routed.values())


def backorders_sweep() -> int:
    """Route again the backorders whose products now have stock somewhere they may ship from."""
    waiting = set(
        FulfillmentOrderLine.objects.filter(
            fulfillment_order__commits_stock=False,
            fulfillment_order__status=FOStatus.ON_HOLD,
        ).values_list("product_id", flat=True)[:1000]
    )
    if not waiting:
        return 0
    sites, _ = route_sites()
    stocked = set(
        InventoryLevel.objects.filter(
            product_id__in=waiting,
            location_id__in=[s.location_id for s in sites],
            on_hand__gt=F("committed"),
        ).values_list("product_id", flat=True)
    )
    return backorders_route(stocked) if stocked else 0
