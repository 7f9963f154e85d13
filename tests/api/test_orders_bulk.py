"""POST /api/v1/orders/bulk: one result per order, the good ones created, the bad ones named."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.orders.models import Order, OrderLine
from tests.conftest import order_counts
from tests.factories import order_body

pytestmark = pytest.mark.django_db

BULK = "/api/v1/orders/bulk"


def test_a_batch_of_100_with_two_bad_orders_creates_98(api, shop):
    # given 100 orders where #7 has a zero quantity and #40 an unknown SKU
    orders = [
        order_body([("BAR-A", 1), ("BAR-B", 2)], email=f"b{i}@example.com") for i in range(100)
    ]
    orders[7] = order_body([("BAR-A", 0)], email="bad7@example.com")
    orders[40] = order_body([("BAR-A", 1), ("NO-SUCH-SKU", 1)], email="bad40@example.com")
    events_before = Event.objects.count()
    # when they are posted in one call
    response = api.post(BULK, {"orders": orders})
    # then there is one result per order, in index order
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(100))
    assert [i for i, r in enumerate(results) if not r["ok"]] == [7, 40]
    # and the bad ones name their field, the good ones their order
    assert "lines[0].quantity" in results[7]["errors"]
    assert "order" not in results[7]
    assert set(results[40]["errors"]) == {"lines[1].sku"}
    good = [r for r in results if r["ok"]]
    assert all(set(r["order"]) == {"id", "number"} and "errors" not in r for r in good)
    # and the database holds exactly the 98 good orders, their lines and events
    assert Order.objects.count() == 98
    assert OrderLine.objects.count() == 196
    assert Event.objects.filter(kind="order_created").count() == 98
    assert Event.objects.count() - events_before == 98
    assert not Order.objects.filter(email__in=["bad7@example.com", "bad40@example.com"]).exists()
    stored = dict(Order.objects.values_list("pk", "number"))
    assert {r["order"]["id"]: r["order"]["number"] for r in good} == stored
    assert Order.objects.get(email="b41@example.com").pk == results[41]["order"]["id"]


def test_a_channel_id_twice_in_one_batch_creates_it_once(api, shop):
    orders = [
        order_body([("BAR-A", 1)], channel="shop", external_id="E-1"),
        order_body([("BAR-A", 1)], channel="shop", external_id="E-2"),
        order_body([("BAR-A", 3)], channel="shop", external_id="E-1"),
    ]
    results = api.post(BULK, {"orders": orders}).json()["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert "external_id" in results[2]["errors"]
    assert Order.objects.filter(external_id="E-1").count() == 1
    assert Order.objects.get(external_id="E-1").lines.get().quantity == 1


def test_an_order_that_exists_is_reported_as_existing(api, shop):
    first = api.post("/api/v1/orders", order_body([("BAR-A", 1)], external_id="E-1")).json()
    results = api.post(BULK, {"orders": [order_body([("BAR-A", 1)], external_id="E-1")]}).json()[
        "results"
    ]
    assert results == [
        {
            "index": 0,
            "ok": True,
            "order": {"id": first["id"], "number": first["number"]},
            "created": False,
        }
    ]
    assert Order.objects.count() == 1


def test_the_same_number_twice_in_one_batch_creates_it_once(api, shop):
    orders = [order_body([("BAR-A", 1)], number="N-1") for _ in range(2)]
    results = api.post(BULK, {"orders": orders}).json()["results"]
    assert [r["ok"] for r in results] == [True, False]
    assert "number" in results[1]["errors"]
    assert Order.objects.count() == 1


def test_1001_orders_are_refused_and_nothing_is_stored(api, shop):
    before = order_counts()
    response = api.post(BULK, {"orders": [order_body([("BAR-A", 1)])] * 1001})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "batch_too_large"
    assert "orders" in body["fields"]
    assert order_counts() == before


@pytest.mark.parametrize(
    "payload",
    [{"orders": "not a list"}, {"orders": {"0": {}}}, {"order": []}, [], "orders", 42, None],
)
def test_a_body_without_a_list_of_orders_is_422(api, shop, payload):
    before = order_counts()
    response = api.client.post(
        BULK,
        payload,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 422
    assert response.json()["fields"]
    assert order_counts() == before


def test_a_body_that_is_not_json_is_422(api, shop):
    response = api.client.post(
        BULK, b"{orders", content_type="application/json", headers=api._headers(None)
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_json"


def test_items_that_are_not_objects_are_reported_by_index(api, shop):
    orders = ["x", order_body([("BAR-A", 1)]), None, {}]
    results = api.post(BULK, {"orders": orders}).json()["results"]
    assert [(r["index"], r["ok"]) for r in results] == [
        (0, False),
        (1, True),
        (2, False),
        (3, False),
    ]
    assert {"email", "currency", "lines", "shipping_address"} <= set(results[3]["errors"])
    assert Order.objects.count() == 1


def test_an_empty_batch_is_an_empty_answer(api, shop):
    response = api.post(BULK, {"orders": []})
    assert response.status_code == 200
    assert response.json() == {"results": []}


def test_a_batch_of_only_bad_orders_stores_nothing(api, shop):
    before = order_counts()
    orders = [order_body([("NO-SUCH-SKU", 1)]), order_body([("BAR-A", 1)], currency="XYZ")]
    results = api.post(BULK, {"orders": orders}).json()["results"]
    assert [r["ok"] for r in results] == [False, False]
    assert order_counts() == before
