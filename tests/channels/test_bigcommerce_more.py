"""BigCommerce end to end over real HTTP, beyond test_bigcommerce_flow.py: orders through the
checks (the failing ones queued with their reasons, brought in by a retry once their SKU is
mapped), changes made in the control panel brought here (by an import or by a status webhook),
shipments sent back through faults without ever making two, a carrier BigCommerce does not know
sent in its custom form, and a cancellation made here set on BigCommerce."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.utils import timezone

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord
from colis.channels.services import channel_create, sku_mapping_set
from colis.core.models import Event, OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.bigcommerce import (
    ACCESS_TOKEN,
    STORE_HASH,
    WEBHOOK_SECRET,
    BigCommerceEmulator,
)
from colis.emulators.server import EmulatorServer, Fault
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.factories import ACTOR

SKUS = ["BC-A", "BC-B"]
UPS_NUMBER = "1Z999AA10123456784"
NEW_ADDRESS = {
    "name": "Sam Carter",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


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


@pytest.fixture
def channel(store, stocked):
    for sku in SKUS:
        stocked(sku, qty=500)
    return _channel(store)


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


def _seed(store, **spec) -> list[str]:
    # Placed an hour ago: BigCommerce keeps whole seconds, and a change made during the test
    # must fall in a later second than the order's creation.
    placed = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return store.emulator.seed_orders({"skus": SKUS, "placed_at": placed, **spec})


def _failing(external_id: str) -> set[str]:
    record = ChannelOrder.objects.get(external_id=external_id)
    return {c["check"] for c in record.checks if not c["ok"]}


def _deliver() -> None:
    for message in OutboxMessage.objects.filter(kind="channel_push", status="pending"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    while outbox_pump(worker_id="w1", limit=50):
        pass


def _ship(api, order: Order, tracking=UPS_NUMBER, carrier="ups", **extra):
    body = {"carrier": carrier, "tracking_numbers": [tracking] if tracking else [], **extra}
    response = api.post(f"/api/v1/orders/{order.pk}/shipments", body)
    assert response.status_code == 201, response.content
    return response.json()


def _wait(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db
def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(store, channel, api):
    good = _seed(store, count=3)
    [unpaid] = _seed(store, count=1, unpaid=True)
    [unknown] = _seed(store, count=1, skus=["NOT-OURS"])
    [nowhere] = _seed(store, count=1, missing_address=True)
    # BigCommerce has no marketplace fulfilment: such an order is the merchant's like any other
    [anyway] = _seed(store, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (4, 3, 0), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == {*good, anyway}
    order = Order.objects.get(external_id=good[0])
    products = store.emulator.products[int(good[0])]
    assert {(ln.external_line_id, ln.sku, ln.quantity) for ln in order.lines.all()} == {
        (str(p["id"]), p["sku"], p["quantity"]) for p in products
    }
    assert _failing(unpaid) == {"paid"}
    assert _failing(unknown) == {"skus"}
    assert _failing(nowhere) == {"address"}
    queue = api.get(f"/api/v1/channels/{channel.pk}/pending-orders").json()["items"]
    assert {row["external_id"] for row in queue} == {unpaid, unknown, nowhere}
    assert {c["check"] for row in queue for c in row["failing"]} == {"paid", "skus", "address"}
    records = SyncRecord.objects.filter(channel=channel, direction="import")
    assert records.exists() and {r.state for r in records} == {"succeeded"}


@pytest.mark.django_db
def test_importing_again_creates_nothing_new(store, channel):
    _seed(store, count=2)
    _seed(store, count=1, unpaid=True)
    channel_import(channel_id=channel.pk)

    again = channel_import(channel_id=channel.pk, since=datetime(2020, 1, 1, tzinfo=UTC))

    assert again.seen == 3 and again.imported == 0 and again.pending == 1
    assert Order.objects.count() == 2 and ChannelOrder.objects.count() == 3


@pytest.mark.django_db
def test_a_queued_order_comes_in_once_its_sku_is_mapped(store, channel, api):
    [order_id] = _seed(store, count=1, skus=["BC-LEGACY-A"])
    channel_import(channel_id=channel.pk)
    record = ChannelOrder.objects.get(external_id=order_id)
    assert record.state == "pending" and _failing(order_id) == {"skus"}

    sku_mapping_set(channel_id=channel.pk, channel_sku="BC-LEGACY-A", sku="BC-A", actor=ACTOR)
    response = api.post(f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "imported" and response.json()["failing"] == []
    order = Order.objects.get(external_id=order_id)
    assert response.json()["order_id"] == order.pk
    [line] = order.lines.all()
    [product] = store.emulator.products[int(order_id)]
    assert (line.sku, line.external_line_id) == ("BC-A", str(product["id"]))


@pytest.mark.django_db
def test_an_address_edited_on_bigcommerce_changes_the_order_here(store, channel):
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)

    store.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert summary.updated == 1
    address = Order.objects.get().shipping_address
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "350 5th Ave", "New York", "10118", "US"
    )  # fmt: skip
    assert Event.objects.filter(kind="order_address_changed", actor_kind="channel").count() == 1


@pytest.mark.django_db
def test_an_order_cancelled_on_bigcommerce_is_cancelled_here_and_not_sent_back(store, channel):
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)

    store.emulator.order_action(order_id, {"action": "cancel"})
    channel_import(channel_id=channel.pk)
    _deliver()

    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED and "BigCommerce" in order.cancel_reason
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "on the channel" in record.message
    assert "updateOrder" not in store.emulator.calls


@pytest.mark.django_db
def test_an_order_shipped_on_bigcommerce_becomes_shipped_here(store, channel):
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)

    store.emulator.order_action(
        order_id, {"action": "ship", "provider": "ups", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    [shipment] = order.shipments.all()
    assert shipment.carrier == "ups" and shipment.tracking_numbers == [UPS_NUMBER]
    _deliver()  # nothing to send: BigCommerce has it
    assert len(store.emulator.state()["fulfillments"][order_id]) == 1
    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "on the channel" in record.message


@pytest.mark.django_db
def test_a_carrier_bigcommerce_does_not_know_goes_in_its_custom_form(store, channel, api):
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)

    _ship(api, Order.objects.get(), carrier="other", carrier_name="Coursier Léon",
          tracking="CL-000123")  # fmt: skip
    _deliver()

    [shipment] = store.emulator.state()["fulfillments"][order_id]
    assert (shipment["shipping_provider"], shipment["tracking_carrier"]) == ("", "")
    assert shipment["shipping_method"] == "Coursier Léon"
    assert shipment["tracking_number"] == "CL-000123"
    assert shipment["shipping_provider_display_name"] == "Custom"


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429", "expired_token"])
def test_after_a_fault_the_package_is_sent_exactly_once(store, channel, api, settings, fault):
    # A timeout: BigCommerce makes the shipment after the client has given up waiting.
    settings.COLIS_CHANNEL_TIMEOUT = 0.5
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)
    store.emulator.faults["createOrderShipments"].append(
        Fault(fault=fault, count=1, retry_after=1.0 if fault == "timeout" else 2.0)
    )
    _ship(api, Order.objects.get())
    _deliver()

    record = SyncRecord.objects.get(channel=channel, direction="push")
    assert record.state == "retrying", record.message
    if fault == "429":
        message = OutboxMessage.objects.get(kind="channel_push")
        assert message.next_attempt_at >= timezone.now() + timedelta(seconds=1)
    if fault == "timeout":
        assert _wait(lambda: store.emulator.state()["fulfillments"].get(order_id))
    _deliver()

    record.refresh_from_db()
    assert record.state == "succeeded", record.message
    assert len(store.emulator.state()["fulfillments"].get(order_id, [])) == 1
    if fault == "timeout":
        assert "earlier attempt" in record.message


@pytest.mark.django_db
def test_a_cancellation_made_here_is_set_on_bigcommerce(store, channel, api):
    [order_id] = _seed(store, count=1)
    channel_import(channel_id=channel.pk)

    response = api.post(f"/api/v1/orders/{Order.objects.get().pk}/cancel", {"reason": "Out"})
    assert response.status_code == 200, response.content
    _deliver()

    assert store.emulator.state()["statuses"][order_id] == 5  # cancelled
    record = SyncRecord.objects.get(direction="push")
    assert (record.operation, record.state) == ("order_cancel", "succeeded")
    assert record.request == {"status_id": 5}


@pytest.mark.django_db(transaction=True)
def test_a_status_webhook_brings_a_cancellation_made_on_bigcommerce(store, stocked, colis_server):
    for sku in SKUS:
        stocked(sku)
    channel = _channel(store)
    [order_id] = _seed(store, count=1)
    url = f"{colis_server}/api/v1/channels/{channel.pk}/webhooks"
    created = store.emulator.webhook_send(url=url, topic="store/order/created", order_id=order_id)
    assert created["status"] == 200 and Order.objects.get().status != OrderStatus.CANCELLED

    store.emulator.order_action(order_id, {"action": "cancel"})
    updated = store.emulator.webhook_send(
        url=url, topic="store/order/statusUpdated", order_id=order_id
    )
    _deliver()

    assert updated["status"] == 200
    assert Order.objects.get().status == OrderStatus.CANCELLED
    webhooks = SyncRecord.objects.filter(direction="webhook").order_by("id")
    assert [(r.operation, r.state) for r in webhooks] == [
        ("store/order/created", "succeeded"), ("store/order/statusUpdated", "succeeded")
    ]  # fmt: skip
    assert webhooks[1].response == {"seen": 1, "updated": 1}
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "updateOrder" not in store.emulator.calls
