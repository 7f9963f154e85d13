"""The fulfillment invariants, read back from the database (DESIGN.md, "Invariants" 1 and 2).

Each helper asserts one family of rules over the whole database or over one order, so a test can
call them after any operation, concurrent or not.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from colis.fulfillment.models import (
    FulfillmentHold,
    FulfillmentOrder,
    FulfillmentOrderLine,
    ShipmentLine,
)
from colis.fulfillment.status import LIVE_FO, FOStatus, HoldReason, ShipmentStatus
from colis.inventory.models import InventoryLevel, StockMovement
from colis.orders.models import Order, OrderLine
from colis.orders.status import LineQuantities, OrderStatus, fulfillment_status_derive

Key = tuple[int, int]  # (product id, location id)


def committed_by_live_fos() -> dict[Key, int]:
    """What the live FOs that commit stock still have to ship, per (product, location)."""
    out: dict[Key, int] = defaultdict(int)
    rows = FulfillmentOrderLine.objects.filter(
        fulfillment_order__status__in=LIVE_FO, fulfillment_order__commits_stock=True
    ).values_list("product_id", "fulfillment_order__location_id", "quantity", "quantity_fulfilled")
    for product_id, location_id, quantity, fulfilled in rows:
        out[(product_id, location_id)] += quantity - fulfilled
    return out


def assert_stock() -> None:
    """Invariant 1 at every level: 0 <= committed <= on_hand (no location here sells beyond its
    stock), the ledger sums to the level, and `committed` is exactly what the live FOs that
    commit stock have left at that location."""
    ledger = {
        row["level"]: (row["on_hand"] or 0, row["committed"] or 0)
        for row in StockMovement.objects.values("level").annotate(
            on_hand=Sum("delta_on_hand"), committed=Sum("delta_committed")
        )
    }
    expected = committed_by_live_fos()
    levels = list(
        InventoryLevel.objects.values_list(
            "pk",
            "product_id",
            "location_id",
            "on_hand",
            "committed",
            "location__allow_negative_stock",
        )
    )
    seen: set[Key] = set()
    for pk, product_id, location_id, on_hand, committed, negative_ok in levels:
        where = f"level {pk} (product {product_id} @ location {location_id})"
        seen.add((product_id, location_id))
        if not negative_ok:
            assert on_hand >= 0, f"{where}: on_hand {on_hand} < 0"
            assert committed <= on_hand, f"{where}: committed {committed} > on_hand {on_hand}"
        assert committed >= 0, f"{where}: committed {committed} < 0"
        assert ledger.get(pk, (0, 0)) == (on_hand, committed), (
            f"{where}: ledger sums to {ledger.get(pk, (0, 0))}, level is {(on_hand, committed)}"
        )
        assert committed == expected.get((product_id, location_id), 0), (
            f"{where}: committed {committed}, live FOs have "
            f"{expected.get((product_id, location_id), 0)} left there"
        )
    orphans = {k: v for k, v in expected.items() if v and k not in seen}
    assert not orphans, f"live FOs commit stock at levels that do not exist: {orphans}"


def assert_quantities(order: Order | int) -> None:
    """Invariant 2 for one order: for each line, fulfilled + cancelled + what its FO lines (all
    of them, whatever their FO's state) have left = ordered; no FO line shipped more than it
    holds; and what active shipments carry is what the FO lines and order lines say shipped."""
    order_id = order if isinstance(order, int) else order.pk
    fo_lines = list(
        FulfillmentOrderLine.objects.filter(fulfillment_order__order_id=order_id).values_list(
            "pk", "order_line_id", "quantity", "quantity_fulfilled"
        )
    )
    shipped = defaultdict(int)  # FO line id -> quantity in shipments that were not cancelled
    shipped_by_line = defaultdict(int)  # order line id -> the same
    for fo_line_id, line_id, qty in (
        ShipmentLine.objects.filter(shipment__order_id=order_id)
        .exclude(shipment__status=ShipmentStatus.CANCELLED)
        .values_list("fulfillment_order_line_id", "order_line_id", "quantity")
    ):
        shipped[fo_line_id] += qty
        shipped_by_line[line_id] += qty
    open_by_line = defaultdict(int)
    for pk, line_id, quantity, fulfilled in fo_lines:
        assert fulfilled <= quantity, f"FO line {pk}: fulfilled {fulfilled} > quantity {quantity}"
        assert fulfilled == shipped[pk], (
            f"FO line {pk}: quantity_fulfilled {fulfilled}, shipments carry {shipped[pk]}"
        )
        open_by_line[line_id] += quantity - fulfilled
    for line in OrderLine.objects.filter(order_id=order_id):
        total = line.quantity_fulfilled + line.quantity_cancelled + open_by_line[line.pk]
        assert total == line.quantity, (
            f"order {order_id} line {line.pk} ({line.sku}): fulfilled {line.quantity_fulfilled}"
            f" + cancelled {line.quantity_cancelled} + open in FOs {open_by_line[line.pk]}"
            f" = {total}, ordered {line.quantity}"
        )
        assert line.quantity_fulfilled == shipped_by_line[line.pk], (
            f"order {order_id} line {line.pk}: quantity_fulfilled {line.quantity_fulfilled},"
            f" shipments carry {shipped_by_line[line.pk]}"
        )


def assert_order_status(order: Order | int) -> None:
    """The order's stored statuses agree with its lines and FOs: `fulfillment_status` is what
    `fulfillment_status_derive` makes of them, an order shipped in full is shipped or
    completed, and a cancelled order has no live FO."""
    order = Order.objects.get(pk=order if isinstance(order, int) else order.pk)
    lines = list(OrderLine.objects.filter(order=order))
    live = list(FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO))
    derived = fulfillment_status_derive(
        (
            LineQuantities(
                ordered=ln.quantity,
                fulfilled=ln.quantity_fulfilled,
                cancelled=ln.quantity_cancelled,
            )
            for ln in lines
        ),
        fo_states=[fo.status for fo in live],
        fo_requests=[fo.request_status for fo in live],
    )
    assert order.fulfillment_status == derived, (
        f"order {order.pk}: fulfillment_status {order.fulfillment_status!r}, derived {derived!r}"
        f" (lines {[(ln.quantity, ln.quantity_fulfilled, ln.quantity_cancelled) for ln in lines]},"
        f" live FOs {[fo.status for fo in live]})"
    )
    all_shipped = any(ln.quantity_fulfilled for ln in lines) and all(
        ln.quantity_fulfilled == ln.quantity - ln.quantity_cancelled for ln in lines
    )
    if all_shipped:
        assert order.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED), (
            f"order {order.pk}: every line shipped, status is {OrderStatus(order.status).name}"
        )
    if order.status == OrderStatus.CANCELLED:
        assert not live, f"cancelled order {order.pk} has live FOs {[fo.pk for fo in live]}"


def assert_fo_states() -> None:
    """A live FO's state follows its holds (held exactly when on hold); an FO that does not
    commit stock waits on an out-of-stock hold; a closed or cancelled FO has nothing left."""
    holds: dict[int, set[str]] = defaultdict(set)
    for fo_id, reason in FulfillmentHold.objects.values_list("fulfillment_order_id", "reason"):
        holds[fo_id].add(reason)
    left: dict[int, int] = defaultdict(int)
    for fo_id, quantity, fulfilled in FulfillmentOrderLine.objects.values_list(
        "fulfillment_order_id", "quantity", "quantity_fulfilled"
    ):
        left[fo_id] += quantity - fulfilled
    for fo in FulfillmentOrder.objects.all():
        if fo.status in LIVE_FO:
            assert (fo.status == FOStatus.ON_HOLD) == bool(holds[fo.pk]), (
                f"FO {fo.pk} is {fo.status} with holds {sorted(holds[fo.pk])}"
            )
            if not fo.commits_stock:
                assert HoldReason.INVENTORY_OUT_OF_STOCK in holds[fo.pk], (
                    f"FO {fo.pk} commits no stock but is not held out of stock: {fo.status},"
                    f" holds {sorted(holds[fo.pk])}"
                )
        else:
            assert left[fo.pk] == 0, f"FO {fo.pk} is {fo.status} with {left[fo.pk]} left"
            assert not holds[fo.pk], f"FO {fo.pk} is {fo.status} with holds {holds[fo.pk]}"


def assert_all() -> None:
    assert_stock()
    assert_fo_states()
    for order_id in Order.objects.values_list("pk", flat=True):
        assert_quantities(order_id)
        assert_order_status(order_id)


def shipped_units(product_id: int) -> int:
    """Units of a product in shipments that were not cancelled."""
    fo_lines = FulfillmentOrderLine.objects.filter(product_id=product_id).values("pk")
    return (
        ShipmentLine.objects.filter(fulfillment_order_line__in=fo_lines)
        .exclude(shipment__status=ShipmentStatus.CANCELLED)
        .aggregate(n=Sum("quantity"))["n"]
        or 0
    )
