"""Routing when orders arrive, are paid, and when stock arrives."""

from __future__ import annotations

import pytest

from colis.core.cache import snapshots_forget
from colis.core.models import Event
from colis.fulfillment.models import FulfillmentOrder
from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import inventory_adjust
from tests.factories import ACTOR, LocationFactory, ProductFactory, order_body

ORDERS = "/api/v1/orders"


def level(product, location):
    lvl = InventoryLevel.objects.filter(product=product, location=location).first()
    return (lvl.on_hand, lvl.committed) if lvl else (0, 0)


@pytest.fixture
def two_sites(location, stocked):
    second = LocationFactory()
    return location, second


def test_a_paid_order_is_routed_to_one_location_and_commits_its_stock(api, two_sites, stocked):
    first, second = two_sites
    a = stocked("BAR-A", 5, at=first)
    b = stocked("BAR-B", 5, at=second)
    stocked_b_first = inventory_adjust(
        product_id=b.pk, location_id=first.pk, reason="received", delta=1, actor=ACTOR
    )
    assert stocked_b_first.on_hand == 1
    # when an order wants 2 A and 2 B: only the second location... has no A; the first has 1 B
    order = api.post(ORDERS, order_body([("BAR-A", 2), ("BAR-B", 1)])).json()
    # then the first location, which has everything, takes all of it
    [fo] = order["fulfillment_orders"]
    assert fo["location_id"] == first.pk and fo["status"] == "open"
    assert level(a, first) == (5, 2) and level(b, first) == (1, 1)
    assert StockMovement.objects.filter(reason="committed", order_id=order["id"]).count() == 2
    routed = Event.objects.get(order_id=order["id"], kind="order_created")
    assert routed.data["fulfillment_orders"][0]["lines"] == {"BAR-A": 2, "BAR-B": 1}


def test_an_order_no_location_covers_is_split_and_the_rest_waits_on_hold(
    api, two_sites, stocked, django_capture_on_commit_callbacks
):
    first, second = two_sites
    a = stocked("BAR-A", 2, at=first)
    stocked_a2 = inventory_adjust(
        product_id=a.pk, location_id=second.pk, reason="received", delta=3, actor=ACTOR
    )
    assert stocked_a2.on_hand == 3
    order = api.post(ORDERS, order_body([("BAR-A", 7)])).json()
    fos = {(f["location_id"], bool(f["holds"])): f for f in order["fulfillment_orders"]}
    assert set(fos) == {(first.pk, False), (second.pk, False), (first.pk, True)}
    assert fos[(first.pk, True)]["holds"][0]["reason"] == "inventory_out_of_stock"
    assert fos[(first.pk, True)]["lines"][0]["remaining"] == 2
    assert order["fulfillment_status"] == "on_hold"
    assert level(a, first) == (2, 2) and level(a, second) == (3, 3)
    # when stock arrives, the backorder is routed again by itself once the change commits
    with django_capture_on_commit_callbacks(execute=True):
        inventory_adjust(
            product_id=a.pk, location_id=second.pk, reason="received", delta=5, actor=ACTOR
        )
    order = api.get(f"{ORDERS}/{order['id']}").json()
    assert not any(f["holds"] for f in order["fulfillment_orders"] if f["status"] != "closed")
    assert level(a, second) == (8, 5)
    assert order["fulfillment_status"] == "unfulfilled"
    assert Event.objects.filter(order_id=order["id"], kind="backorder_routed").count() == 1


def test_backorders_are_served_oldest_first(
    api, stocked, location, django_capture_on_commit_callbacks
):
    a = ProductFactory(sku="BAR-A")
    InventoryLevel.objects.create(product=a, location=location)
    first = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    second = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    assert first["fulfillment_status"] == second["fulfillment_status"] == "on_hold"
    with django_capture_on_commit_callbacks(execute=True):
        inventory_adjust(
            product_id=a.pk, location_id=location.pk, reason="received", delta=3, actor=ACTOR
        )
    first = api.get(f"{ORDERS}/{first['id']}").json()
    second = api.get(f"{ORDERS}/{second['id']}").json()
    assert first["fulfillment_status"] == "unfulfilled"
    # the second gets the one unit left and waits for the other
    live = [f for f in second["fulfillment_orders"] if f["status"] not in ("closed", "cancelled")]
    assert sorted((bool(f["holds"]), f["lines"][0]["remaining"]) for f in live) == [
        (False, 1),
        (True, 1),
    ]
    assert level(a, location) == (3, 3)


def test_an_unpaid_order_waits_on_hold_until_it_is_paid(api, shop, location):
    order = api.post(ORDERS, order_body([("BAR-A", 1)], financial_status="pending")).json()
    assert order["status"] == "awaiting_payment"
    [fo] = order["fulfillment_orders"]
    assert [h["reason"] for h in fo["holds"]] == ["awaiting_payment"]
    refused = api.post(
        f"{ORDERS}/{order['id']}/shipments", {"carrier": "other", "tracking_numbers": ["X1"]}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "fulfillment_order_on_hold"
    paid = api.post(f"{ORDERS}/{order['id']}/pay").json()
    assert paid["status"] == "awaiting_fulfillment" and paid["financial_status"] == "paid"
    assert paid["fulfillment_orders"][0]["holds"] == []
    assert paid["fulfillment_orders"][0]["status"] == "open"
    again = api.post(f"{ORDERS}/{order['id']}/pay")
    assert again.status_code == 409 and again.json()["code"] == "not_awaiting_payment"


def test_most_stock_strategy_picks_the_deeper_location(api, two_sites, stocked):
    first, second = two_sites
    a = stocked("BAR-A", 2, at=first)
    inventory_adjust(
        product_id=a.pk, location_id=second.pk, reason="received", delta=9, actor=ACTOR
    )
    changed = api.patch("/api/v1/shop", {"routing_strategy": "most_stock"})
    assert changed.status_code == 200 and changed.json()["routing_strategy"] == "most_stock"
    assert api.patch("/api/v1/shop", {"routing_strategy": "nearest"}).status_code == 422
    snapshots_forget()
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    assert order["fulfillment_orders"][0]["location_id"] == second.pk
    snapshots_forget()


def test_inactive_or_offline_locations_are_not_routed_to(api, two_sites, stocked):
    first, second = two_sites
    a = stocked("BAR-A", 5, at=second)
    first.fulfills_online_orders = False
    first.save()
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    assert order["fulfillment_orders"][0]["location_id"] == second.pk
    second.active = False
    second.save()
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    # nowhere left to route: the order stays unrouted rather than going to an offline location
    assert order["fulfillment_orders"] == []
    assert level(a, second) == (5, 1)


def test_cancelling_an_order_releases_its_stock(api, shop, location):
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    lvl = InventoryLevel.objects.get(product__sku="BAR-A", location=location)
    assert lvl.committed == 2
    cancelled = api.post(f"{ORDERS}/{order['id']}/cancel", {"reason": "buyer asked"}).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["fulfillment_orders"][0]["status"] == "cancelled"
    assert cancelled["lines"][0]["quantity_cancelled"] == 2
    lvl.refresh_from_db()
    assert lvl.committed == 0
    assert StockMovement.objects.filter(reason="released", order_id=order["id"]).count() == 1
    assert FulfillmentOrder.objects.filter(order_id=order["id"], status="cancelled").count() == 1


def test_cancelling_an_order_queues_the_buyer_email_and_the_webhook(api, shop):
    from colis.core.models import OutboxMessage

    order = api.post(ORDERS, order_body([("BAR-A", 1)], channel="shopify-main")).json()
    api.post(f"{ORDERS}/{order['id']}/cancel")
    rows = OutboxMessage.objects.filter(order_id=order["id"])
    assert sorted((m.kind, m.payload.get("template") or m.payload.get("event")) for m in rows) == [
        ("channel_push", "order.cancelled"),
        ("customer_email", "order_cancelled"),
        ("webhook_event", "fulfillment_order.cancelled"),
        ("webhook_event", "order.cancelled"),
        ("webhook_event", "order.created"),
    ]
    # cancelling is not repeated, nor are its effects
    assert api.post(f"{ORDERS}/{order['id']}/cancel").status_code == 409
    assert OutboxMessage.objects.filter(order_id=order["id"]).count() == 5


def test_two_backorders_of_one_order_routed_together_make_one_fo(
    api, location, django_capture_on_commit_callbacks
):
    a = ProductFactory(sku="BAR-A")
    InventoryLevel.objects.create(product=a, location=location)
    order = api.post(ORDERS, order_body([("BAR-A", 5)])).json()
    fo = order["fulfillment_orders"][0]
    split = api.post(
        f"/api/v1/fulfillment-orders/{fo['id']}/split", {"lines": [{"sku": "BAR-A", "quantity": 2}]}
    )
    assert split.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        inventory_adjust(
            product_id=a.pk, location_id=location.pk, reason="received", delta=10, actor=ACTOR
        )
    order = api.get(f"{ORDERS}/{order['id']}").json()
    live = [f for f in order["fulfillment_orders"] if f["status"] == "open"]
    assert len(live) == 1 and len(live[0]["lines"]) == 1
    assert live[0]["lines"][0]["remaining"] == 5
    assert all(f["status"] in ("open", "closed") for f in order["fulfillment_orders"])
    shipped = api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {"lines": [{"sku": "BAR-A", "quantity": 5}], "carrier": "other"},
    )
    assert shipped.status_code == 201, shipped.content


def test_a_backorder_keeps_the_holds_staff_placed_with_their_notes(
    api, location, django_capture_on_commit_callbacks
):
    a = ProductFactory(sku="BAR-A")
    InventoryLevel.objects.create(product=a, location=location)
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    held = api.post(
        f"{ORDERS}/{order['id']}/hold", {"reason": "incorrect_address", "notes": "no street number"}
    )
    assert held.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        inventory_adjust(
            product_id=a.pk, location_id=location.pk, reason="received", delta=5, actor=ACTOR
        )
    order = api.get(f"{ORDERS}/{order['id']}").json()
    [live] = [f for f in order["fulfillment_orders"] if f["status"] != "closed"]
    assert live["commits_stock"] is True
    [hold] = live["holds"]
    assert (hold["reason"], hold["notes"], hold["by"]["kind"]) == (
        "incorrect_address",
        "no street number",
        "user",
    )
    assert order["status"] == "manual_verification_required"
