"""BigCommerce end to end over real HTTP: an order webhook sent by the emulator to a running
Colis brings the order in (read back through the API, once however often it is sent), a wrong
secret is refused, and shipments go back as BigCommerce shipments of the right products."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.utils import timezone

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord, WebhookReceipt
from colis.channels.services import channel_create
from colis.core.models import OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.bigcommerce import (
    ACCESS_TOKEN,
    STORE_HASH,
    WEBHOOK_SECRET,
    BigCommerceEmulator,
)
from colis.emulators.server import EmulatorServer
from colis.orders.models import Order
from colis.shipping.services import carriers_seed
from tests.factories import ACTOR

SKUS = ["BC-A", "BC-B"]


@pytest.fixture
def store() -> Iterator[EmulatorServer]:
    server = EmulatorServer(BigCommerceEmulator(limits=False)).start()
    yield server
    server.stop()
    assert server.emulator.violations == []


def _channel(store: EmulatorServer):
    return channel_create(
        kind="bigcommerce",
        name="BigCommerce",
        credentials={"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        settings={"api_base_url": store.url, "store_hash": STORE_HASH},
        options={"import_start": datetime(2020, 1, 1, tzinfo=UTC)},
        actor=ACTOR,
    )


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def colis_server() -> Iterator[str]:
    """Colis itself over real HTTP (the vendor's webhooks come from another process)."""
    handler = WSGIHandler()

    def app(environ, start_response):
        try:
            return handler(environ, start_response)
        finally:
            connections.close_all()  # the server thread keeps no connection past a request

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_webhook_brings_the_order_in_once_and_a_wrong_secret_is_refused(
    store, stocked, colis_server
):
    carriers_seed(actor=ACTOR)
    for sku in SKUS:
        stocked(sku)
    channel = _channel(store)
    [order_id] = store.emulator.seed_orders({"count": 1, "skus": SKUS})
    url = f"{colis_server}/api/v1/channels/{channel.pk}/webhooks"

    sent = store.emulator.webhook_send(url=url, topic="store/order/created", order_id=order_id)
    refused = store.emulator.webhook_send(
        url=url, topic="store/order/updated", order_id=order_id, secret="not-the-secret"
    )

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
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Order.objects.count() == 1 and ChannelOrder.objects.count() == 1


@pytest.mark.django_db
def test_a_split_shipment_goes_back_as_two_bigcommerce_shipments(store, stocked, api):
    for sku in SKUS:
        stocked(sku)
    channel = _channel(store)
    [order_id] = store.emulator.seed_orders({"count": 1, "skus": SKUS})
    channel_import(channel_id=channel.pk)
    order = Order.objects.get()
    lines = list(order.lines.order_by("position"))

    first = api.post(f"/api/v1/orders/{order.pk}/shipments", {
        "carrier": "ups", "tracking_numbers": ["1Z999AA10123456784"],
        "lines": [{"line_id": lines[0].pk, "quantity": 1}],
    })  # fmt: skip
    rest = api.post(f"/api/v1/orders/{order.pk}/shipments", {
        "carrier": "other", "carrier_name": "Coursier Léon", "tracking_numbers": ["CL-1"],
    })  # fmt: skip
    assert first.status_code == 201 and rest.status_code == 201, (first.content, rest.content)
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    while outbox_pump(worker_id="w1"):
        pass

    shipments = store.emulator.state()["fulfillments"][str(order_id)]
    assert [s["tracking_number"] for s in shipments] == ["1Z999AA10123456784", "CL-1"]
    assert shipments[0]["shipping_provider"] == "ups"
    assert shipments[0]["items"][0]["order_product_id"] == int(lines[0].external_line_id)
    assert shipments[0]["items"][0]["quantity"] == 1
    shipped = {}
    for s in shipments:
        for item in s["items"]:
            shipped[str(item["order_product_id"])] = (
                shipped.get(str(item["order_product_id"]), 0) + item["quantity"]
            )
    assert shipped == {ln.external_line_id: ln.quantity for ln in lines}
    assert store.emulator.state()["statuses"][str(order_id)] == 2  # shipped
    assert set(SyncRecord.objects.filter(direction="push").values_list("state", flat=True)) == {
        "succeeded"
    }


@pytest.mark.django_db
def test_a_status_set_by_hand_is_set_on_bigcommerce_too(store, stocked, api):
    for sku in SKUS:
        stocked(sku)
    channel = _channel(store)
    [order_id] = store.emulator.seed_orders({"count": 1, "skus": SKUS})
    channel_import(channel_id=channel.pk)
    order = Order.objects.get()

    response = api.post(
        f"/api/v1/orders/{order.pk}/status", {"status": "manual_verification_required"}
    )
    assert response.status_code == 200, response.content
    while outbox_pump(worker_id="w1"):
        pass

    assert store.emulator.state()["statuses"][str(order_id)] == 12
    record = SyncRecord.objects.get(direction="push", operation="order_status")
    assert record.state == "succeeded" and record.request["status_id"] == 12
