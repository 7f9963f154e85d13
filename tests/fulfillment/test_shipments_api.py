"""Shipments through the API: whole and partial, refusals, tracking, delivery, cancellation."""

from __future__ import annotations

import pytest

from colis.core.models import Event, OutboxMessage
from colis.fulfillment.models import Shipment
from colis.inventory.models import InventoryLevel, StockMovement
from tests.factories import order_body

ORDERS = "/api/v1/orders"


def snapshot():
    return (
        list(InventoryLevel.objects.order_by("pk").values_list("on_hand", "committed")),
        Shipment.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
    )


@pytest.fixture
def order(api, shop):
    return api.post(ORDERS, order_body([("BAR-A", 3), ("BAR-B", 1)])).json()


def test_a_partial_then_a_final_shipment_move_stock_quantities_and_statuses(api, order, location):
    fo = order["fulfillment_orders"][0]
    first = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "lines": [{"sku": "BAR-A", "quantity": 1}],
            "carrier": "ups",
            "service": "Ground",
            "tracking_numbers": ["1Z5R89390357567127"],
            "package": {"length_mm": 300, "width_mm": 200, "height_mm": 100, "weight_grams": 900},
            "notes": "fragile",
        },
    )
    assert first.status_code == 201, first.content
    shipment = first.json()
    assert shipment["status"] == "shipped" and shipment["location_id"] == location.pk
    assert shipment["carrier"] == "ups"
    assert shipment["lines"] == [
        {"line_id": fo["lines"][0]["line_id"], "sku": "BAR-A", "quantity": 1}
    ]
    assert any("1Z5R89390357567127" in u for u in shipment["tracking_urls"])
    assert shipment["package"]["weight_grams"] == 900
    after = api.get(f"{ORDERS}/{order['id']}").json()
    assert after["status"] == "partially_shipped" and after["status_id"] == 3
    assert after["fulfillment_status"] == "partially_fulfilled"
    assert after["fulfillment_orders"][0]["status"] == "in_progress"
    lvl = InventoryLevel.objects.get(product__sku="BAR-A", location=location)
    assert (lvl.on_hand, lvl.committed) == (49, 2)
    assert StockMovement.objects.filter(reason="shipped", order_id=order["id"]).count() == 1
    kinds = set(OutboxMessage.objects.filter(order_id=order["id"]).values_list("kind", flat=True))
    assert {"customer_email", "webhook_event"} <= kinds
    # the rest, with no lines given: everything left in the FO
    rest = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"fulfillment_order_id": fo["id"], "carrier": "other", "carrier_name": "Local courier"},
    )
    assert rest.status_code == 201, rest.content
    assert {ln["sku"]: ln["quantity"] for ln in rest.json()["lines"]} == {"BAR-A": 2, "BAR-B": 1}
    done = api.get(f"{ORDERS}/{order['id']}").json()
    assert done["status"] == "shipped" and done["fulfillment_status"] == "fulfilled"
    assert done["fulfillment_orders"][0]["status"] == "closed"
    assert [ln["quantity_fulfilled"] for ln in done["lines"]] == [3, 1]
    assert len(done["shipments"]) == 2
    # no tracking: no shipping confirmation yet for the second one
    second = rest.json()["id"]
    assert not OutboxMessage.objects.filter(
        kind="customer_email", idempotency_key__startswith=f"shipment:{second}:"
    ).exists()
    # delivering both completes the order
    for sh in done["shipments"]:
        assert api.post(f"/api/v1/shipments/{sh['id']}/delivered").status_code == 200
    final = api.get(f"{ORDERS}/{order['id']}").json()
    assert final["status"] == "completed"


def test_over_shipping_is_refused_and_changes_nothing(api, order):
    fo = order["fulfillment_orders"][0]
    before = snapshot()
    response = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "lines": [{"sku": "BAR-A", "quantity": 4}],
            "carrier": "other",
            "tracking_numbers": ["X1"],
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "quantity_exceeds_remaining"
    assert "lines[0].quantity" in response.json()["fields"]
    assert snapshot() == before


def test_an_unknown_line_or_sku_names_the_field(api, order):
    fo = order["fulfillment_orders"][0]
    before = snapshot()
    response = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "lines": [{"sku": "NOPE", "quantity": 1}, {"line_id": 999999, "quantity": 1}],
            "carrier": "other",
        },
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"lines[0].sku", "lines[1].line_id"}
    assert snapshot() == before


def test_a_wrong_check_digit_is_refused_unless_forced(api, order):
    fo = order["fulfillment_orders"][0]
    before = snapshot()
    body = {
        "fulfillment_order_id": fo["id"],
        "carrier": "ups",
        "tracking_numbers": ["1Z5R89390357567128"],
    }
    response = api.post(f"{ORDERS}/{order['id']}/shipments", body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_tracking_number"
    assert "tracking_numbers[0]" in response.json()["fields"]
    assert snapshot() == before
    forced = api.post(f"{ORDERS}/{order['id']}/shipments", {**body, "force": True})
    assert forced.status_code == 201


def test_the_carrier_is_detected_from_the_number(api, order):
    response = api.post(
        f"{ORDERS}/{order['id']}/shipments", {"tracking_numbers": ["1Z410E7W0392751591"]}
    )
    assert response.status_code == 201, response.content
    assert response.json()["carrier"] == "ups"
    assert any("1Z410E7W0392751591" in u for u in response.json()["tracking_urls"])


def test_shipping_a_held_or_closed_fo_is_refused(api, order):
    fo = order["fulfillment_orders"][0]
    held = api.post(
        f"/api/v1/fulfillment-orders/{fo['id']}/hold",
        {"reason": "incorrect_address", "notes": "no street number"},
    )
    assert held.status_code == 200
    assert held.json()["holds"][0]["reason"] == "incorrect_address"
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "manual_verification_required"
    before = snapshot()
    refused = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    assert refused.status_code == 409 and refused.json()["code"] == "fulfillment_order_on_hold"
    assert snapshot() == before
    assert api.post(f"/api/v1/fulfillment-orders/{fo['id']}/release").status_code == 200
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "awaiting_fulfillment"
    assert api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"}).status_code == 201
    again = api.post(
        f"{ORDERS}/{order['id']}/shipments", {"fulfillment_order_id": fo["id"], "carrier": "other"}
    )
    assert again.status_code == 409 and again.json()["code"] == "fulfillment_order_closed"


def test_too_little_stock_on_the_shelf_is_409(api, order, location):
    InventoryLevel.objects.filter(product__sku="BAR-A", location=location).update(on_hand=3)
    # someone counted the shelf down below what is committed (only possible by hand here)
    InventoryLevel.objects.filter(product__sku="BAR-A", location=location).update(on_hand=1)
    before = snapshot()
    response = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert snapshot() == before


def test_cancelling_a_shipment_puts_quantities_and_stock_back(api, order, location):
    shipment = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"}).json()
    lvl = InventoryLevel.objects.get(product__sku="BAR-A", location=location)
    assert (lvl.on_hand, lvl.committed) == (47, 0)
    cancelled = api.post(f"/api/v1/shipments/{shipment['id']}/cancel", {"reason": "label void"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    lvl.refresh_from_db()
    assert (lvl.on_hand, lvl.committed) == (50, 3)
    after = api.get(f"{ORDERS}/{order['id']}").json()
    assert (
        after["status"] == "awaiting_fulfillment" and after["fulfillment_status"] == "unfulfilled"
    )
    assert after["fulfillment_orders"][0]["status"] == "open"
    assert [ln["quantity_fulfilled"] for ln in after["lines"]] == [0, 0]
    twice = api.post(f"/api/v1/shipments/{shipment['id']}/cancel")
    assert twice.status_code == 409 and twice.json()["code"] == "shipment_cancelled"


def test_tracking_added_later_sends_the_confirmation_then_updates(api, order):
    shipment = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "ups"}).json()
    key = f"shipment:{shipment['id']}:"
    emails = OutboxMessage.objects.filter(kind="customer_email", idempotency_key__startswith=key)
    assert not emails.exists()
    added = api.post(
        f"/api/v1/shipments/{shipment['id']}/tracking", {"tracking_numbers": ["1Z5R89390357567127"]}
    )
    assert added.status_code == 200, added.content
    assert added.json()["carrier"] == "ups"
    assert [m.payload["template"] for m in emails.all()] == ["shipping_confirmation"]
    changed = api.post(
        f"/api/v1/shipments/{shipment['id']}/tracking",
        {"carrier": "ups", "tracking_numbers": ["1Z879E930346834440"]},
    )
    assert changed.status_code == 200
    assert sorted(m.payload["template"] for m in emails.all()) == [
        "shipping_confirmation",
        "shipping_update",
    ]
    bad = api.post(
        f"/api/v1/shipments/{shipment['id']}/tracking",
        {"tracking_numbers": ["1Z5R89390357567128"], "carrier": "ups"},
    )
    assert bad.status_code == 422
    assert Shipment.objects.get(pk=shipment["id"]).tracking_numbers == ["1Z879E930346834440"]


def test_notify_customer_false_sends_nothing(api, order):
    api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"], "notify_customer": False},
    )
    assert not OutboxMessage.objects.filter(kind="customer_email").exists()


def test_an_order_with_two_open_fos_needs_the_fo_named(api, order):
    fo = order["fulfillment_orders"][0]
    split = api.post(
        f"/api/v1/fulfillment-orders/{fo['id']}/split", {"lines": [{"sku": "BAR-A", "quantity": 1}]}
    )
    assert split.status_code == 201
    response = api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    assert response.status_code == 422
    assert response.json()["code"] == "fulfillment_order_required"


def test_packed_shipments_wait_for_the_carrier_then_leave(api, order, location):
    # when everything is packed with a label printed
    packed = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"], "status": "label_printed"},
    )
    assert packed.status_code == 201, packed.content
    shipment = packed.json()
    assert shipment["status"] == "label_printed" and shipment["shipped_at"] is None
    after = api.get(f"{ORDERS}/{order['id']}").json()
    # then the order awaits shipment, stock is still on the shelf and committed, nobody is told
    assert after["status"] == "awaiting_shipment" and after["status_id"] == 9
    lvl = InventoryLevel.objects.get(product__sku="BAR-A", location=location)
    assert (lvl.on_hand, lvl.committed) == (50, 3)
    assert not OutboxMessage.objects.filter(kind="customer_email").exists()
    assert api.post(f"/api/v1/shipments/{shipment['id']}/delivered").status_code == 409
    # when the carrier takes it
    left = api.post(f"/api/v1/shipments/{shipment['id']}/shipped")
    assert left.status_code == 200 and left.json()["status"] == "shipped"
    lvl.refresh_from_db()
    assert (lvl.on_hand, lvl.committed) == (47, 0)
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "shipped"
    assert OutboxMessage.objects.filter(kind="customer_email").count() == 1
    again = api.post(f"/api/v1/shipments/{shipment['id']}/shipped")
    assert again.status_code == 409 and again.json()["code"] == "shipment_not_packed"


def test_cancelling_a_packed_shipment_touches_no_stock(api, order, location):
    packed = api.post(
        f"{ORDERS}/{order['id']}/shipments", {"carrier": "other", "status": "pending"}
    )
    before = InventoryLevel.objects.get(product__sku="BAR-A", location=location).on_hand
    assert api.post(f"/api/v1/shipments/{packed.json()['id']}/cancel").status_code == 200
    lvl = InventoryLevel.objects.get(product__sku="BAR-A", location=location)
    assert (lvl.on_hand, lvl.committed) == (before, 3)
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "awaiting_fulfillment"


def test_an_fo_with_a_packed_shipment_cannot_be_cancelled(api, order, location):
    fo = order["fulfillment_orders"][0]
    api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "carrier": "other",
            "status": "label_printed",
            "lines": [{"sku": "BAR-A", "quantity": 1}],
        },
    )
    before = snapshot()
    refused = api.post(f"/api/v1/fulfillment-orders/{fo['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["code"] == "fulfillment_order_has_packed_shipments"
    assert snapshot() == before
