"""Order services: create one or a batch, cancel, set the status by hand, notes, labels."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.models import Event
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order, OrderStatusLabel
from colis.orders.services import (
    MAX_BATCH,
    order_cancel,
    order_create,
    order_note_add,
    order_status_set,
    orders_create,
    status_label_set,
)
from colis.orders.status import FulfillmentStatus, OrderStatus
from tests.conftest import order_counts
from tests.factories import ACTOR, ADDRESS_FR, ADDRESS_US, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def skus() -> list[str]:
    return [ProductFactory(sku=s).sku for s in ("BAR-A", "BAR-B")]


def draft(lines: list[tuple[str, int]] | None = None, **extra: Any) -> OrderDraft:
    values: dict[str, Any] = {
        "email": "buyer@example.com",
        "shipping_address": dict(ADDRESS_FR),
        "currency": "EUR",
        "financial_status": "paid",
        "lines": tuple(
            LineDraft(sku=sku, quantity=q, unit_price=Decimal("12.50"))
            for sku, q in (lines if lines is not None else [("BAR-A", 2)])
        ),
    }
    values.update(extra)
    return OrderDraft(**values)


def test_a_paid_order_is_created_with_lines_totals_and_its_event(skus):
    # given two products
    # when a paid order for both is created
    result = order_create(
        draft=draft([("BAR-A", 2), ("bar-b", 1)], shipping_price=Decimal("4.90")), actor=ACTOR
    )
    # then the order, its lines and one order_created event exist
    order = Order.objects.get(pk=result.order_id)
    assert result.created and result.number == order.number
    assert order.status == OrderStatus.AWAITING_FULFILLMENT
    assert order.fulfillment_status == FulfillmentStatus.UNFULFILLED
    assert order.subtotal == Decimal("37.50")
    assert order.total == Decimal("42.40")
    assert order.buyer_name == "Jeanne Martin"
    lines = list(order.lines.order_by("position"))
    assert [
        (ln.sku, ln.quantity, ln.quantity_fulfilled, ln.quantity_cancelled) for ln in lines
    ] == [
        ("BAR-A", 2, 0, 0),
        ("BAR-B", 1, 0, 0),
    ]
    event = Event.objects.get(order_id=order.pk)
    assert event.kind == "order_created"
    assert event.actor_label == ACTOR.label
    assert event.data == {
        "number": order.number,
        "status": "awaiting_fulfillment",
        "channel": "api",
    }


def test_a_pending_order_awaits_payment(skus):
    result = order_create(draft=draft(financial_status="pending"), actor=ACTOR)
    assert Order.objects.get(pk=result.order_id).status == OrderStatus.AWAITING_PAYMENT


def test_a_voided_order_is_born_cancelled_with_every_line_cancelled(skus):
    result = order_create(draft=draft(financial_status="voided"), actor=ACTOR)
    order = Order.objects.get(pk=result.order_id)
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert all(ln.quantity_cancelled == ln.quantity for ln in order.lines.all())


def test_generated_numbers_are_unique_and_skip_numbers_given_by_callers(skus):
    # given an order that arrived with an all-digit number of its own
    first = order_create(draft=draft(), actor=ACTOR)
    given = str(int(first.number) + 1)
    order_create(draft=draft(number=given), actor=ACTOR)
    # when more orders get generated numbers
    results = orders_create(drafts=[draft() for _ in range(5)], actor=ACTOR)
    # then none of them repeats a number, the supplied one included
    numbers = [first.number, given, *(r.number for r in results)]
    assert len(set(numbers)) == 7
    assert all(int(n) > int(given) for n in numbers[2:])
    assert Order.objects.count() == 7


def test_a_supplied_number_that_is_taken_is_refused_and_nothing_is_written(skus):
    order_create(draft=draft(number="WEB-1"), actor=ACTOR)
    before = order_counts()
    with pytest.raises(ValidationError) as caught:
        order_create(draft=draft(number="WEB-1", email="other@example.com"), actor=ACTOR)
    assert caught.value.code == "invalid_order"
    assert "number" in caught.value.fields
    assert order_counts() == before


def test_the_same_channel_id_returns_the_existing_order(skus):
    first = order_create(draft=draft(channel="shop", external_id="A-1"), actor=ACTOR)
    again = order_create(draft=draft(channel="shop", external_id="A-1"), actor=ACTOR)
    assert not again.created
    assert (again.order_id, again.number) == (first.order_id, first.number)
    assert Order.objects.count() == 1
    assert Event.objects.filter(kind="order_created").count() == 1
    # the same external id on another channel is another order
    other = order_create(draft=draft(channel="market", external_id="A-1"), actor=ACTOR)
    assert other.created and other.order_id != first.order_id


def test_a_batch_reports_each_bad_order_and_creates_the_good_ones(skus):
    # given a batch with an unknown SKU, a bad address, a bad email and a duplicate channel id
    drafts = [
        draft(external_id="E-1"),
        draft([("NOPE", 1)]),
        draft(shipping_address={**ADDRESS_US, "postal_code": "ABCDE"}),
        draft(email="nobody"),
        draft(external_id="E-1"),
        draft(currency="XYZ"),
        draft(),
    ]
    # when the batch is created
    results = orders_create(drafts=drafts, actor=ACTOR)
    # then each result sits at its index; the good ones exist, the bad ones name their field
    assert [r.index for r in results] == list(range(7))
    assert [r.ok for r in results] == [True, False, False, False, False, False, True]
    assert "lines[0].sku" in results[1].errors
    assert "shipping_address.postal_code" in results[2].errors
    assert "email" in results[3].errors
    assert "external_id" in results[4].errors
    assert "currency" in results[5].errors
    assert Order.objects.count() == 2
    assert Event.objects.filter(kind="order_created").count() == 2


def test_pre_errors_keep_their_index_between_the_drafts(skus):
    results = orders_create(
        drafts=[draft(), draft()], actor=ACTOR, pre_errors={1: {"lines[0].quantity": "bad"}}
    )
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, False), (2, True)]
    assert results[1].errors == {"lines[0].quantity": "bad"}
    assert Order.objects.count() == 2


def test_a_batch_above_the_limit_is_refused_whole(skus):
    with pytest.raises(ValidationError) as caught:
        orders_create(drafts=[draft()] * (MAX_BATCH + 1), actor=ACTOR)
    assert caught.value.code == "batch_too_large"
    assert order_counts() == (0, 0, 0)


def test_cancel_cancels_every_line_and_writes_the_event(skus):
    # given a paid order
    order_id = order_create(draft=draft([("BAR-A", 2), ("BAR-B", 3)]), actor=ACTOR).order_id
    # when it is cancelled
    order = order_cancel(order_id=order_id, reason="buyer asked", actor=ACTOR)
    # then the order and each line say so, and the timeline has order_cancelled
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "buyer asked"
    assert order.cancelled_at is not None
    assert [(ln.quantity, ln.quantity_cancelled) for ln in order.lines.order_by("position")] == [
        (2, 2),
        (3, 3),
    ]
    event = Event.objects.get(order_id=order_id, kind="order_cancelled")
    assert event.data == {"reason": "buyer asked", "from": "awaiting_fulfillment"}


def test_cancelling_twice_is_a_conflict_and_writes_nothing(skus):
    order_id = order_create(draft=draft(), actor=ACTOR).order_id
    order_cancel(order_id=order_id, actor=ACTOR)
    with pytest.raises(Conflict) as caught:
        order_cancel(order_id=order_id, actor=ACTOR)
    assert caught.value.code == "order_already_cancelled"
    assert Event.objects.filter(kind="order_cancelled").count() == 1


def test_a_shipped_order_cannot_be_cancelled(skus):
    order_id = order_create(draft=draft(), actor=ACTOR).order_id
    order_status_set(order_id=order_id, status=OrderStatus.SHIPPED, actor=ACTOR)
    with pytest.raises(Conflict) as caught:
        order_cancel(order_id=order_id, actor=ACTOR)
    assert caught.value.code == "invalid_status_transition"
    order = Order.objects.get(pk=order_id)
    assert order.status == OrderStatus.SHIPPED
    assert not order.lines.filter(quantity_cancelled__gt=0).exists()


def test_a_manual_status_change_writes_its_event(skus):
    order_id = order_create(draft=draft(), actor=ACTOR).order_id
    order_status_set(
        order_id=order_id, status=OrderStatus.AWAITING_SHIPMENT, note="packed", actor=ACTOR
    )
    assert Order.objects.get(pk=order_id).status == OrderStatus.AWAITING_SHIPMENT
    event = Event.objects.get(order_id=order_id, kind="order_status_changed")
    assert event.data == {
        "from": "awaiting_fulfillment",
        "to": "awaiting_shipment",
        "manual": True,
        "note": "packed",
    }


def test_an_illegal_or_empty_status_change_changes_nothing(skus):
    order_id = order_create(draft=draft(financial_status="pending"), actor=ACTOR).order_id
    with pytest.raises(Conflict) as illegal:
        order_status_set(order_id=order_id, status=OrderStatus.SHIPPED, actor=ACTOR)
    with pytest.raises(Conflict) as same:
        order_status_set(order_id=order_id, status=OrderStatus.AWAITING_PAYMENT, actor=ACTOR)
    assert illegal.value.code == "invalid_status_transition"
    assert same.value.code == "status_unchanged"
    assert Order.objects.get(pk=order_id).status == OrderStatus.AWAITING_PAYMENT
    assert not Event.objects.filter(kind="order_status_changed").exists()


def test_setting_cancelled_by_hand_is_a_cancel(skus):
    order_id = order_create(draft=draft(), actor=ACTOR).order_id
    order_status_set(order_id=order_id, status=OrderStatus.CANCELLED, note="fraud", actor=ACTOR)
    order = Order.objects.get(pk=order_id)
    assert order.status == OrderStatus.CANCELLED
    assert all(ln.quantity_cancelled == ln.quantity for ln in order.lines.all())
    assert Event.objects.get(order_id=order_id, kind="order_cancelled").data["reason"] == "fraud"


def test_services_on_an_unknown_order_raise_not_found():
    with pytest.raises(NotFound):
        order_cancel(order_id=999_999, actor=ACTOR)
    with pytest.raises(NotFound):
        order_status_set(order_id=999_999, status=OrderStatus.SHIPPED, actor=ACTOR)
    with pytest.raises(NotFound):
        order_note_add(order_id=999_999, text="hello", actor=ACTOR)
    assert not Event.objects.exists()


def test_a_note_lands_on_the_timeline_and_an_empty_one_is_refused(skus):
    order_id = order_create(draft=draft(), actor=ACTOR).order_id
    order_note_add(order_id=order_id, text="  gift wrap  ", actor=ACTOR)
    assert Event.objects.get(order_id=order_id, kind="order_note_added").data == {
        "text": "gift wrap"
    }
    for bad in ("", "   ", "x" * 5001):
        with pytest.raises(ValidationError) as caught:
            order_note_add(order_id=order_id, text=bad, actor=ACTOR)
        assert caught.value.fields == {"text": "1 to 5,000 characters."}
    assert Event.objects.filter(kind="order_note_added").count() == 1


def test_a_status_label_is_renamed_with_an_event():
    status_label_set(status=OrderStatus.AWAITING_FULFILLMENT, label=" To pick ", actor=ACTOR)
    assert OrderStatusLabel.objects.get(status=11).label == "To pick"
    event = Event.objects.get(kind="status_label_set")
    assert event.data == {"status": "awaiting_fulfillment", "label": "To pick"}
    with pytest.raises(NotFound):
        status_label_set(status=15, label="x", actor=ACTOR)
    with pytest.raises(ValidationError):
        status_label_set(status=11, label="  ", actor=ACTOR)
    assert OrderStatusLabel.objects.count() == 1
