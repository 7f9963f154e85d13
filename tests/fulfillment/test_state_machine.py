"""Random sequences of fulfillment operations keep the stock and quantity invariants.

A hypothesis state machine creates orders over two SKUs and two locations, then pays, holds,
releases, moves, splits, merges, ships, delivers and cancels them while stock is counted up and
down. After every step the invariants of DESIGN.md (1 and 2) and the derived order statuses are
checked over the whole database; an operation the domain refuses must have changed nothing.

Each example runs inside the test's transaction under its own savepoint, rolled back at the end.
Callbacks registered with `on_commit` (stock arrival routes backorders) run right after the
operation that registered them, as they would after its commit.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from decimal import Decimal
from typing import Any

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from colis.core.cache import snapshots_forget
from colis.core.errors import DomainError
from colis.core.models import Event, OutboxMessage
from colis.fulfillment.backorders import backorders_sweep
from colis.fulfillment.models import (
    FulfillmentHold,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Shipment,
    ShipmentLine,
)
from colis.fulfillment.reshape import (
    fulfillment_order_move,
    fulfillment_order_split,
    fulfillment_orders_merge,
)
from colis.fulfillment.services import (
    LinePick,
    fulfillment_order_cancel,
    fulfillment_order_hold,
    fulfillment_order_release,
    order_hold,
    order_pay,
    order_release,
)
from colis.fulfillment.shipment_changes import (
    shipment_cancel,
    shipment_deliver,
)
from colis.fulfillment.shipments import (
    ShipmentDraft,
    shipment_create,
)
from colis.fulfillment.status import LIVE_FO, ShipmentStatus
from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import inventory_adjust
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order, OrderLine
from colis.orders.services import order_cancel, orders_create
from colis.shipping.models import Carrier
from colis.shipping.seed import carriers_apply
from tests.factories import ACTOR, ADDRESS_FR, LocationFactory, ProductFactory
from tests.fulfillment.invariants import assert_all

# Raise it for a deeper search: COLIS_STATEFUL_EXAMPLES=500 pytest tests/fulfillment/...
EXAMPLES = int(os.environ.get("COLIS_STATEFUL_EXAMPLES") or 25)
SKUS = ("SM-A", "SM-B")
HOLD_REASONS = ("other", "high_risk_of_fraud", "incorrect_address", "awaiting_payment")
picks = st.integers(min_value=0, max_value=10_000)
# 1-2 lines over the two SKUs (the same SKU may come twice), 1-4 units each
order_lines = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 4)), min_size=1, max_size=2)
paid = st.integers(0, 3).map(bool)  # three orders in four are paid
has_orders = precondition(lambda self: self.counts[0] > 0)
has_fos = precondition(lambda self: self.counts[1] > 0)
has_shipments = precondition(lambda self: self.counts[2] > 0)


def snapshot() -> tuple[Any, ...]:
    """Everything an operation may change, to compare before and after a refusal."""
    return (
        list(InventoryLevel.objects.order_by("pk").values_list("pk", "on_hand", "committed")),
        StockMovement.objects.count(),
        list(
            FulfillmentOrder.objects.order_by("pk").values_list(
                "pk", "order_id", "location_id", "status", "commits_stock", "request_status"
            )
        ),
        list(
            FulfillmentOrderLine.objects.order_by("pk").values_list(
                "pk", "fulfillment_order_id", "order_line_id", "quantity", "quantity_fulfilled"
            )
        ),
        list(
            FulfillmentHold.objects.order_by("pk").values_list(
                "pk", "fulfillment_order_id", "reason"
            )
        ),
        list(
            Order.objects.order_by("pk").values_list(
                "pk", "status", "fulfillment_status", "financial_status"
            )
        ),
        list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "quantity", "quantity_fulfilled", "quantity_cancelled"
            )
        ),
        list(Shipment.objects.order_by("pk").values_list("pk", "status")),
        ShipmentLine.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
    )


class ListenerFailures(logging.Handler):
    """Collects what the stock-arrival listeners log when they fail (they never raise)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class FulfillmentMachine(RuleBasedStateMachine):
    capture: Any = None  # django_capture_on_commit_callbacks, set by the test
    failures: ListenerFailures

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        snapshots_forget()
        carriers_apply(Carrier)
        self.locations = [LocationFactory(), LocationFactory()]  # by priority
        self.products = [ProductFactory(sku=sku) for sku in SKUS]
        self.refused: Counter[str] = Counter()
        self.done: Counter[str] = Counter()
        self.listener_lost = False
        self.counts = (0, 0, 0)  # orders, FOs, shipments: which rules have something to act on

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    # -- helpers ------------------------------------------------------------------------------

    def _do(self, name: str, fn: Any, **kwargs: Any) -> Any:
        """Run one operation as its own commit would: on-commit callbacks run after it. A
        refusal must leave the database as it was."""
        before = snapshot()
        try:
            with self.capture(execute=True):
                result = fn(**kwargs)
        except DomainError as exc:
            after = snapshot()
            changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            assert not changed, (
                f"{name}({kwargs}) was refused ({exc.code}) but changed snapshot parts {changed}:"
                f"\nbefore={[before[i] for i in changed]}\nafter={[after[i] for i in changed]}"
            )
            self.refused[f"{name}:{exc.code}"] += 1
            return None
        self.done[name] += 1
        return result

    def _count(self) -> None:
        self.counts = (
            Order.objects.count(),
            FulfillmentOrder.objects.count(),
            Shipment.objects.count(),
        )

    @staticmethod
    def _pick(rows: list[Any], pick: int) -> Any:
        return rows[pick % len(rows)] if rows else None

    def _order(self, pick: int) -> int | None:
        return self._pick(list(Order.objects.order_by("pk").values_list("pk", flat=True)), pick)

    def _fo(self, pick: int) -> FulfillmentOrder | None:
        """Mostly a live FO; one pick in four among all of them (closed ones are refused)."""
        fos = FulfillmentOrder.objects.order_by("pk")
        live = list(fos.filter(status__in=LIVE_FO)) if pick % 4 else []
        return self._pick(live or list(fos), pick // 4)

    def _shipment(self, pick: int) -> int | None:
        """Mostly a shipment that was not cancelled; one pick in four among all of them."""
        shipments = Shipment.objects.order_by("pk")
        if pick % 4:
            shipments = shipments.exclude(status=ShipmentStatus.CANCELLED) or shipments
        return self._pick(list(shipments.values_list("pk", flat=True)), pick // 4)

    # -- rules --------------------------------------------------------------------------------

    @initialize(stock=st.lists(st.integers(0, 8), min_size=4, max_size=4))
    def stock_up(self, stock: list[int]) -> None:
        for i, qty in enumerate(stock):
            if qty:
                self._do(
                    "inventory_adjust",
                    inventory_adjust,
                    product_id=self.products[i % 2].pk,
                    location_id=self.locations[i // 2].pk,
                    reason="received",
                    delta=qty,
                    actor=ACTOR,
                )
        self._count()

    @initialize(paid=paid, lines=order_lines)
    def first_order(self, paid: bool, lines: list[tuple[int, int]]) -> None:
        self.create_order(paid, lines)

    @rule(paid=paid, lines=order_lines)
    def create_order(self, paid: bool, lines: list[tuple[int, int]]) -> None:
        draft = OrderDraft(
            email="buyer@example.com",
            shipping_address=dict(ADDRESS_FR),
            currency="EUR",
            financial_status="paid" if paid else "pending",
            lines=tuple(
                LineDraft(sku=SKUS[sku], quantity=qty, unit_price=Decimal("4.50"))
                for sku, qty in lines
            ),
        )
        results = self._do("orders_create", orders_create, drafts=[draft], actor=ACTOR)
        assert results is not None and results[0].ok and results[0].created, results

    @rule(pick=picks)
    @has_orders
    def pay(self, pick: int) -> None:
        order_id = self._order(pick)
        if order_id is not None:
            self._do("order_pay", order_pay, order_id=order_id, actor=ACTOR)

    @rule(pick=picks, reason=st.sampled_from(HOLD_REASONS), whole_order=st.booleans())
    @has_fos
    def hold(self, pick: int, reason: str, whole_order: bool) -> None:
        fo = self._fo(pick)
        if fo is None:
            return
        if whole_order:
            self._do("order_hold", order_hold, order_id=fo.order_id, reason=reason, actor=ACTOR)
        else:
            self._do(
                "fulfillment_order_hold",
                fulfillment_order_hold,
                fo_id=fo.pk,
                reason=reason,
                actor=ACTOR,
            )

    @rule(pick=picks, whole_order=st.booleans())
    @has_fos
    def release(self, pick: int, whole_order: bool) -> None:
        fo = self._fo(pick)
        if fo is None:
            return
        if whole_order:
            self._do("order_release", order_release, order_id=fo.order_id, actor=ACTOR)
        else:
            self._do(
                "fulfillment_order_release", fulfillment_order_release, fo_id=fo.pk, actor=ACTOR
            )

    @rule(pick=picks)
    @has_fos
    def move_fo(self, pick: int) -> None:
        fo = self._fo(pick)
        if fo is None:
            return
        other = next(loc for loc in self.locations if loc.pk != fo.location_id)
        self._do(
            "fulfillment_order_move",
            fulfillment_order_move,
            fo_id=fo.pk,
            location_id=other.pk,
            actor=ACTOR,
        )

    @rule(pick=picks, line=picks, qty=picks, by_id=st.booleans())
    @has_fos
    def split_fo(self, pick: int, line: int, qty: int, by_id: bool) -> None:
        fo = self._fo(pick)
        if fo is None:
            return
        lines = [ln for ln in fo.lines.order_by("pk") if ln.remaining]
        ln = self._pick(lines, line)
        if ln is None:
            return
        quantity = 1 + qty % ln.remaining
        chosen = (
            LinePick(line_id=ln.order_line_id, quantity=quantity)
            if by_id
            else LinePick(sku=ln.sku, quantity=quantity)
        )
        self._do(
            "fulfillment_order_split",
            fulfillment_order_split,
            fo_id=fo.pk,
            lines=[chosen],
            actor=ACTOR,
        )

    @rule(pick=picks, a=picks, b=picks)
    @has_orders
    def merge_fos(self, pick: int, a: int, b: int) -> None:
        """Two FOs of one order: mostly two live ones of an order that has several."""
        fos = FulfillmentOrder.objects.order_by("pk")
        if pick % 4:
            fos = fos.filter(status__in=LIVE_FO)
        by_order: dict[int, list[int]] = {}
        for fo_id, order_id in fos.values_list("pk", "order_id"):
            by_order.setdefault(order_id, []).append(fo_id)
        several = [ids for _, ids in sorted(by_order.items()) if len(ids) > 1]
        group = self._pick(several, pick // 4)
        if group is None:
            return
        first = group[a % len(group)]
        second = group[(a + 1 + b % (len(group) - 1)) % len(group)]
        self._do(
            "fulfillment_orders_merge",
            fulfillment_orders_merge,
            fo_ids=[first, second],
            actor=ACTOR,
        )

    def _ship(self, fo: FulfillmentOrder, lines: list[LinePick] | None, tag: int) -> None:
        self._do(
            "shipment_create",
            shipment_create,
            order_id=fo.order_id,
            draft=ShipmentDraft(
                fulfillment_order_id=fo.pk,
                lines=lines,
                carrier="other",
                tracking_numbers=[f"SM{fo.pk}X{tag}"],
                notify_customer=False,
            ),
            actor=ACTOR,
        )

    @rule(pick=picks)
    @has_fos
    def ship_all(self, pick: int) -> None:
        fo = self._fo(pick)
        if fo is not None:
            self._ship(fo, None, pick)

    @rule(pick=picks, line=picks, qty=picks)
    @has_fos
    def ship_part(self, pick: int, line: int, qty: int) -> None:
        fo = self._fo(pick)
        ln = self._pick(list(fo.lines.order_by("pk")), line) if fo is not None else None
        if ln is not None:
            # up to one more than is left, so that some picks are refused
            self._ship(fo, [LinePick(sku=ln.sku, quantity=1 + qty % (ln.remaining + 1))], qty)

    @rule(pick=picks)
    @has_shipments
    def cancel_shipment(self, pick: int) -> None:
        shipment_id = self._shipment(pick)
        if shipment_id is not None:
            self._do("shipment_cancel", shipment_cancel, shipment_id=shipment_id, actor=ACTOR)

    @rule(pick=picks)
    @has_shipments
    def deliver_shipment(self, pick: int) -> None:
        shipment_id = self._shipment(pick)
        if shipment_id is not None:
            self._do("shipment_deliver", shipment_deliver, shipment_id=shipment_id, actor=ACTOR)

    @rule(pick=picks, whole_order=st.booleans())
    @has_fos
    def cancel(self, pick: int, whole_order: bool) -> None:
        fo = self._fo(pick)
        if fo is None:
            return
        if whole_order:
            self._do("order_cancel", order_cancel, order_id=fo.order_id, reason="test", actor=ACTOR)
        else:
            self._do("fulfillment_order_cancel", fulfillment_order_cancel, fo_id=fo.pk, actor=ACTOR)

    @rule(product=st.integers(0, 1), location=st.integers(0, 1), delta=st.integers(-3, 3))
    def adjust_stock(self, product: int, location: int, delta: int) -> None:
        if delta:
            self._do(
                "inventory_adjust",
                inventory_adjust,
                product_id=self.products[product].pk,
                location_id=self.locations[location].pk,
                reason="correction",
                delta=delta,
                actor=ACTOR,
            )

    @rule(
        product=st.integers(0, 1),
        location=st.integers(0, 1),
        qty=st.integers(1, 5),
        listener_lost=st.integers(0, 3).map(lambda n: n == 0),
    )
    def receive_stock(self, product: int, location: int, qty: int, listener_lost: bool) -> None:
        """Stock arrives; backorders are routed after the commit. Once in four the listener
        never runs (the process died right after the commit): backorders wait for the sweep."""
        kwargs = {
            "product_id": self.products[product].pk,
            "location_id": self.locations[location].pk,
            "reason": "received",
            "delta": qty,
            "actor": ACTOR,
        }
        if listener_lost:
            self.listener_lost = True
            inventory_adjust(**kwargs)  # its on-commit callback is left pending, never run
        else:
            self._do("inventory_adjust", inventory_adjust, **kwargs)

    @rule()
    @precondition(lambda self: self.listener_lost)
    def sweep(self) -> None:
        """The worker's housekeeping routes the backorders a lost listener left waiting."""
        self.listener_lost = False
        self._do("backorders_sweep", backorders_sweep)

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        self._count()
        assert not self.failures.records, [
            (r.getMessage(), r.exc_info and repr(r.exc_info[1])) for r in self.failures.records
        ]
        assert_all()


def test_random_fulfillment_sequences_keep_the_invariants(db, django_capture_on_commit_callbacks):
    failures = ListenerFailures()
    logger = logging.getLogger("colis.inventory.hooks")
    logger.addHandler(failures)
    FulfillmentMachine.capture = staticmethod(django_capture_on_commit_callbacks)
    FulfillmentMachine.failures = failures
    try:
        run_state_machine_as_test(
            FulfillmentMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=25,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            ),
        )
    finally:
        logger.removeHandler(failures)
