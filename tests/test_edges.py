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
