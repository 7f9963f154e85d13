"""BigCommerce end to end over real HTTP: an order webhook sent by the emulator to a running
Colis brings the order in (read back through the API, once however often it is sent), a wrong
secret is refused, and shipments go back as BigCommerce shipments of the right products."""

from __future__ import annotations

import pytest
import requests

from colis.channels.models import SyncRecord, WebhookReceipt
from colis.emulators.bigcommerce import WEBHOOK_SECRET
from colis.orders.models import Order
from colis.shipping.services import carriers_seed
from tests.channels.helpers import (
    UPS_NUMBER,
    assert_every_unit_sent_once,
    assert_taken_as_a_duplicate,
    bigcommerce_connection,
    deliver,
    imported,
    ship,
    webhook_and_forgery,
    webhook_url,
)
from tests.factories import ACTOR

SKUS = ["BC-A", "BC-B"]


@pytest.fixture
def channel(store, connect):
    return connect("bigcommerce", "BigCommerce", SKUS, **bigcommerce_connection(store))


def _seed(store, **spec) -> list[str]:
    return store.emulator.seed_orders({"skus": SKUS, **spec})


@pytest.mark.django_db(transaction=True)
def test_a_webhook_brings_the_order_in_once_and_a_wrong_secret_is_refused(
    store, channel, colis_server
):
    carriers_seed(actor=ACTOR)
    [order_id] = _seed(store, count=1)
    url = webhook_url(colis_server, channel)

    topics = ("store/order/created", "store/order/updated")
    sent, refused = webhook_and_forgery(store, url, order_id, topics)

    assert sent["status"] == 200 and refused["status"] == 401
    assert list(Order.objects.values_list("external_id", flat=True)) == [str(order_id)]
    assert WebhookReceipt.objects.count() == 1
    states = list(SyncRecord.objects.filter(direction="webhook").values_list("state", flat=True))
    assert sorted(states) == ["failed", "succeeded"]

    # the vendor delivers the same webhook again: nothing more happens
    again = requests.post(
        url,
        json=sent["payload"],
        headers={"X-Colis-Webhook-Secret": WEBHOOK_SECRET},
        timeout=10,
    )
    assert_taken_as_a_duplicate(again)


@pytest.mark.django_db
def test_a_split_shipment_goes_back_as_two_bigcommerce_shipments(store, channel, api):
    [order_id] = imported(channel, _seed(store, count=1))
    order = Order.objects.get()
    lines = list(order.lines.order_by("position"))

    ship(api, order, lines=[{"line_id": lines[0].pk, "quantity": 1}])
    ship(api, order, carrier="other", carrier_name="Coursier Léon", tracking="CL-1")
    deliver()

    shipments = store.emulator.state()["fulfillments"][str(order_id)]
    assert [s["tracking_number"] for s in shipments] == [UPS_NUMBER, "CL-1"]
    assert shipments[0]["shipping_provider"] == "ups"
    assert shipments[0]["items"][0]["order_product_id"] == int(lines[0].external_line_id)
    assert shipments[0]["items"][0]["quantity"] == 1
    assert_every_unit_sent_once(
        lines, ((str(i["order_product_id"]), i["quantity"]) for s in shipments for i in s["items"])
    )
    assert store.emulator.state()["statuses"][str(order_id)] == 2  # shipped
    assert set(SyncRecord.objects.filter(direction="push").values_list("state", flat=True)) == {
        "succeeded"
    }


@pytest.mark.django_db
def test_a_status_set_by_hand_is_set_on_bigcommerce_too(store, channel, api):
    [order_id] = imported(channel, _seed(store, count=1))
    order = Order.objects.get()

    response = api.post(
        f"/api/v1/orders/{order.pk}/status", {"status": "manual_verification_required"}
    )
    assert response.status_code == 200, response.content
    deliver()

    assert store.emulator.state()["statuses"][str(order_id)] == 12
    record = SyncRecord.objects.get(direction="push", operation="order_status")
    assert record.state == "succeeded" and record.request["status_id"] == 12
