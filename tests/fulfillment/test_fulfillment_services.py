"""3PLs and dropship suppliers: their own location, scoped tokens, accept / reject, the portal."""

from __future__ import annotations

import pytest

from colis.core.models import OutboxMessage
from colis.fulfillment.models import FulfillmentOrder
from colis.inventory.models import InventoryLevel
from colis.locations.models import Location
from tests.conftest import ApiClient
from tests.factories import ADDRESS_FR, order_body

ORDERS = "/api/v1/orders"
FOS = "/api/v1/fulfillment-orders"
SERVICES = "/api/v1/fulfillment-services"


def _service(api, **extra):
    body = {
        "name": "Fast 3PL",
        "kind": "3pl",
        "email": "ops@3pl.example.com",
        "address": ADDRESS_FR,
        **extra,
    }
    response = api.post(SERVICES, body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def dropship(api, shop, location):
    # the own warehouse does not fulfill online orders: everything goes to the supplier
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=False)
    return _service(api, name="Supplier", kind="dropship", manages_own_stock=False)


def test_a_service_gets_its_own_location_at_the_bottom(api, shop, location):
    service = _service(api)
    loc = Location.objects.get(pk=service["location_id"])
    assert loc.name == "Fast 3PL" and loc.fulfills_online_orders
    assert loc.priority > location.priority and not loc.allow_negative_stock
    listed = api.get(SERVICES).json()["items"]
    assert [s["id"] for s in listed] == [service["id"]]


def test_bad_service_fields_are_named(api, shop):
    response = api.post(
        SERVICES, {"name": "X", "kind": "3pl", "notify_method": "email", "address": ADDRESS_FR}
    )
    assert response.status_code == 422 and "email" in response.json()["fields"]
    response = api.post(
        SERVICES, {"name": "X", "kind": "3pl", "notify_method": "webhook", "address": ADDRESS_FR}
    )
    assert response.status_code == 422 and "webhook_url" in response.json()["fields"]
    assert not Location.objects.filter(name="X").exists()


def test_an_fo_routed_to_a_supplier_is_submitted_and_it_answers_with_its_token(api, dropship):
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    [fo] = order["fulfillment_orders"]
    assert fo["location_id"] == dropship["location_id"] and fo["request_status"] == "submitted"
    assert (
        OutboxMessage.objects.filter(kind="fulfillment_request", order_id=order["id"]).count() == 1
    )
    raw = api.post(f"{SERVICES}/{dropship['id']}/tokens").json()["token"]
    supplier = ApiClient(raw)
    # it sees its own FOs only, and no orders
    assert [f["id"] for f in supplier.get(FOS).json()["items"]] == [fo["id"]]
    assert supplier.get(ORDERS).status_code == 403
    accepted = supplier.post(f"{FOS}/{fo['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["request_status"] == "accepted"
    events = OutboxMessage.objects.filter(kind="webhook_event", order_id=order["id"])
    assert sorted(m.payload["event"] for m in events) == [
        "fulfillment_order.accepted",
        "fulfillment_order.submitted",
        "order.created",
        "order.updated",
    ]
    twice = supplier.post(f"{FOS}/{fo['id']}/accept")
    assert twice.status_code == 409 and twice.json()["code"] == "request_not_submitted"
    shipped = supplier.post(
        f"{ORDERS}/{order['id']}/shipments",
        {
            "fulfillment_order_id": fo["id"],
            "carrier": "ups",
            "tracking_numbers": ["1Z5R89390357567127"],
        },
    )
    assert shipped.status_code == 201, shipped.content
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "shipped"


def test_another_services_token_sees_nothing(api, dropship):
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    fo = order["fulfillment_orders"][0]
    other = _service(api, name="Other 3PL")
    raw = api.post(f"{SERVICES}/{other['id']}/tokens").json()["token"]
    stranger = ApiClient(raw)
    assert stranger.get(FOS).json()["items"] == []
    assert stranger.get(f"{FOS}/{fo['id']}").status_code == 404
    assert stranger.post(f"{FOS}/{fo['id']}/accept").status_code == 404
    assert (
        stranger.post(
            f"{ORDERS}/{order['id']}/shipments",
            {"fulfillment_order_id": fo["id"], "carrier": "other"},
        ).status_code
        == 404
    )


def test_a_rejected_request_goes_back_to_routing(api, dropship, location):
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    fo = order["fulfillment_orders"][0]
    # the own warehouse takes online orders again, and has the stock
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=True)
    raw = api.post(f"{SERVICES}/{dropship['id']}/tokens").json()["token"]
    rejected = ApiClient(raw).post(f"{FOS}/{fo['id']}/reject", {"reason": "discontinued"})
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["request_status"] == "rejected" and rejected.json()["status"] == "closed"
    after = api.get(f"{ORDERS}/{order['id']}").json()
    live = [f for f in after["fulfillment_orders"] if f["status"] == "open"]
    assert [f["location_id"] for f in live] == [location.pk]
    assert InventoryLevel.objects.get(product__sku="BAR-A", location=location).committed == 2


def test_a_rejected_request_waits_on_hold_when_the_merchant_says_so(api, dropship):
    api.patch(f"{SERVICES}/{dropship['id']}", {"on_reject": "hold"})
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    fo = order["fulfillment_orders"][0]
    rejected = api.post(f"{FOS}/{fo['id']}/reject", {"reason": "no stock"}).json()
    assert rejected["status"] == "on_hold" and rejected["holds"][0]["reason"] == "other"
    assert "no stock" in rejected["holds"][0]["notes"]


def test_cancelling_a_submitted_fo_sends_a_cancellation_request(api, dropship):
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    api.post(f"{ORDERS}/{order['id']}/cancel")
    fo = FulfillmentOrder.objects.get(order_id=order["id"])
    assert fo.status == "cancelled" and fo.request_status == "cancellation_requested"
    assert OutboxMessage.objects.filter(kind="fulfillment_cancellation_request").count() == 1


def test_the_portal_link_shows_only_that_service_and_lets_it_act(api, dropship, client):
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    fo = order["fulfillment_orders"][0]
    url = api.post(f"{SERVICES}/{dropship['id']}/portal-link").json()["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200
    assert order["number"] in page.content.decode() and "BAR-A" in page.content.decode()
    accepted = client.post(f"/{path}fo/{fo['id']}/accept")
    assert accepted.status_code == 302
    assert FulfillmentOrder.objects.get(pk=fo["id"]).request_status == "accepted"
    shipped = client.post(
        f"/{path}fo/{fo['id']}/ship", {"carrier": "ups", "tracking_numbers": "1Z5R89390357567127"}
    )
    assert shipped.status_code == 302
    assert api.get(f"{ORDERS}/{order['id']}").json()["status"] == "shipped"
    bad = client.get(f"/{path[:-5]}xxxx/")
    assert bad.status_code == 404


def test_a_dropship_supplier_sells_beyond_its_count(api, dropship):
    order = api.post(ORDERS, order_body([("BAR-A", 500)])).json()
    [fo] = order["fulfillment_orders"]
    assert fo["holds"] == [] and fo["location_id"] == dropship["location_id"]


def test_a_service_token_learns_nothing_about_orders_it_has_no_fo_in(api, dropship, location):
    # an order shipped from the own warehouse, and one that does not exist
    Location.objects.filter(pk=location.pk).update(fulfills_online_orders=True)
    own = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    assert own["fulfillment_orders"][0]["location_id"] == location.pk
    raw = api.post(f"{SERVICES}/{dropship['id']}/tokens").json()["token"]
    supplier = ApiClient(raw)
    answers = [
        supplier.post(f"{ORDERS}/{own['id']}/shipments", {"carrier": "other"}),
        supplier.post(f"{ORDERS}/999999/shipments", {"carrier": "other"}),
        supplier.post(
            f"{ORDERS}/{own['id']}/shipments",
            {"fulfillment_order_id": own["fulfillment_orders"][0]["id"], "carrier": "other"},
        ),
    ]
    assert [(r.status_code, r.json()["code"]) for r in answers] == [
        (404, "fulfillment_order_not_found")
    ] * 3


def test_a_service_ships_only_what_it_accepted(api, dropship):
    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    fo = order["fulfillment_orders"][0]
    raw = api.post(f"{SERVICES}/{dropship['id']}/tokens").json()["token"]
    early = ApiClient(raw).post(f"{ORDERS}/{order['id']}/shipments", {"carrier": "other"})
    assert early.status_code == 409 and early.json()["code"] == "request_not_accepted"
    assert FulfillmentOrder.objects.get(pk=fo["id"]).status == "open"


def test_an_fo_moved_to_another_service_after_a_rejection_is_requested_again(api, dropship):
    api.patch(f"{SERVICES}/{dropship['id']}", {"on_reject": "hold"})
    order = api.post(ORDERS, order_body([("BAR-A", 2)])).json()
    fo = order["fulfillment_orders"][0]
    raw = api.post(f"{SERVICES}/{dropship['id']}/tokens").json()["token"]
    ApiClient(raw).post(f"{FOS}/{fo['id']}/reject", {"reason": "no stock"})
    other = _service(api, name="Second supplier", kind="dropship", manages_own_stock=False)
    moved = api.post(f"{FOS}/{fo['id']}/move", {"location_id": other["location_id"]})
    assert moved.status_code == 200, moved.content
    assert moved.json()["request_status"] == "submitted" and moved.json()["holds"] == []
    requests = OutboxMessage.objects.filter(kind="fulfillment_request", order_id=order["id"])
    assert sorted(m.payload["location_id"] for m in requests) == sorted(
        [dropship["location_id"], other["location_id"]]
    )


def test_the_portal_forms_carry_a_csrf_token_and_refuse_posts_without_it(api, dropship):
    from django.test import Client

    order = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    fo = order["fulfillment_orders"][0]
    url = api.post(f"{SERVICES}/{dropship['id']}/portal-link").json()["url"]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    forged = Client(enforce_csrf_checks=True).post(f"{path}fo/{fo['id']}/accept")
    assert forged.status_code == 403
    assert FulfillmentOrder.objects.get(pk=fo["id"]).request_status != "accepted"
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="', 1)[1].split('"')[0]
    accepted = browser.post(f"{path}fo/{fo['id']}/accept", {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert FulfillmentOrder.objects.get(pk=fo["id"]).request_status == "accepted"
