"""Returns and refunds racing on one order, on PostgreSQL: never more units back than shipped,
never more money back than paid, and stock that matches what was restocked."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from colis.core.errors import DomainError
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import inventory_adjust
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import order_create
from colis.returns.models import Refund, Return, ReturnLine
from colis.returns.receiving import ReceivedUnits, return_receive, return_restock
from colis.returns.refunds import refund_create
from colis.returns.services import ReturnLineDraft, return_approve, return_create
from colis.shipping.models import Carrier
from colis.shipping.seed import carriers_apply
from tests.factories import ACTOR, ADDRESS_FR, LocationFactory, ProductFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks between connections need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def race(work: Callable[[int], Any]) -> tuple[list[Any], list[DomainError]]:
    """Run `work(i)` on THREADS threads released together; results and refusals."""
    gate = threading.Barrier(THREADS)
    guard = threading.Lock()
    done: list[Any] = []
    refused: list[DomainError] = []
    unexpected: list[BaseException] = []

    def run(i: int) -> None:
        try:
            gate.wait()
            out = work(i)
            with guard:
                done.append(out)
        except DomainError as exc:
            with guard:
                refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with guard:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not unexpected, unexpected
    return done, refused


@pytest.fixture
def shipped() -> tuple[Order, int]:
    """A paid order of 5 units at 10.00 (50.00), shipped whole; the location's id."""
    carriers_apply(Carrier)  # a transactional test starts from empty tables
    location = LocationFactory(is_default=True)
    product = ProductFactory(sku="RACE-A")
    inventory_adjust(
        product_id=product.pk, location_id=location.pk, reason="received", delta=5, actor=ACTOR
    )
    result = order_create(
        draft=OrderDraft(
            email="race@example.com",
            shipping_address=ADDRESS_FR,
            currency="EUR",
            financial_status="paid",
            lines=(LineDraft(sku="RACE-A", quantity=5, unit_price=Decimal("10.00")),),
        ),
        actor=ACTOR,
    )
    assert result.order_id is not None
    shipment_create(
        order_id=result.order_id,
        draft=ShipmentDraft(carrier="other", tracking_numbers=["R1"], notify_customer=False),
        actor=ACTOR,
    )
    return Order.objects.get(pk=result.order_id), location.pk


def test_racing_returns_never_bring_back_more_than_was_shipped(shipped):
    order, location_id = shipped

    def one_return(_: int) -> int:
        rma = return_create(
            order_id=order.pk,
            lines=[ReturnLineDraft(sku="RACE-A", quantity=2, reason="no_longer_needed")],
            source="api",
            actor=ACTOR,
        )
        return_approve(return_id=rma.pk, actor=ACTOR)
        return_receive(
            return_id=rma.pk,
            location_id=location_id,
            lines=[ReceivedUnits(sku="RACE-A", quantity=2, condition="resellable")],
            actor=ACTOR,
        )
        return_restock(return_id=rma.pk, actor=ACTOR)
        return rma.pk

    done, refused = race(one_return)
    assert len(done) == 2 and len(refused) == THREADS - 2
    assert {e.code for e in refused} == {"quantity_not_returnable"}
    assert Return.objects.filter(state="closed").count() == 2
    assert ReturnLine.objects.aggregate(n=Sum("quantity_restocked"))["n"] == 4
    level = InventoryLevel.objects.get(product__sku="RACE-A")
    assert (level.on_hand, level.committed) == (4, 0)
    returned = StockMovement.objects.filter(reason="returned").aggregate(n=Sum("delta_on_hand"))
    assert returned["n"] == 4


def test_racing_refunds_never_give_back_more_than_was_paid(shipped):
    order, _ = shipped

    def one_refund(_: int) -> int:
        return refund_create(order_id=order.pk, amount="15.00", currency="EUR", actor=ACTOR).pk

    done, refused = race(one_refund)
    assert len(done) == 3 and {e.code for e in refused} == {"refund_above_paid"}
    assert Refund.objects.aggregate(t=Sum("amount"))["t"] == Decimal("45.00")
    order.refresh_from_db()
    assert order.financial_status == "partially_refunded" and order.status == 14
    last = refund_create(order_id=order.pk, amount="5", currency="EUR", actor=ACTOR)
    assert last.pk
    order.refresh_from_db()
    assert order.financial_status == "refunded" and order.status == 4
