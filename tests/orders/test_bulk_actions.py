"""Bulk actions: the dry run says exactly what the real run does, order by order; one bad order
never stops the others; each order changes in its own transaction, through the services."""

from __future__ import annotations

import pytest

from colis.core.models import Event, OutboxMessage
from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.fulfillment.services import order_hold
from colis.orders import bulk_actions
from colis.orders.bulk_actions import bulk_action_build, bulk_run, order_printed_mark
from colis.orders.models import Order
from colis.orders.services import order_cancel
from colis.orders.status import OrderStatus
from tests.factories import ACTOR, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
UPS_OK = ["1Z5R89390357567127", "1Z879E930346834440", "1Z410E7W0392751591"]
UPS_BAD = "1Z5R89390357567128"  # wrong check digit


@pytest.fixture
def world(api, stocked):
    """Orders in every state a bulk action meets, by name; `missing` is an id with no order."""
    stocked("BAR-A", qty=100)
    stocked("BAR-B", qty=100)

    def make(**extra):
        response = api.post(ORDERS, order_body([("BAR-A", 1), ("BAR-B", 2)], **extra))
        assert response.status_code == 201, response.content
        return response.json()["id"]

    ids = {
        "open": make(),
        "open2": make(),
        "cancelled": make(),
        "shipped": make(),
        "held": make(),
        "unpaid": make(financial_status="pending"),
    }
    order_cancel(order_id=ids["cancelled"], actor=ACTOR)
    shipped = api.post(
        f"{ORDERS}/{ids['shipped']}/shipments", {"carrier": "ups", "tracking_numbers": [UPS_OK[2]]}
    )
    assert shipped.status_code == 201, shipped.content
    order_hold(order_id=ids["held"], reason="other", notes="check", actor=ACTOR)
    ids["missing"] = max(ids.values()) + 1000
    return ids


def _verdicts(report):
    return [(r.order_id, r.ok, r.skipped["code"] if r.skipped else None) for r in report.outcomes]


def _writes():
    return Event.objects.count(), OutboxMessage.objects.count(), Shipment.objects.count()


ACTIONS = [
    ("hold", {"reason": "high_risk_of_fraud", "notes": "bulk"}),
    ("release", {}),
    ("set-status", {"status": "awaiting_shipment"}),
    ("set-status", {"status": "cancelled"}),
    ("cancel", {"reason": "bulk"}),
    ("print", {"document": "packing_slip", "mark_awaiting_shipment": True}),
    ("fulfill", {"carrier": "other"}),
]


@pytest.mark.parametrize(("name", "options"), ACTIONS, ids=[f"{n}{o}" for n, o in ACTIONS])
def test_the_dry_run_says_what_the_real_run_does_for_each_order(world, name, options):
    # given a batch mixing orders each action can and cannot touch
    ids = list(world.values())
    before = _writes()
    # when the action is tried, then run
    dry = bulk_run(
        action=bulk_action_build(name=name, options=options, dry_run=True),
        order_ids=ids,
        actor=ACTOR,
    )
    # then the dry run wrote nothing
    assert _writes() == before
    real = bulk_run(
        action=bulk_action_build(name=name, options=options), order_ids=ids, actor=ACTOR
    )
    # and each order is done or skipped, for the same reason, in both runs
    assert _verdicts(dry) == _verdicts(real)
    assert any(ok for _, ok, _ in _verdicts(real))
    assert any(not ok for _, ok, _ in _verdicts(real))
    # and what the dry run said it would do is what was done
    for would, did in zip(dry.outcomes, real.outcomes, strict=True):
        if would.ok and name != "fulfill":
            assert {k: v for k, v in (did.detail or {}).items() if k != "released"} == would.detail
    codes = dict(zip(world, [code for _, _, code in _verdicts(real)], strict=True))
    assert codes["missing"] == "order_not_found"
    assert codes["cancelled"] is not None


EXPECTED = {
    "hold": {
        "open": None,
        "open2": None,
        "cancelled": "order_cancelled",
        "shipped": "order_shipped",
        "held": None,
        "unpaid": None,
        "missing": "order_not_found",
    },
    "release": {
        "open": "not_on_hold",
        "open2": "not_on_hold",
        "cancelled": "order_cancelled",
        "shipped": "not_on_hold",
        "held": None,
        "unpaid": None,
        "missing": "order_not_found",
    },
    "cancel": {
        "open": None,
        "open2": None,
        "cancelled": "order_already_cancelled",
        "shipped": "invalid_status_transition",
        "held": None,
        "unpaid": None,
        "missing": "order_not_found",
    },
    "fulfill": {
        "open": None,
        "open2": None,
        "cancelled": "order_cancelled",
        "shipped": "order_shipped",
        "held": "fulfillment_order_on_hold",
        "unpaid": "fulfillment_order_on_hold",
        "missing": "order_not_found",
    },
}
OPTIONS = {
    "hold": {"reason": "other"},
    "release": {},
    "cancel": {},
    "fulfill": {"carrier": "other"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_order_is_skipped_for_its_own_reason(world, name):
    # when the action runs over the mixed batch
    report = bulk_run(
        action=bulk_action_build(name=name, options=OPTIONS[name]),
        order_ids=list(world.values()),
        actor=ACTOR,
    )
    # then each order is done, or skipped with the code that says why
    codes = {
        label: (o.skipped or {}).get("code")
        for label, o in zip(world, report.outcomes, strict=True)
    }
    expected = dict(EXPECTED[name])
    if name == "hold":
        # already held for "other": the hold this batch asks for
        expected["held"] = "already_on_hold"
    assert codes == expected
    assert all(o.number for o in report.outcomes if o.order_id != world["missing"])


def test_fulfill_ships_each_order_with_its_own_tracking_and_skips_a_bad_number(world):
    # given per-order tracking numbers, one of them failing UPS's check digit
    shipments = {
        world["open"]: {"carrier": "ups", "tracking_numbers": [UPS_OK[0]]},
        world["open2"]: {"carrier": "ups", "tracking_numbers": [UPS_BAD]},
        world["held"]: {"carrier": "ups", "tracking_numbers": [UPS_OK[1]]},
    }
    action = bulk_action_build(name="fulfill", options={}, shipments=shipments)
    # when the batch runs
    report = bulk_run(action=action, order_ids=list(shipments), actor=ACTOR)
    # then the good order shipped with its number, and the two others are skipped
    ok, bad, held = report.outcomes
    assert ok.ok and ok.detail["shipments"][0]["tracking_numbers"] == [UPS_OK[0]]
    shipment = Shipment.objects.get(order_id=world["open"])
    assert (shipment.carrier, shipment.tracking_numbers) == ("ups", [UPS_OK[0]])
    assert Order.objects.get(pk=world["open"]).fulfillment_status == "fulfilled"
    assert bad.skipped["code"] == "invalid_tracking_number"
    assert "tracking_numbers[0]" in bad.skipped["fields"]
    assert held.skipped["code"] == "fulfillment_order_on_hold"
    assert not Shipment.objects.filter(order_id__in=[world["open2"], world["held"]]).exists()
    # and the shipped order's effects are queued once (email, webhook)
    kinds = set(
        OutboxMessage.objects.filter(
            order_id=world["open"], payload__event="shipment.created"
        ).values_list("kind", flat=True)
    )
    assert kinds == {"customer_email", "webhook_event"}


def test_one_failing_order_does_not_stop_the_others(world, monkeypatch):
    # given a service that breaks on one order (a fault of ours, not a refusal)
    real_hold = bulk_actions.order_hold

    def flaky(*, order_id, **kwargs):
        if order_id == world["open2"]:
            raise RuntimeError("boom")
        return real_hold(order_id=order_id, **kwargs)

    monkeypatch.setattr(bulk_actions, "order_hold", flaky)
    ids = [world["open"], world["open2"], world["unpaid"]]
    # when the batch runs
    report = bulk_run(
        action=bulk_action_build(name="hold", options={"reason": "other"}),
        order_ids=ids,
        actor=ACTOR,
    )
    # then the broken order is reported and left as it was; the others are held
    assert [o.ok for o in report.outcomes] == [True, False, True]
    assert report.outcomes[1].skipped["code"] == "internal_error"
    assert FulfillmentOrder.objects.get(order_id=world["open2"]).status == "open"
    for order_id in (world["open"], world["unpaid"]):
        assert Event.objects.filter(order_id=order_id, kind="fulfillment_order_held").count() >= 1
    assert report.as_json()["summary"] == {
        "total": 3,
        "ok": 2,
        "skipped": 1,
        "skipped_by_code": {"internal_error": 1},
    }


def test_printing_marks_the_timeline_and_moves_to_awaiting_shipment(world):
    # when an open order is marked printed with the move
    order_printed_mark(
        order_id=world["open"], document="packing_slip", awaiting_shipment=True, actor=ACTOR
    )
    # then its timeline says so and it awaits shipment
    event = Event.objects.get(order_id=world["open"], kind="documents_printed")
    assert event.data == {"document": "packing_slip"}
    assert Order.objects.get(pk=world["open"]).status == OrderStatus.AWAITING_SHIPMENT
    assert Event.objects.filter(order_id=world["open"], kind="order_status_changed").count() == 1
    # and a shipped order is marked printed but keeps its status
    order_printed_mark(
        order_id=world["shipped"], document="label", awaiting_shipment=True, actor=ACTOR
    )
    assert Order.objects.get(pk=world["shipped"]).status == OrderStatus.SHIPPED
    assert Event.objects.filter(order_id=world["shipped"], kind="documents_printed").count() == 1


def test_a_filter_chooses_the_orders_it_finds_now(world):
    from colis.orders.bulk_actions import bulk_targets
    from colis.orders.selectors import OrderFilters

    found = bulk_targets(filters=OrderFilters(status="cancelled"))
    assert found == [world["cancelled"]]
    assert bulk_targets(order_ids=[3, 1, 3]) == [3, 1]
