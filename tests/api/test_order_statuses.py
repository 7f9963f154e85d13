"""The fifteen statuses over HTTP: listing, renaming labels, setting a status by hand."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.orders.models import Order, OrderStatusLabel
from colis.orders.selectors import status_labels_forget
from colis.orders.status import OrderStatus
from tests.factories import order_body

pytestmark = pytest.mark.django_db

STATUSES = "/api/v1/order-statuses"


@pytest.fixture(autouse=True)
def fresh_labels():
    """Labels are cached per process; start and end each test with an empty cache."""
    status_labels_forget()
    yield
    status_labels_forget()


@pytest.fixture
def order(api, stocked):
    stocked("BAR-A")
    return api.post("/api/v1/orders", order_body([("BAR-A", 2)])).json()


def _set(api, order_id, status):
    return api.post(f"/api/v1/orders/{order_id}/status", {"status": status})


def test_the_fifteen_statuses_are_listed_with_their_ids(make_api):
    readonly = make_api("readonly")
    response = readonly.get(STATUSES)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(s["id"], s["name"], s["label"]) for s in items] == [
        (s.value, s.name.lower(), s.label) for s in sorted(OrderStatus, key=int)
    ]
    assert len(items) == 15
    assert items[11] == {"id": 11, "name": "awaiting_fulfillment", "label": "Awaiting Fulfillment"}


@pytest.mark.django_db(transaction=True)
def test_a_renamed_label_shows_on_orders(api, order):
    # given a paid order that shows the default label
    assert order["status_label"] == "Awaiting Fulfillment"
    # when the owner renames its status
    response = api.patch(f"{STATUSES}/11", {"label": "Ready to pick"})
    # then the status, the list and every order carry the new label
    assert response.status_code == 200, response.content
    assert response.json() == {"id": 11, "name": "awaiting_fulfillment", "label": "Ready to pick"}
    assert OrderStatusLabel.objects.get(status=11).label == "Ready to pick"
    assert Event.objects.get(kind="status_label_set").data == {
        "status": "awaiting_fulfillment",
        "label": "Ready to pick",
    }
    assert api.get(STATUSES).json()["items"][11]["label"] == "Ready to pick"
    assert api.get(f"/api/v1/orders/{order['id']}").json()["status_label"] == "Ready to pick"
    listed = api.get("/api/v1/orders").json()["items"]
    assert [o["status_label"] for o in listed] == ["Ready to pick"]
    # and the status itself, its id and name, did not change
    shown = api.get(f"/api/v1/orders/{order['id']}").json()
    assert (shown["status"], shown["status_id"]) == ("awaiting_fulfillment", 11)


def test_renaming_an_unknown_status_is_404_and_a_bad_label_422(api):
    assert api.patch(f"{STATUSES}/15", {"label": "x"}).status_code == 404
    assert api.patch(f"{STATUSES}/99999", {"label": "x"}).status_code == 404
    assert api.patch(f"{STATUSES}/-1", {"label": "x"}).status_code == 422
    assert api.patch(f"{STATUSES}/abc", {"label": "x"}).status_code in (404, 422)
    blank = api.patch(f"{STATUSES}/11", {"label": "   "})
    assert blank.status_code == 422 and "label" in blank.json()["fields"]
    long = api.patch(f"{STATUSES}/11", {"label": "x" * 101})
    assert long.status_code == 422 and "label" in long.json()["fields"]
    assert not OrderStatusLabel.objects.exists()
    assert not Event.objects.filter(kind="status_label_set").exists()


def test_a_manual_status_change_writes_order_status_changed(api, order):
    # when staff mark the paid order as packed
    response = _set(api, order["id"], "awaiting_shipment")
    # then the order says so, and the timeline has the change with who made it
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["status_id"], body["status_label"]) == (
        "awaiting_shipment",
        9,
        "Awaiting Shipment",
    )
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.AWAITING_SHIPMENT
    event = Event.objects.get(order_id=order["id"], kind="order_status_changed")
    assert event.data["from"] == "awaiting_fulfillment"
    assert event.data["to"] == "awaiting_shipment"
    assert event.data["manual"] is True
    assert event.actor_kind == "user"


@pytest.mark.parametrize("status", [9, "9"])
def test_a_status_may_be_given_by_id(api, order, status):
    response = _set(api, order["id"], status)
    assert response.status_code == 200
    assert response.json()["status"] == "awaiting_shipment"


def test_an_illegal_transition_is_409_and_changes_nothing(api, stocked):
    # given an order awaiting payment
    stocked("BAR-A")
    order = api.post(
        "/api/v1/orders", order_body([("BAR-A", 1)], financial_status="pending")
    ).json()
    # when someone marks it shipped
    response = _set(api, order["id"], "shipped")
    # then it is refused with a stable code and the allowed moves
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_status_transition"
    assert body["fields"]["status"]["from"] == "awaiting_payment"
    assert "awaiting_fulfillment" in body["fields"]["status"]["allowed"]
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.AWAITING_PAYMENT
    assert not Event.objects.filter(kind="order_status_changed").exists()


def test_a_cancelled_order_cannot_come_back(api, order):
    assert api.post(f"/api/v1/orders/{order['id']}/cancel").status_code == 200
    events = Event.objects.count()
    response = _set(api, order["id"], "awaiting_fulfillment")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.CANCELLED
    assert Event.objects.count() == events


def test_setting_the_current_status_is_409_status_unchanged(api, order):
    response = _set(api, order["id"], "awaiting_fulfillment")
    assert response.status_code == 409
    assert response.json()["code"] == "status_unchanged"
    assert not Event.objects.filter(kind="order_status_changed").exists()


@pytest.mark.parametrize("status", ["teleported", "15", 99, -1, ""])
def test_an_unknown_status_is_422(api, order, status):
    response = _set(api, order["id"], status)
    assert response.status_code == 422
    assert "status" in response.json()["fields"]
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.AWAITING_FULFILLMENT


def test_setting_cancelled_by_hand_cancels_the_lines(api, order):
    response = _set(api, order["id"], "cancelled")
    assert response.status_code == 200
    assert all(ln["quantity_cancelled"] == ln["quantity"] for ln in response.json()["lines"])
    assert Event.objects.filter(order_id=order["id"], kind="order_cancelled").count() == 1
