"""Cancel, notes and the timeline of one order; unknown ids answer 404, never 500."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.orders.models import Order, OrderLine
from colis.orders.status import OrderStatus
from tests.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


@pytest.fixture
def order(api, stocked):
    stocked("BAR-A")
    stocked("BAR-B")
    return api.post(ORDERS, order_body([("BAR-A", 2), ("BAR-B", 3)])).json()


def test_cancel_cancels_the_order_and_every_line(api, order):
    # when an open order is cancelled with a reason
    response = api.post(f"{ORDERS}/{order['id']}/cancel", {"reason": "out of stock"})
    # then it answers with the cancelled order
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["status_id"]) == ("cancelled", 5)
    assert body["cancel_reason"] == "out of stock" and body["cancelled_at"]
    assert [(ln["quantity"], ln["quantity_cancelled"]) for ln in body["lines"]] == [(2, 2), (3, 3)]
    # and the database and timeline agree
    stored = Order.objects.get(pk=order["id"])
    assert stored.status == OrderStatus.CANCELLED
    assert all(
        ln.quantity_cancelled == ln.quantity for ln in OrderLine.objects.filter(order=stored)
    )
    event = Event.objects.get(order_id=order["id"], kind="order_cancelled")
    assert event.data["reason"] == "out of stock"
    assert event.data["from"] == "awaiting_fulfillment"


def test_cancel_needs_no_body(api, order):
    # as `curl -X POST` sends it: no body, no content type
    response = api.client.generic(
        "POST", f"{ORDERS}/{order['id']}/cancel", b"", content_type="", headers=api._headers(None)
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_cancelling_twice_is_409_already_cancelled(api, order):
    assert api.post(f"{ORDERS}/{order['id']}/cancel").status_code == 200
    again = api.post(f"{ORDERS}/{order['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["code"] == "order_already_cancelled"
    assert Event.objects.filter(order_id=order["id"], kind="order_cancelled").count() == 1


def test_a_shipped_order_cannot_be_cancelled(api, order):
    assert api.post(f"{ORDERS}/{order['id']}/status", {"status": "shipped"}).status_code == 200
    response = api.post(f"{ORDERS}/{order['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status_transition"
    assert not OrderLine.objects.filter(order_id=order["id"], quantity_cancelled__gt=0).exists()


def test_the_timeline_starts_with_order_created_and_gets_notes(api, order):
    # given a new order
    first = api.get(f"{ORDERS}/{order['id']}/events")
    assert first.status_code == 200
    assert [e["kind"] for e in first.json()["items"]] == ["order_created"]
    created = first.json()["items"][0]
    assert created["data"]["number"] == order["number"]
    assert created["actor"]["kind"] == "user"
    # when staff add a note, then change the status
    note = api.post(f"{ORDERS}/{order['id']}/notes", {"text": "Gift wrap, please"})
    assert note.status_code == 201
    api.post(f"{ORDERS}/{order['id']}/status", {"status": "awaiting_shipment"})
    # then the timeline lists all three, oldest first
    items = api.get(f"{ORDERS}/{order['id']}/events").json()["items"]
    assert [e["kind"] for e in items] == [
        "order_created",
        "order_note_added",
        "order_status_changed",
    ]
    assert items[1]["data"] == {"text": "Gift wrap, please"}
    assert Event.objects.filter(order_id=order["id"], kind="order_note_added").count() == 1


@pytest.mark.parametrize("text", ["", "   ", "x" * 5001])
def test_an_empty_or_huge_note_is_422(api, order, text):
    response = api.post(f"{ORDERS}/{order['id']}/notes", {"text": text})
    assert response.status_code == 422
    assert "text" in response.json()["fields"]
    assert not Event.objects.filter(kind="order_note_added").exists()


def test_the_timeline_pages_with_a_cursor(api, order):
    for i in range(5):
        api.post(f"{ORDERS}/{order['id']}/notes", {"text": f"note {i}"})
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"{ORDERS}/{order['id']}/events", **params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(
        Event.objects.filter(order_id=order["id"]).order_by("pk").values_list("pk", flat=True)
    )
    assert len(seen) == 6


UNKNOWN = [
    ("get", f"{ORDERS}/999999", None),
    ("get", f"{ORDERS}/999999/events", None),
    ("post", f"{ORDERS}/999999/cancel", {}),
    ("post", f"{ORDERS}/999999/status", {"status": "awaiting_shipment"}),
    ("post", f"{ORDERS}/999999/status", {"status": "cancelled"}),
    ("post", f"{ORDERS}/999999/notes", {"text": "hello"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), UNKNOWN, ids=[f"{m} {p}" for m, p, _ in UNKNOWN]
)
def test_an_unknown_order_is_404(api, order, method, path, body):
    events = Event.objects.count()
    response = api.get(path) if method == "get" else api.post(path, body)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "order_not_found"
    assert Event.objects.count() == events


@pytest.mark.parametrize("order_id", ["0", "-1", "abc", "1.5", str(2**63), "9" * 30])
def test_an_impossible_order_id_is_4xx_never_500(api, order, order_id):
    for path in (f"{ORDERS}/{order_id}", f"{ORDERS}/{order_id}/events"):
        assert api.get(path).status_code in (404, 422)
    for action, body in (
        ("cancel", {}),
        ("status", {"status": "shipped"}),
        ("notes", {"text": "x"}),
    ):
        assert api.post(f"{ORDERS}/{order_id}/{action}", body).status_code in (404, 422)
    assert Order.objects.get().status == OrderStatus.AWAITING_FULFILLMENT
