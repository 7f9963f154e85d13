"""Ordering and shipping the last units of a SKU at the same time, on PostgreSQL.

Each thread has its own database connection and closes it when done. Threads start together
behind a barrier so their transactions really overlap; buyers wait for the first shipment
before they finish, so orders are still being routed while packers ship.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from colis.core.errors import Conflict, DomainError, ValidationError
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment
from colis.fulfillment.services import LinePick
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.fulfillment.status import FOStatus, HoldReason
from colis.inventory.models import InventoryLevel
from colis.inventory.services import inventory_adjust
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order, OrderLine
from colis.orders.services import orders_create
from colis.shipping.models import Carrier
from colis.shipping.seed import carriers_apply
from tests.factories import ACTOR, ADDRESS_FR, LocationFactory, ProductFactory
from tests.fulfillment.invariants import (
    assert_all,
    assert_quantities,
    assert_stock,
    committed_by_live_fos,
    shipped_units,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

JOIN_TIMEOUT = 120  # seconds; only a deadlock or a hang would come near it
BUYERS, PACKERS, ORDERS_PER_BUYER = 16, 4, 4
SHIPPABLE = (FOStatus.OPEN, FOStatus.IN_PROGRESS)


class Outcomes:
    """What the threads report: results, refusals (domain errors) and anything else."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.results: list[Any] = []
        self.refused: list[DomainError] = []
        self.unexpected: list[BaseException] = []

    def add(self, kind: str, value: Any) -> None:
        with self.guard:
            getattr(self, kind).append(value)


def _run_threads(bodies: list[Callable[[], Any]], outcomes: Outcomes) -> None:
    """Run each body in its own thread, all released at once, each on its own connection."""
    barrier = threading.Barrier(len(bodies))

    def worker(body: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes.add("results", body())
        except DomainError as exc:
            outcomes.add("refused", exc)
        except BaseException as exc:  # reported to the test
            outcomes.add("unexpected", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads did not finish (deadlock or hang): {stuck}"


def _carriers() -> None:
    # A transactional test starts from a flushed database: the seeded carriers may be gone.
    carriers_apply(Carrier)


def _draft(sku: str, quantity: int) -> OrderDraft:
    return OrderDraft(
        email="buyer@example.com",
        shipping_address=dict(ADDRESS_FR),
        currency="EUR",
        financial_status="paid",
        lines=(LineDraft(sku=sku, quantity=quantity, unit_price=Decimal("9.90")),),
    )


def _ship(order_id: int, fo_id: int, lines: list[LinePick] | None = None) -> Shipment:
    return shipment_create(
        order_id=order_id,
        draft=ShipmentDraft(
            fulfillment_order_id=fo_id,
            lines=lines,
            carrier="other",
            tracking_numbers=[f"T-{fo_id}-{random.randrange(10**9)}"],
            notify_customer=False,
        ),
        actor=ACTOR,
    )


def _shippable(product_id: int) -> list[tuple[int, int]]:
    """(FO id, order id) of the FOs holding this product that a packer may ship now."""
    return list(
        FulfillmentOrder.objects.filter(
            status__in=SHIPPABLE, commits_stock=True, lines__product_id=product_id
        )
        .values_list("pk", "order_id")
        .distinct()
        .order_by("pk")
    )


def _levels(product_id: int) -> dict[int, tuple[int, int]]:
    return {
        loc: (on_hand, committed)
        for loc, on_hand, committed in InventoryLevel.objects.filter(
            product_id=product_id
        ).values_list("location_id", "on_hand", "committed")
    }


def _backordered(product_id: int) -> int:
    """What waits for stock: the out-of-stock FOs' remaining quantities, each FO checked to be
    on hold for `inventory_out_of_stock`."""
    fos = FulfillmentOrder.objects.filter(commits_stock=False, lines__product_id=product_id)
    total = 0
    for fo in fos.distinct().prefetch_related("lines", "holds"):
        left = sum(ln.remaining for ln in fo.lines.all() if ln.product_id == product_id)
        if not left:
            continue
        assert fo.status == FOStatus.ON_HOLD, f"backorder FO {fo.pk} is {fo.status}"
        reasons = {h.reason for h in fo.holds.all()}
        assert HoldReason.INVENTORY_OUT_OF_STOCK in reasons, f"FO {fo.pk} holds {reasons}"
        total += left
    return total


def _shipped_at(product_id: int, location_id: int) -> int:
    return (
        FulfillmentOrderLine.objects.filter(
            product_id=product_id, fulfillment_order__location_id=location_id
        ).aggregate(n=Sum("quantity_fulfilled"))["n"]
        or 0
    )


def test_sixteen_buyers_and_four_packers_share_the_last_hundred_units():
    # given: the last 100 units of a SKU, 60 at the first location and 40 at the second
    _carriers()
    near = LocationFactory(is_default=True)
    far = LocationFactory()
    product = ProductFactory(sku="LAST-100")
    stock = {near.pk: 60, far.pk: 40}
    for location_id, qty in stock.items():
        inventory_adjust(
            product_id=product.pk,
            location_id=location_id,
            reason="received",
            delta=qty,
            actor=ACTOR,
        )
    rng = random.Random(20261127)
    plans = [[rng.randint(1, 5) for _ in range(ORDERS_PER_BUYER)] for _ in range(BUYERS)]
    demand = sum(map(sum, plans))
    assert demand > 100
    first_shipment = threading.Event()
    buyers_left = [BUYERS]
    guard = threading.Lock()
    outcomes = Outcomes()

    def buyer(plan: list[int]) -> Callable[[], list[int]]:
        def body() -> list[int]:
            ids: list[int] = []
            try:
                for i, qty in enumerate(plan):
                    if i == len(plan) // 2:
                        first_shipment.wait(30)
                    result = orders_create(drafts=[_draft("LAST-100", qty)], actor=ACTOR)[0]
                    assert result.ok and result.created, result.errors
                    ids.append(result.order_id)
            finally:
                with guard:
                    buyers_left[0] -= 1
            return ids

        return body

    def packer(seed: int) -> Callable[[], int]:
        def body() -> int:
            prng = random.Random(seed)
            shipped = 0
            while buyers_left[0] > 0:
                candidates = _shippable(product.pk)
                prng.shuffle(candidates)
                for fo_id, order_id in candidates[:3]:
                    partial = prng.random() < 0.3
                    try:
                        _ship(
                            order_id,
                            fo_id,
                            [LinePick(sku="LAST-100", quantity=1)] if partial else None,
                        )
                    except DomainError as exc:  # another packer got there first
                        outcomes.add("refused", exc)
                        continue
                    shipped += 1
                    first_shipment.set()
            return shipped

        return body

    # when: 16 buyers order while 4 packers ship what gets routed
    bodies = [buyer(plan) for plan in plans] + [packer(i) for i in range(PACKERS)]
    _run_threads(bodies, outcomes)

    # then: nothing but domain refusals escaped, and every order was created
    assert outcomes.unexpected == [], outcomes.unexpected
    assert all(isinstance(e, (Conflict, ValidationError)) for e in outcomes.refused), [
        (type(e).__name__, e.code) for e in outcomes.refused
    ]
    assert Order.objects.count() == BUYERS * ORDERS_PER_BUYER
    assert OrderLine.objects.aggregate(n=Sum("quantity"))["n"] == demand
    assert Shipment.objects.exists(), "the packers shipped nothing while orders came in"
    # and the stock invariants hold mid-flight: no oversell, ledger = levels, committed = FOs
    assert_stock()
    assert_all()
    levels = _levels(product.pk)
    shipped = shipped_units(product.pk)
    on_hand = sum(v[0] for v in levels.values())
    committed = sum(v[1] for v in levels.values())
    assert shipped + on_hand == 100
    for location_id, initial in stock.items():
        assert _shipped_at(product.pk, location_id) + levels[location_id][0] == initial
        assert levels[location_id][1] == committed_by_live_fos().get((product.pk, location_id), 0)
    # every unit was promised (shipped or committed) and the rest of the demand waits on hold
    assert shipped + committed == 100
    assert _backordered(product.pk) == demand - 100

    # when: the packers' leftovers are shipped one by one
    for fo_id, order_id in _shippable(product.pk):
        _ship(order_id, fo_id)

    # then: everything left the building, nothing is committed, the backorders still wait
    assert _levels(product.pk) == {near.pk: (0, 0), far.pk: (0, 0)}
    assert shipped_units(product.pk) == 100
    assert _backordered(product.pk) == demand - 100
    assert_all()

    # when: ten more units arrive at the second location (backorders are routed after commit)
    inventory_adjust(
        product_id=product.pk, location_id=far.pk, reason="received", delta=10, actor=ACTOR
    )

    # then: they are committed to the oldest backorders, and the invariants still hold
    assert _levels(product.pk)[far.pk] == (10, 10)
    assert _backordered(product.pk) == demand - 110
    assert_all()


@pytest.mark.parametrize("picks", ["all", "explicit"])
def test_two_packers_shipping_the_same_fo_ship_it_once(picks):
    # given: an order of 3 routed to one location holding 10
    _carriers()
    location = LocationFactory(is_default=True)
    product = ProductFactory(sku="TWICE")
    inventory_adjust(
        product_id=product.pk, location_id=location.pk, reason="received", delta=10, actor=ACTOR
    )
    result = orders_create(drafts=[_draft("TWICE", 3)], actor=ACTOR)[0]
    fo = FulfillmentOrder.objects.get(order_id=result.order_id)
    lines = [LinePick(sku="TWICE", quantity=3)] if picks == "explicit" else None
    outcomes = Outcomes()

    # when: two packers ship all of it at the same moment
    _run_threads([lambda: _ship(result.order_id, fo.pk, lines) for _ in range(2)], outcomes)

    # then: one shipment, one refusal, stock taken once
    assert outcomes.unexpected == [], outcomes.unexpected
    assert len(outcomes.results) == 1
    assert len(outcomes.refused) == 1
    refusal = outcomes.refused[0]
    assert isinstance(refusal, (Conflict, ValidationError)), type(refusal)
    assert refusal.code in {
        "fulfillment_order_closed",
        "nothing_to_ship",
        "quantity_exceeds_remaining",
    }
    assert Shipment.objects.filter(order_id=result.order_id).count() == 1
    assert _levels(product.pk) == {location.pk: (7, 0)}
    fo.refresh_from_db()
    assert fo.status == FOStatus.CLOSED
    line = OrderLine.objects.get(order_id=result.order_id)
    assert (line.quantity_fulfilled, line.quantity_cancelled) == (3, 0)
    assert_quantities(result.order_id)
    assert_all()


def test_stock_arriving_while_orders_come_in_leaves_no_backorder_behind_available_stock():
    # given: 20 units over two locations, 8 buyers, 2 receivers adding units one at a time
    # (each arrival routes backorders after its commit) and 2 packers
    _carriers()
    near = LocationFactory(is_default=True)
    far = LocationFactory()
    product = ProductFactory(sku="RESTOCK")
    for location in (near, far):
        inventory_adjust(
            product_id=product.pk, location_id=location.pk, reason="received", delta=10, actor=ACTOR
        )
    rng = random.Random(20261128)
    plans = [[rng.randint(1, 4) for _ in range(5)] for _ in range(8)]
    arrivals = [[rng.choice((near.pk, far.pk)) for _ in range(15)] for _ in range(2)]
    busy = [len(plans) + len(arrivals)]
    guard = threading.Lock()
    outcomes = Outcomes()

    def finished() -> None:
        with guard:
            busy[0] -= 1

    def buyer(plan: list[int]) -> Callable[[], int]:
        def body() -> int:
            try:
                for qty in plan:
                    result = orders_create(drafts=[_draft("RESTOCK", qty)], actor=ACTOR)[0]
                    assert result.ok and result.created, result.errors
            finally:
                finished()
            return len(plan)

        return body

    def receiver(where: list[int]) -> Callable[[], int]:
        def body() -> int:
            try:
                for location_id in where:
                    inventory_adjust(
                        product_id=product.pk,
                        location_id=location_id,
                        reason="received",
                        delta=1,
                        actor=ACTOR,
                    )
            finally:
                finished()
            return len(where)

        return body

    def packer() -> int:
        shipped = 0
        while busy[0] > 0:
            for fo_id, order_id in _shippable(product.pk)[:2]:
                try:
                    _ship(order_id, fo_id)
                except DomainError as exc:
                    outcomes.add("refused", exc)
                    continue
                shipped += 1
        return shipped

    # when
    bodies = [buyer(p) for p in plans] + [receiver(a) for a in arrivals] + [packer, packer]
    _run_threads(bodies, outcomes)

    # then: only domain refusals, and the invariants hold
    assert outcomes.unexpected == [], outcomes.unexpected
    assert all(isinstance(e, (Conflict, ValidationError)) for e in outcomes.refused)
    assert_all()
    demand = sum(map(sum, plans))
    levels = _levels(product.pk)
    on_hand = sum(v[0] for v in levels.values())
    committed = sum(v[1] for v in levels.values())
    assert shipped_units(product.pk) + on_hand == 20 + 30
    # and no backorder waits while stock sits unpromised at a location it could ship from
    waiting = _backordered(product.pk)
    assert waiting == demand - shipped_units(product.pk) - committed
    if waiting:
        assert on_hand == committed, f"{waiting} units wait on hold while {levels} has stock free"
