"""Returns through the API: the whole life, partial receipt, split dispositions, refunds,
refusals that change nothing, backorders released by a restock, exchanges, 3PLs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from colis.core.models import Event, OutboxMessage, Shop
from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.inventory.models import InventoryLevel, StockMovement
from colis.locations.models import Location
from colis.returns.models import Refund, Return, ReturnLine, ReturnReceipt
from tests.conftest import ApiClient
from tests.factories import ADDRESS_FR, ProductFactory, order_body

ORDERS = "/api/v1/orders"
RETURNS = "/api/v1/returns"


def ship(api, order, lines=None):
    body = {"carrier": "other", "tracking_numbers": ["T1"], "notify_customer": False}
    if lines:
        body["lines"] = lines
    response = api.post(f"{ORDERS}/{order['id']}/shipments", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def shipped(api, shop):
    """An order of 3 BAR-A and 1 BAR-B (50.00 EUR), shipped whole."""
    order = api.post(ORDERS, order_body([("BAR-A", 3), ("BAR-B", 1)])).json()
    ship(api, order)
    return api.get(f"{ORDERS}/{order['id']}").json()


def level(sku, location):
    lvl = InventoryLevel.objects.get(product__sku=sku, location=location)
    return lvl.on_hand, lvl.committed, lvl.unsellable


def snapshot():
    return (
        Return.objects.count(),
        ReturnLine.objects.count(),
        ReturnReceipt.objects.count(),
        Refund.objects.count(),
        list(InventoryLevel.objects.order_by("pk").values_list("on_hand", "unsellable")),
        StockMovement.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
        list(Return.objects.order_by("pk").values_list("state", flat=True)),
    )


def emails(order_id):
    return list(
        OutboxMessage.objects.filter(order_id=order_id, kind="customer_email")
        .order_by("pk")
        .values_list("payload__template", flat=True)
    )


def test_the_whole_life_of_a_return_with_partial_receipt_and_split_dispositions(
    api, shipped, location
):
    oid = shipped["id"]
    before = level("BAR-A", location)
    # requested by staff: two of the three BAR-A
    created = api.post(
        RETURNS,
        {"order_id": oid, "lines": [{"sku": "BAR-A", "quantity": 2, "reason": "size_or_fit"}]},
    )
    assert created.status_code == 201, created.content
    rma = created.json()
    assert rma["state"] == "requested" and rma["number"] == f"{shipped['number']}-R1"
    assert rma["location_id"] == location.pk  # expected where it shipped from
    assert [(x["sku"], x["quantity"], x["reason"]) for x in rma["lines"]] == [
        ("BAR-A", 2, "size_or_fit")
    ]
    rid = rma["id"]
    # approved, then on its way back with the buyer's tracking
    assert api.post(f"{RETURNS}/{rid}/approve").json()["state"] == "approved"
    moving = api.post(f"{RETURNS}/{rid}/tracking", {"tracking_number": "RET-TRACK-1"}).json()
    assert moving["state"] == "in_transit"
    assert moving["return_tracking"]["number"] == "RET-TRACK-1"
    # the first unit arrives, resellable: received and inspected at once
    first = api.post(
        f"{RETURNS}/{rid}/receive",
        {"location_id": location.pk, "lines": [
            {"sku": "BAR-A", "quantity": 1, "condition": "resellable"}]},
    ).json()  # fmt: skip
    assert first["state"] == "inspected"
    assert first["lines"][0]["received"] == 1 and first["lines"][0]["resellable"] == 1
    # the second arrives later, uninspected, then found defective and written off
    second = api.post(
        f"{RETURNS}/{rid}/receive", {"lines": [{"line_id": rma["lines"][0]["line_id"],
                                               "quantity": 1}]}
    ).json()  # fmt: skip
    assert second["state"] == "received"
    inspected = api.post(
        f"{RETURNS}/{rid}/inspect",
        {"lines": [{"sku": "BAR-A", "quantity": 1, "condition": "defective",
                    "disposition": "write_off"}]},
    ).json()  # fmt: skip
    assert inspected["state"] == "inspected"
    assert stock_unchanged(before, location)
    # restock applies both: one unit back on hand, one counted in and written off
    done = api.post(f"{RETURNS}/{rid}/restock")
    assert done.status_code == 200, done.content
    done = done.json()
    assert done["state"] == "closed"
    line = done["lines"][0]
    assert (line["restocked"], line["written_off"], line["defective"]) == (1, 1, 1)
    assert level("BAR-A", location) == (before[0] + 1, before[1], 0)
    rows = list(
        StockMovement.objects.filter(reference=rma["number"])
        .order_by("pk")
        .values_list("reason", "delta_on_hand", "delta_unsellable")
    )
    assert sorted(rows) == sorted([("returned", 1, 0), ("returned", 0, 1), ("written_off", 0, -1)])
    # refunds: part, then the rest; the order follows
    refund = api.post(
        f"{RETURNS}/{rid}/refund", {"amount": "25.00", "currency": "EUR", "reason": "returned"}
    )
    assert refund.status_code == 201, refund.content
    order = api.get(f"{ORDERS}/{oid}").json()
    assert (order["status"], order["status_id"], order["financial_status"]) == (
        "partially_refunded", 14, "partially_refunded"
    )  # fmt: skip
    api.post(f"{ORDERS}/{oid}/refunds", {"amount": "25", "currency": "EUR"})
    order = api.get(f"{ORDERS}/{oid}").json()
    assert (order["status"], order["status_id"], order["financial_status"]) == (
        "refunded", 4, "refunded"
    )  # fmt: skip
    listed = api.get(f"{ORDERS}/{oid}/refunds").json()["items"]
    assert [r["amount"] for r in listed] == ["25.00", "25.00"]
    # the buyer heard at each step
    assert emails(oid) == [
        "return_requested", "return_approved", "return_received", "refund", "refund"
    ]  # fmt: skip
    kinds = [e["kind"] for e in api.get(f"{RETURNS}/{rid}/events").json()["items"]]
    assert kinds == [
        "return_requested",
        "return_approved",
        "return_in_transit",
        "return_received",
        "return_received",
        "return_inspected",
        "return_restocked",
        "return_closed",
    ]


def stock_unchanged(before, location):
    return level("BAR-A", location) == before


def test_damaged_units_go_to_the_unsellable_count_not_on_hand(api, shipped, location):
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 3, "reason": "damaged"}]}
    ).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve")
    before = level("BAR-A", location)
    api.post(
        f"{RETURNS}/{rid}/receive",
        {"location_id": location.pk, "lines": [
            {"sku": "BAR-A", "quantity": 1, "condition": "resellable"},
            {"sku": "BAR-A", "quantity": 2, "condition": "damaged"}]},
    )  # fmt: skip
    api.post(f"{RETURNS}/{rid}/restock")
    assert level("BAR-A", location) == (before[0] + 1, before[1], 2)
    levels = api.get("/api/v1/inventory/levels", sku="BAR-A").json()["items"]
    assert levels[0]["unsellable"] == 2 and levels[0]["available"] == before[0] + 1 - before[1]


def test_a_return_can_be_received_at_another_location(api, shipped, location):
    other = Location.objects.create(
        name="Returns centre", address=dict(ADDRESS_FR), priority=9, fulfills_online_orders=False
    )
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-B", "quantity": 1, "reason": "no_longer_needed"}]}
    ).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve", {"location_id": other.pk})
    api.post(
        f"{RETURNS}/{rid}/receive",
        {"lines": [{"sku": "BAR-B", "quantity": 1, "condition": "resellable"}]},
    )
    out = api.post(f"{RETURNS}/{rid}/restock").json()
    assert out["location_id"] == other.pk and out["state"] == "closed"
    assert level("BAR-B", other) == (1, 0, 0)


@pytest.mark.parametrize(
    ("lines", "status", "code"),
    [
        ([{"sku": "BAR-A", "quantity": 4, "reason": "damaged"}], 409, "quantity_not_returnable"),
        (
            [{"sku": "BAR-A", "quantity": 2, "reason": "damaged"},
             {"sku": "BAR-A", "quantity": 2, "reason": "defective"}],
            409, "quantity_not_returnable",
        ),
        ([{"sku": "NOPE", "quantity": 1, "reason": "damaged"}], 409, "quantity_not_returnable"),
        ([{"sku": "BAR-A", "quantity": 1, "reason": "other"}], 422, "invalid_return"),
        ([{"sku": "BAR-A", "quantity": 1, "reason": "bored"}], 422, "invalid"),
        ([{"sku": "BAR-A", "quantity": 0, "reason": "damaged"}], 422, "invalid"),
    ],
)  # fmt: skip
def test_bad_returns_are_refused_with_a_code_and_change_nothing(api, shipped, lines, status, code):
    before = snapshot()
    response = api.post(RETURNS, {"order_id": shipped["id"], "lines": lines})
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert snapshot() == before


def test_returning_more_than_is_left_counts_earlier_returns(api, shipped):
    body = {
        "order_id": shipped["id"],
        "lines": [{"sku": "BAR-A", "quantity": 2, "reason": "damaged"}],
    }
    assert api.post(RETURNS, body).status_code == 201
    again = api.post(RETURNS, body)
    assert again.status_code == 409 and again.json()["code"] == "quantity_not_returnable"
    assert "lines.0.quantity" in again.json()["fields"]
    left = api.get(f"{ORDERS}/{shipped['id']}/returnable").json()["items"]
    assert [(x["sku"], x["quantity"]) for x in left] == [("BAR-A", 1), ("BAR-B", 1)]


def test_unshipped_lines_cannot_be_returned(api, shop):
    order = api.post(ORDERS, order_body([("BAR-A", 2), ("BAR-B", 1)])).json()
    before = snapshot()
    response = api.post(
        RETURNS,
        {"order_id": order["id"], "lines": [{"sku": "BAR-A", "quantity": 1, "reason": "other",
                                             "note": "x"}]},
    )  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "nothing_returnable"
    # ship only BAR-A: BAR-B still cannot come back
    ship(api, order, [{"sku": "BAR-A", "quantity": 2}])
    response = api.post(
        RETURNS,
        {"order_id": order["id"], "lines": [{"sku": "BAR-B", "quantity": 1, "reason": "damaged"}]},
    )
    assert response.status_code == 409 and response.json()["code"] == "quantity_not_returnable"
    assert snapshot()[:4] == before[:4]
    missing = api.post(RETURNS, {"order_id": 999999, "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]})  # fmt: skip
    assert missing.status_code == 404


def test_state_jumps_are_refused_with_a_code_and_change_nothing(api, shipped, location):
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 2, "reason": "damaged"}]}
    ).json()["id"]  # fmt: skip
    receive = {"location_id": location.pk, "lines": [
        {"sku": "BAR-A", "quantity": 1, "condition": "damaged"}]}  # fmt: skip

    def refused(path, body, code):
        before = snapshot()
        response = api.post(f"{RETURNS}/{rid}/{path}", body)
        assert response.status_code == 409, (path, response.content)
        assert response.json()["code"] == code, (path, response.json())
        assert snapshot() == before, path

    refused("receive", receive, "invalid_return_transition")  # not approved yet
    refused("restock", {}, "invalid_return_transition")
    refused("close", {}, "invalid_return_transition")
    api.post(f"{RETURNS}/{rid}/approve")
    refused("approve", {}, "invalid_return_transition")
    refused("reject", {"reason": "late"}, "invalid_return_transition")
    refused(
        "receive",
        {"lines": [{"sku": "BAR-A", "quantity": 3, "condition": "damaged"}]},
        "quantity_above_return",
    )
    api.post(f"{RETURNS}/{rid}/receive", receive)
    refused("cancel", {}, "invalid_return_transition")  # something arrived
    refused("close", {}, "return_not_restocked")
    api.post(f"{RETURNS}/{rid}/restock")
    refused("restock", {}, "nothing_to_restock")
    closed = api.post(f"{RETURNS}/{rid}/close").json()
    assert closed["state"] == "closed"
    refused("receive", receive, "invalid_return_transition")
    # what never came back may be asked for again
    left = api.get(f"{ORDERS}/{shipped['id']}/returnable").json()["items"]
    assert [(x["sku"], x["quantity"]) for x in left] == [("BAR-A", 2), ("BAR-B", 1)]


def test_rejected_and_cancelled_returns_free_their_units(api, shipped):
    body = {
        "order_id": shipped["id"],
        "lines": [{"sku": "BAR-A", "quantity": 3, "reason": "damaged"}],
    }
    first = api.post(RETURNS, body).json()
    no_reason = api.post(f"{RETURNS}/{first['id']}/reject", {"reason": ""})
    assert no_reason.status_code == 422
    rejected = api.post(f"{RETURNS}/{first['id']}/reject", {"reason": "Photos show wear."}).json()
    assert rejected["state"] == "rejected" and rejected["rejection_reason"] == "Photos show wear."
    second = api.post(RETURNS, body).json()
    assert api.post(f"{RETURNS}/{second['id']}/cancel", {"reason": "kept"}).json()["state"] == (
        "cancelled"
    )
    assert api.post(RETURNS, body).status_code == 201
    assert "return_rejected" in emails(shipped["id"])


def test_refunds_are_checked_against_what_was_paid(api, shipped, shop):
    oid = shipped["id"]
    before = snapshot()
    cases = [
        ({"amount": "10", "currency": "USD"}, 422, "invalid_refund", "currency"),
        ({"amount": "50.01", "currency": "EUR"}, 409, "refund_above_paid", "amount"),
        (
            {"amount": "10", "currency": "EUR", "shipping_amount": "1",
             "lines": [{"sku": "BAR-A", "quantity": 1, "amount": "12.50"}]},
            422, "invalid_refund", "amount",
        ),
        (
            {"amount": "10", "currency": "EUR", "lines": [{"sku": "BAR-A", "quantity": 9}]},
            422, "invalid_refund", "lines.0.quantity",
        ),
    ]  # fmt: skip
    for body, status, code, field in cases:
        response = api.post(f"{ORDERS}/{oid}/refunds", body)
        assert response.status_code == status, (body, response.content)
        assert response.json()["code"] == code and field in response.json()["fields"], body
    assert snapshot() == before
    ok = api.post(
        f"{ORDERS}/{oid}/refunds",
        {"amount": "13.50", "currency": "EUR", "shipping_amount": "1.00",
         "lines": [{"sku": "BAR-A", "quantity": 1, "amount": "12.50"}], "reason": "scratch"},
    )  # fmt: skip
    assert ok.status_code == 201, ok.content
    assert ok.json()["lines"][0]["sku"] == "BAR-A"
    unpaid = api.post(ORDERS, order_body([("BAR-A", 1)], financial_status="pending")).json()
    response = api.post(f"{ORDERS}/{unpaid['id']}/refunds", {"amount": "1", "currency": "EUR"})
    assert response.status_code == 409 and response.json()["code"] == "order_not_paid"


def test_only_managers_and_owners_refund(make_api, api, shipped):
    staff = make_api("staff")
    response = staff.post(f"{ORDERS}/{shipped['id']}/refunds", {"amount": "1", "currency": "EUR"})
    assert response.status_code == 403
    assert (
        make_api("manager")
        .post(f"{ORDERS}/{shipped['id']}/refunds", {"amount": "1", "currency": "EUR"})
        .status_code
        == 201
    )
    # staff handle the return itself
    made = staff.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}
    )  # fmt: skip
    assert made.status_code == 201 and made.json()["source"] == "staff"


def test_restocked_units_release_a_backordered_order(
    api, location, django_capture_on_commit_callbacks
):
    product = ProductFactory(sku="LAST-ONE")
    InventoryLevel.objects.create(product=product, location=location)
    api.post("/api/v1/inventory/adjustments", {"sku": "LAST-ONE", "location_id": location.pk,
                                               "reason": "received", "delta": 1})  # fmt: skip
    sold = api.post(ORDERS, order_body([("LAST-ONE", 1)])).json()
    ship(api, sold)
    waiting = api.post(ORDERS, order_body([("LAST-ONE", 1)])).json()
    assert waiting["fulfillment_status"] == "on_hold"
    rid = api.post(
        RETURNS, {"order_id": sold["id"], "lines": [
            {"sku": "LAST-ONE", "quantity": 1, "reason": "no_longer_needed"}]}
    ).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve")
    api.post(
        f"{RETURNS}/{rid}/receive",
        {"lines": [{"sku": "LAST-ONE", "quantity": 1, "condition": "resellable"}]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{RETURNS}/{rid}/restock").status_code == 200
    waiting = api.get(f"{ORDERS}/{waiting['id']}").json()
    assert waiting["fulfillment_status"] == "unfulfilled"
    live = [f for f in waiting["fulfillment_orders"] if f["status"] not in ("closed", "cancelled")]
    assert [f["holds"] for f in live] == [[]]
    assert level("LAST-ONE", location) == (1, 1, 0)


def test_auto_approval_by_reason_within_the_window_only(api, shipped):
    Shop.objects.update_or_create(
        pk=1, defaults={"return_auto_approve_reasons": ["damaged"], "return_window_days": 30}
    )
    body = {
        "order_id": shipped["id"],
        "lines": [{"sku": "BAR-A", "quantity": 1, "reason": "damaged"}],
    }
    assert api.post(RETURNS, body).json()["state"] == "approved"
    other = {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "size_or_fit"}]}  # fmt: skip
    assert api.post(RETURNS, other).json()["state"] == "requested"
    # shipped 40 days ago: the window has closed, a person decides
    Shipment.objects.filter(order_id=shipped["id"]).update(
        shipped_at=timezone.now() - timedelta(days=40)
    )
    late = api.post(RETURNS, body).json()
    assert late["state"] == "requested"
    assert emails(shipped["id"]).count("return_approved") == 1


def test_an_exchange_waits_for_the_items_then_ships(api, shipped, location):
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "size_or_fit"}]}
    ).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve")
    made = api.post(f"{RETURNS}/{rid}/exchange", {"lines": [{"sku": "BAR-B", "quantity": 1}]})
    assert made.status_code == 201, made.content
    exchange = api.get(f"{ORDERS}/{made.json()['order_id']}").json()
    assert exchange["number"].endswith("-X") and exchange["total"] == "0.00"
    holds = [h["reason"] for f in exchange["fulfillment_orders"] for h in f["holds"]]
    assert holds == ["awaiting_return_items"]
    twice = api.post(f"{RETURNS}/{rid}/exchange", {"lines": [{"sku": "BAR-B", "quantity": 1}]})
    assert twice.status_code == 409 and twice.json()["code"] == "exchange_exists"
    api.post(
        f"{RETURNS}/{rid}/receive",
        {"location_id": location.pk, "lines": [{"sku": "BAR-A", "quantity": 1}]},
    )
    exchange = api.get(f"{ORDERS}/{exchange['id']}").json()
    assert [h for f in exchange["fulfillment_orders"] for h in f["holds"]] == []


def test_a_3pl_returns_and_receives_only_orders_it_fulfilled(api, shop, location):
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=False)
    service = api.post(
        "/api/v1/fulfillment-services",
        {"name": "Fast 3PL", "kind": "3pl", "email": "ops@3pl.example.com",
         "address": ADDRESS_FR, "manages_own_stock": False},
    ).json()  # fmt: skip
    raw = api.post(f"/api/v1/fulfillment-services/{service['id']}/tokens").json()["token"]
    tpl = ApiClient(raw)
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    fo = FulfillmentOrder.objects.get(order_id=order["id"])
    assert fo.location_id == service["location_id"]
    assert tpl.post(f"/api/v1/fulfillment-orders/{fo.pk}/accept").status_code == 200
    assert tpl.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"}).status_code == 201
    made = tpl.post(
        RETURNS, {"order_id": order["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "wrong_item"}]}
    )  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["source"] == "service"
    assert made.json()["location_id"] == service["location_id"]
    # an order of the merchant's own warehouse is none of its business
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=True)
    own = api.post(ORDERS, order_body([("BAR-B", 1)])).json()
    ship(api, own)
    other = tpl.post(RETURNS, {"order_id": own["id"], "lines": [
        {"sku": "BAR-B", "quantity": 1, "reason": "damaged"}]})  # fmt: skip
    assert other.status_code == 404
    own_return = api.post(RETURNS, {"order_id": own["id"], "lines": [
        {"sku": "BAR-B", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    assert tpl.get(f"{RETURNS}/{own_return['id']}").status_code == 404
    assert [r["id"] for r in tpl.get(RETURNS).json()["items"]] == [made.json()["id"]]


def test_the_list_filters_by_state_reason_location_order_and_date(api, shipped, location):
    a = api.post(RETURNS, {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    b = api.post(RETURNS, {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-B", "quantity": 1, "reason": "size_or_fit"}]}).json()  # fmt: skip
    api.post(f"{RETURNS}/{b['id']}/approve")

    def ids(**params):
        response = api.get(RETURNS, **params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["items"]]

    assert ids() == [b["id"], a["id"]]
    assert ids(state="approved") == [b["id"]]
    assert ids(reason="damaged") == [a["id"]]
    assert ids(location_id=location.pk) == [b["id"], a["id"]]
    assert ids(order_id=shipped["id"], limit=1) == [b["id"]]
    assert ids(q=a["number"]) == [a["id"]]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert ids(created_after=later) == []
    assert api.get(RETURNS, state="lost").status_code == 422
    page = api.get(RETURNS, limit=1).json()
    assert api.get(RETURNS, limit=1, cursor=page["next_cursor"]).json()["items"][0]["id"] == a["id"]


def test_the_shop_sets_its_return_window_rules_and_instructions(api, shipped):
    response = api.patch(
        "/api/v1/shop",
        {"return_window_days": 14, "return_auto_approve_reasons": ["defective", "damaged"],
         "return_instructions": "Print the label and drop the parcel at a post office."},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    shop = response.json()
    assert shop["return_window_days"] == 14
    assert shop["return_auto_approve_reasons"] == ["damaged", "defective"]
    bad = api.patch(
        "/api/v1/shop", {"return_window_days": -1, "return_auto_approve_reasons": ["x"]}
    )
    assert bad.status_code == 422
    assert api.get("/api/v1/shop").json()["return_window_days"] == 14
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "defective"}]}
    ).json()["id"]  # fmt: skip
    assert Return.objects.get(pk=rid).state == "approved"
    approved = OutboxMessage.objects.get(
        order_id=shipped["id"], payload__template="return_approved"
    )
    assert approved.payload["return"]["instructions"].startswith("Print the label")
    assert approved.payload["return"]["address"]["country"] == "FR"


def test_integrators_subscribed_to_return_events_get_them(api, shipped):
    api.post(
        "/api/v1/webhooks",
        {"url": "https://example.com/h", "events": ["return.requested", "refund.created"]},
    )
    rid = api.post(
        RETURNS, {"order_id": shipped["id"], "lines": [
            {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}
    ).json()["id"]  # fmt: skip
    api.post(f"/api/v1/returns/{rid}/refund", {"amount": "5", "currency": "EUR"})
    events = [
        m.payload["event"]
        for m in OutboxMessage.objects.filter(kind="webhook_event", order_id=shipped["id"])
        if m.payload["event"].startswith(("return.", "refund."))
    ]
    assert events == ["return.requested", "refund.created"]


def test_a_receipt_by_line_id_goes_to_that_order_line_whatever_the_return_lines_ids(
    api, shipped, location
):
    # a return whose lines' own ids may equal other order lines' ids (separate sequences)
    by_sku = {ln["sku"]: ln["id"] for ln in shipped["lines"]}
    rma = api.post(RETURNS, {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-B", "quantity": 1, "reason": "damaged"},
        {"sku": "BAR-A", "quantity": 1, "reason": "damaged"}]}).json()  # fmt: skip
    api.post(f"{RETURNS}/{rma['id']}/approve")
    ids = {ln["sku"]: ln["id"] for ln in rma["lines"]}
    top = max(ReturnLine.objects.order_by("-pk").values_list("pk", flat=True)[0], by_sku["BAR-A"])
    ReturnLine.objects.filter(pk=ids["BAR-A"]).update(id=top + 1000)
    ReturnLine.objects.filter(pk=ids["BAR-B"]).update(id=by_sku["BAR-A"])
    # when the BAR-A unit arrives, named by its order line
    response = api.post(f"{RETURNS}/{rma['id']}/receive", {"location_id": location.pk, "lines": [
        {"line_id": by_sku["BAR-A"], "quantity": 1, "condition": "resellable"}]})  # fmt: skip
    assert response.status_code == 200, response.content
    # then BAR-A is in, not BAR-B
    got = {ln["sku"]: ln["received"] for ln in response.json()["lines"]}
    assert got == {"BAR-A": 1, "BAR-B": 0}


def test_damaged_or_defective_units_are_never_restocked_for_sale(api, shipped, location):
    rid = api.post(RETURNS, {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 2, "reason": "damaged"}]}).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve")
    before = snapshot()
    for condition in ("damaged", "defective"):
        response = api.post(f"{RETURNS}/{rid}/receive", {"location_id": location.pk, "lines": [
            {"sku": "BAR-A", "quantity": 1, "condition": condition,
             "disposition": "restock"}]})  # fmt: skip
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_receipt"
        assert "lines.0.disposition" in response.json()["fields"]
    assert snapshot() == before
    api.post(f"{RETURNS}/{rid}/receive", {"location_id": location.pk, "lines": [
        {"sku": "BAR-A", "quantity": 1}]})  # fmt: skip
    bad = {"sku": "BAR-A", "quantity": 1, "condition": "defective", "disposition": "restock"}
    inspected = api.post(f"{RETURNS}/{rid}/inspect", {"lines": [bad]})
    assert inspected.status_code == 422 and inspected.json()["code"] == "invalid_receipt"


def test_an_exchange_for_a_closed_return_does_not_wait_for_units_that_will_not_come(
    api, shipped, location
):
    rid = api.post(RETURNS, {"order_id": shipped["id"], "lines": [
        {"sku": "BAR-A", "quantity": 2, "reason": "size_or_fit"}]}).json()["id"]  # fmt: skip
    api.post(f"{RETURNS}/{rid}/approve")
    api.post(f"{RETURNS}/{rid}/receive", {"location_id": location.pk, "lines": [
        {"sku": "BAR-A", "quantity": 1, "condition": "resellable"}]})  # fmt: skip
    api.post(f"{RETURNS}/{rid}/restock")
    assert api.post(f"{RETURNS}/{rid}/close").json()["state"] == "closed"
    made = api.post(f"{RETURNS}/{rid}/exchange", {"lines": [{"sku": "BAR-B", "quantity": 1}]})
    assert made.status_code == 201, made.content
    assert made.json()["return"]["exchange_waits_for_items"] is False
    exchange = api.get(f"{ORDERS}/{made.json()['order_id']}").json()
    assert [h for f in exchange["fulfillment_orders"] for h in f["holds"]] == []


def test_an_exchange_of_an_order_with_a_long_number_gets_a_number_that_fits(api, shop):
    order = api.post(ORDERS, order_body([("BAR-A", 1)], number="N" * 64)).json()
    ship(api, order)
    rid = api.post(RETURNS, {"order_id": order["id"], "lines": [
        {"sku": "BAR-A", "quantity": 1, "reason": "size_or_fit"}]}).json()["id"]  # fmt: skip
    made = api.post(f"{RETURNS}/{rid}/exchange", {"lines": [{"sku": "BAR-B", "quantity": 1}]})
    assert made.status_code == 201, made.content
    assert 0 < len(made.json()["order_number"]) <= 64
