"""Hold, release, move, split, merge and cancel fulfillment orders through the API."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from colis.inventory.models import InventoryLevel
from colis.inventory.services import inventory_adjust
from tests.factories import ACTOR, LocationFactory, order_body

ORDERS = "/api/v1/orders"
FOS = "/api/v1/fulfillment-orders"


def state():
    return (
        list(FulfillmentOrder.objects.order_by("pk").values_list("location_id", "status")),
        list(
            FulfillmentOrderLine.objects.order_by("pk").values_list(
                "quantity", "quantity_fulfilled"
            )
        ),
        list(InventoryLevel.objects.order_by("pk").values_list("on_hand", "committed")),
    )


@pytest.fixture
def order(api, shop):
    return api.post(ORDERS, order_body([("BAR-A", 3), ("BAR-B", 1)])).json()


def test_order_hold_and_release(api, order):
    held = api.post(
        f"{ORDERS}/{order['id']}/hold", {"reason": "high_risk_of_fraud", "notes": "check"}
    )
    assert held.status_code == 200
    assert held.json()["fulfillment_status"] == "on_hold"
    assert held.json()["status"] == "manual_verification_required"
    hold = held.json()["fulfillment_orders"][0]["holds"][0]
    assert hold["reason"] == "high_risk_of_fraud" and hold["notes"] == "check"
    assert hold["by"]["kind"] == "user"
    again = api.post(f"{ORDERS}/{order['id']}/hold", {"reason": "high_risk_of_fraud"})
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_hold"
    released = api.post(f"{ORDERS}/{order['id']}/release")
    assert released.json()["fulfillment_status"] == "unfulfilled"
    assert released.json()["status"] == "awaiting_fulfillment"
    twice = api.post(f"{ORDERS}/{order['id']}/release")
    assert twice.status_code == 409 and twice.json()["code"] == "not_on_hold"
    kinds = list(Event.objects.filter(order_id=order["id"]).values_list("kind", flat=True))
    assert "fulfillment_order_held" in kinds and "fulfillment_order_released" in kinds


@pytest.mark.parametrize("reason", ["inventory_out_of_stock", "nope", ""])
def test_a_bad_hold_reason_is_422(api, order, reason):
    before = state()
    response = api.post(f"{ORDERS}/{order['id']}/hold", {"reason": reason})
    assert response.status_code == 422 and "reason" in response.json()["fields"]
    assert state() == before


def test_moving_an_fo_moves_its_committed_stock(api, order, location, stocked):
    other = LocationFactory()
    for sku in ("BAR-A", "BAR-B"):
        product = InventoryLevel.objects.get(product__sku=sku, location=location).product
        inventory_adjust(
            product_id=product.pk, location_id=other.pk, reason="received", delta=5, actor=ACTOR
        )
    fo = order["fulfillment_orders"][0]
    moved = api.post(f"{FOS}/{fo['id']}/move", {"location_id": other.pk})
    assert moved.status_code == 200, moved.content
    assert moved.json()["location_id"] == other.pk and moved.json()["id"] == fo["id"]
    assert InventoryLevel.objects.get(product__sku="BAR-A", location=location).committed == 0
    assert InventoryLevel.objects.get(product__sku="BAR-A", location=other).committed == 3
    same = api.post(f"{FOS}/{fo['id']}/move", {"location_id": other.pk})
    assert same.status_code == 409 and same.json()["code"] == "same_location"


def test_moving_to_a_location_that_never_stocked_the_item_is_refused(api, order):
    empty = LocationFactory()
    fo = order["fulfillment_orders"][0]
    before = state()
    response = api.post(f"{FOS}/{fo['id']}/move", {"location_id": empty.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "location_never_stocked"
    assert set(response.json()["fields"]["location_id"]["skus"]) == {"BAR-A", "BAR-B"}
    assert state() == before


def test_moving_a_closed_fo_is_refused(api, order, location):
    fo = order["fulfillment_orders"][0]
    api.post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    other = LocationFactory()
    before = state()
    response = api.post(f"{FOS}/{fo['id']}/move", {"location_id": other.pk})
    assert response.status_code == 409 and response.json()["code"] == "fulfillment_order_closed"
    assert state() == before


def test_moving_a_partly_shipped_fo_moves_only_what_is_left(api, order, location):
    other = LocationFactory()
    product = InventoryLevel.objects.get(product__sku="BAR-A", location=location).product
    inventory_adjust(
        product_id=product.pk, location_id=other.pk, reason="received", delta=5, actor=ACTOR
    )
    fo = order["fulfillment_orders"][0]
    api.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "carrier": "other",
            "lines": [{"sku": "BAR-A", "quantity": 1}, {"sku": "BAR-B", "quantity": 1}],
        },
    )
    moved = api.post(f"{FOS}/{fo['id']}/move", {"location_id": other.pk}).json()
    assert moved["id"] != fo["id"] and moved["location_id"] == other.pk
    assert [(ln["sku"], ln["remaining"]) for ln in moved["lines"]] == [("BAR-A", 2)]
    old = api.get(f"{FOS}/{fo['id']}").json()
    assert old["status"] == "closed"


def test_split_then_merge_back(api, order, location):
    fo = order["fulfillment_orders"][0]
    split = api.post(f"{FOS}/{fo['id']}/split", {"lines": [{"sku": "BAR-A", "quantity": 2}]})
    assert split.status_code == 201
    new = split.json()
    assert [(ln["sku"], ln["quantity"]) for ln in new["lines"]] == [("BAR-A", 2)]
    original = api.get(f"{FOS}/{fo['id']}").json()
    assert {ln["sku"]: ln["remaining"] for ln in original["lines"]} == {"BAR-A": 1, "BAR-B": 1}
    # stock is unchanged: the same location still holds all of it
    assert InventoryLevel.objects.get(product__sku="BAR-A", location=location).committed == 3
    everything = api.post(
        f"{FOS}/{fo['id']}/split",
        {"lines": [{"sku": "BAR-A", "quantity": 1}, {"sku": "BAR-B", "quantity": 1}]},
    )
    assert everything.status_code == 409 and everything.json()["code"] == "split_takes_everything"
    merged = api.post(f"{FOS}/merge", {"fulfillment_order_ids": [fo["id"], new["id"]]})
    assert merged.status_code == 200, merged.content
    assert {ln["sku"]: ln["remaining"] for ln in merged.json()["lines"]} == {"BAR-A": 3, "BAR-B": 1}
    assert api.get(f"{FOS}/{new['id']}").json()["status"] == "closed"


def test_merging_fos_of_two_locations_is_refused(api, order, location):
    other = LocationFactory()
    product = InventoryLevel.objects.get(product__sku="BAR-A", location=location).product
    inventory_adjust(
        product_id=product.pk, location_id=other.pk, reason="received", delta=5, actor=ACTOR
    )
    fo = order["fulfillment_orders"][0]
    new = api.post(f"{FOS}/{fo['id']}/split", {"lines": [{"sku": "BAR-A", "quantity": 2}]}).json()
    api.post(f"{FOS}/{new['id']}/move", {"location_id": other.pk})
    before = state()
    response = api.post(f"{FOS}/merge", {"fulfillment_order_ids": [fo["id"], new["id"]]})
    assert response.status_code == 409 and response.json()["code"] == "merge_mismatch"
    assert state() == before


def test_cancelling_an_fo_cancels_its_items_and_releases_stock(api, order, location):
    fo = order["fulfillment_orders"][0]
    response = api.post(f"{FOS}/{fo['id']}/cancel", {"reason": "out of range"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    after = api.get(f"{ORDERS}/{order['id']}").json()
    assert after["status"] == "cancelled"
    assert [ln["quantity_cancelled"] for ln in after["lines"]] == [3, 1]
    assert InventoryLevel.objects.get(product__sku="BAR-A", location=location).committed == 0
    again = api.post(f"{FOS}/{fo['id']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "fulfillment_order_closed"


def test_fo_list_filters_and_unknown_ids(api, order, location):
    page = api.get(FOS, location_id=location.pk, status="open").json()
    assert [f["id"] for f in page["items"]] == [order["fulfillment_orders"][0]["id"]]
    assert api.get(FOS, status="bogus").status_code == 422
    assert api.get(f"{FOS}/999999").status_code == 404
    assert api.post(f"{FOS}/999999/hold", {"reason": "other"}).status_code == 404
    listed = api.get(ORDERS, location=location.pk).json()["items"]
    assert [o["id"] for o in listed] == [order["id"]]
