"""Stock under concurrent writers on PostgreSQL: no lost update, no oversell, no deadlock.

Each thread has its own database connection and closes it when done. Threads start together
behind a barrier so their transactions really overlap.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from colis.core.models import Event
from colis.inventory.exceptions import InsufficientStock
from colis.inventory.models import StockMovement, Transfer
from colis.inventory.receiving import ProductQuantity, transfer_create
from colis.inventory.services import StockChange, inventory_adjust, inventory_apply
from tests.factories import ACTOR, LocationFactory, ProductFactory
from tests.inventory.helpers import assert_ledger_matches, level_of, on_hand

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

JOIN_TIMEOUT = 120  # seconds; only a deadlock or a hang would come near it


def _run_threads(bodies: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    """Run each body in its own thread, all released at once; return results and errors."""
    barrier = threading.Barrier(len(bodies))
    results: list[object] = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker(body: Callable[[], object]) -> None:
        try:
            barrier.wait()
            result = body()
            with guard:
                results.append(result)
        except BaseException as exc:  # reported to the test below
            with guard:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(body,), daemon=True) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads did not finish (deadlock or hang): {stuck}"
    return results, errors


def _never_below_zero(rng: random.Random, length: int) -> list[int]:
    """+1/-1 steps, mixed at random, whose running sum never drops below zero."""
    steps, running = [], 0
    for _ in range(length):
        step = 1 if running == 0 else rng.choice((1, -1))
        steps.append(step)
        running += step
    return steps


def test_sixteen_threads_adjusting_one_level_lose_no_update():
    # given: a fresh product (no level row yet) and 16 workers with 25 mixed steps each
    location = LocationFactory(is_default=True)
    product = ProductFactory()
    rng = random.Random(20261126)
    plans = [_never_below_zero(rng, 25) for _ in range(16)]
    assert any(-1 in plan for plan in plans)

    def adjust(plan: list[int]) -> Callable[[], int]:
        def body() -> int:
            for step in plan:
                inventory_adjust(
                    product_id=product.pk,
                    location_id=location.pk,
                    reason="correction",
                    delta=step,
                    actor=ACTOR,
                )
            return len(plan)

        return body

    # when
    results, errors = _run_threads([adjust(plan) for plan in plans])

    # then: every step landed exactly once
    assert errors == []
    assert sum(results) == 400
    level = level_of(product.pk, location.pk)
    assert level.on_hand == sum(sum(plan) for plan in plans)
    movements = StockMovement.objects.filter(level=level)
    assert movements.count() == 400
    assert sorted(movements.values_list("delta_on_hand", flat=True)) == sorted(
        step for plan in plans for step in plan
    )
    assert_ledger_matches(level)
    # and the ledger reads as a serial history: each row follows the one before it
    running = 0
    for delta, after in movements.order_by("pk").values_list("delta_on_hand", "on_hand_after"):
        running += delta
        assert after == running
        assert after >= 0
    assert (
        Event.objects.filter(
            subject_type="inventory_level", subject_id=level.pk, kind="inventory_adjusted"
        ).count()
        == 400
    )


def test_batches_locking_two_levels_in_opposite_orders_do_not_deadlock():
    # given: two stocked levels
    location = LocationFactory(is_default=True)
    a, b = ProductFactory(), ProductFactory()
    for product in (a, b):
        inventory_adjust(
            product_id=product.pk,
            location_id=location.pk,
            reason="received",
            delta=1000,
            actor=ACTOR,
        )
    rounds, workers = 20, 12

    def move(first, second) -> Callable[[], int]:
        def body() -> int:
            for _ in range(rounds):
                inventory_apply(
                    changes=[
                        StockChange(
                            product_id=first.pk,
                            location_id=location.pk,
                            reason="correction",
                            on_hand=-2,
                        ),
                        StockChange(
                            product_id=second.pk,
                            location_id=location.pk,
                            reason="correction",
                            on_hand=+1,
                        ),
                    ],
                    actor=ACTOR,
                )
            return rounds

        return body

    # when: half the workers touch A then B, the other half B then A
    bodies = [move(a, b) if i % 2 == 0 else move(b, a) for i in range(workers)]
    results, errors = _run_threads(bodies)

    # then: all finished, none was chosen as a deadlock victim, the totals are exact
    assert errors == []
    assert sum(results) == rounds * workers
    half = rounds * workers // 2
    expected = 1000 - 2 * half + half
    assert on_hand(a.pk, location.pk) == expected
    assert on_hand(b.pk, location.pk) == expected
    for product in (a, b):
        level = level_of(product.pk, location.pk)
        assert StockMovement.objects.filter(level=level).count() == 1 + rounds * workers
        assert_ledger_matches(level)


def test_concurrent_transfers_never_send_more_than_the_origin_holds():
    # given: 20 units at the origin; 10 workers each try to send 3
    origin = LocationFactory(is_default=True)
    destination = LocationFactory()
    product = ProductFactory()
    inventory_adjust(
        product_id=product.pk, location_id=origin.pk, reason="received", delta=20, actor=ACTOR
    )

    def send() -> int:
        transfer = transfer_create(
            origin_id=origin.pk,
            destination_id=destination.pk,
            lines=[ProductQuantity(product_id=product.pk, quantity=3)],
            actor=ACTOR,
        )
        return transfer.pk

    # when
    results, errors = _run_threads([send for _ in range(10)])

    # then: exactly six fit, four are refused as short, and stock is never negative
    assert len(results) == 6
    assert len(errors) == 4
    assert all(isinstance(e, InsufficientStock) for e in errors)
    assert Transfer.objects.count() == 6
    assert on_hand(product.pk, origin.pk) == 2
    level = level_of(product.pk, origin.pk)
    assert StockMovement.objects.filter(level=level, reason="transfer").count() == 6
    assert_ledger_matches(level)
    assert Event.objects.filter(kind="transfer_created").count() == 6
