"""Odd input a person or a fuzzer sends: always a clear 4xx or a sensible result, never a 500."""

from __future__ import annotations

import pytest

from colis.core.models import Shop
from colis.demo import demo_load
from colis.locations.models import Location
from colis.orders.models import Order
from tests.factories import ACTOR, order_body

pytestmark = pytest.mark.django_db


def test_unicode_digits_are_not_numbers(api, stocked):
    stocked("EDGE-1")
    created = api.post("/api/v1/orders", order_body([("EDGE-1", 1)], number="²"))
    assert created.status_code == 201 and created.json()["number"] == "²"
    assert api.get("/api/v1/orders", status="²").status_code == 422
    order_id = created.json()["id"]
    response = api.post(f"/api/v1/orders/{order_id}/status", {"status": "²"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_status"


def test_a_location_address_takes_the_location_name_when_it_has_none(api):
    address = {"line1": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}
    response = api.post("/api/v1/locations", {"name": "Rivoli shop", "address": address})
    assert response.status_code == 201, response.content
    assert response.json()["address"]["name"] == "Rivoli shop"
    location_id = response.json()["id"]
    moved = api.patch(
        f"/api/v1/locations/{location_id}", {"address": {**address, "line1": "2 rue"}}
    )
    assert moved.status_code == 200 and moved.json()["address"]["name"] == "Rivoli shop"


def test_a_wrong_method_is_a_json_error(api):
    response = api.client.put("/api/v1/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert api.get("/api/v1/no-such-thing").json()["code"] == "not_found"


def test_demo_data_never_lands_in_a_shop_in_use(location):
    assert demo_load(actor=ACTOR, orders=5) is False
    assert Location.objects.count() == 1 and not Order.objects.exists()
    assert Shop.objects.get(pk=1).demo_loaded_at is None


def test_demo_data_loads_once_into_an_empty_shop():
    assert demo_load(actor=ACTOR, orders=20) is True
    assert Location.objects.count() == 2 and Order.objects.count() == 20
    assert demo_load(actor=ACTOR, orders=20) is False
    assert Order.objects.count() == 20


def test_huge_supplied_numbers_never_block_generated_ones(api, stocked):
    stocked("EDGE-2")
    for number in ("999999999999999999", "1000000000000000001", None, None, None):
        extra = {"number": number} if number else {}
        response = api.post("/api/v1/orders", order_body([("EDGE-2", 1)], **extra))
        assert response.status_code == 201, response.content
    numbers = list(Order.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 5


def test_generated_numbers_skip_a_taken_one_after_a_clash(api, stocked):
    from colis.core.sequences import counter_set

    stocked("EDGE-3")
    first = api.post("/api/v1/orders", order_body([("EDGE-3", 1)])).json()["number"]
    counter_set(name="order_number", value=int(first) - 1)  # forced clash
    again = api.post("/api/v1/orders", order_body([("EDGE-3", 1)]))
    assert again.status_code == 201 and again.json()["number"] != first


def test_an_external_id_with_spaces_is_the_same_order(api, stocked):
    stocked("EDGE-4")
    one = api.post("/api/v1/orders", order_body([("EDGE-4", 1)], external_id="X1"))
    two = api.post("/api/v1/orders", order_body([("EDGE-4", 1)], external_id=" X1 "))
    assert one.status_code == 201 and two.status_code == 200
    assert two.json()["id"] == one.json()["id"]


@pytest.mark.parametrize(
    "extra, field",
    [
        (
            {"lines": [{"sku": "EDGE-5", "quantity": 1000000, "unit_price": "99999999999999"}]},
            "lines",
        ),
        ({"shipping_price": "99999999999999", "tax_total": "99999999999999"}, "total"),
        ({"discount_total": "500"}, "total"),
    ],
)
def test_amounts_out_of_range_are_refused(api, stocked, extra, field):
    stocked("EDGE-5")
    response = api.post("/api/v1/orders", {**order_body([("EDGE-5", 1)]), **extra})
    assert response.status_code == 422 and field in response.json()["fields"]
    assert not Order.objects.exists()


def test_dates_out_of_range_are_refused(api, stocked):
    stocked("EDGE-6")
    for ship_by in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00"):
        response = api.post("/api/v1/orders", order_body([("EDGE-6", 1)], ship_by=ship_by))
        assert response.status_code == 422 and "ship_by" in response.json()["fields"]
    listed = api.get("/api/v1/orders", created_after="0001-01-01T00:00:00+05:00")
    assert listed.status_code == 422
    assert api.get("/api/v1/orders").status_code == 200


def test_a_delta_beyond_the_level_range_is_refused(api, location):
    from colis.inventory.models import StockMovement

    location.allow_negative_stock = True
    location.save()
    api.post("/api/v1/products", {"sku": "EDGE-7", "title": "x"})
    for _ in range(2):
        body = {"sku": "EDGE-7", "location_id": location.pk, "delta": -(10**9)}
        assert api.post("/api/v1/inventory/adjustments", body).status_code == 201
    body = {"sku": "EDGE-7", "location_id": location.pk, "set_on_hand": 10**9}
    response = api.post("/api/v1/inventory/adjustments", body)
    assert response.status_code == 422
    assert response.json()["code"] == "quantity_out_of_range"
    assert sum(StockMovement.objects.values_list("delta_on_hand", flat=True)) == -2 * 10**9
