"""Shopify end to end over real HTTP: orders read from the emulated Admin GraphQL API through the
checks, changes made in Shopify's admin brought to the orders here, signed orders/* webhooks
sent to a running Colis (once, however often they come; a forged one refused), and shipments
and cancellations made here sent back as fulfillments and orderCancel, through faults, never
twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.utils import timezone

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord, WebhookReceipt
from colis.channels.services import channel_create, sku_mapping_set
from colis.core.models import Event, OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.server import EmulatorServer, Fault
from colis.emulators.shopify import ACCESS_TOKEN, API_VERSION, WEBHOOK_SECRET, ShopifyEmulator
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.factories import ACTOR

SKUS = ["SH-A", "SH-B"]
UPS_NUMBER = "1Z999AA10123456784"
USPS_NUMBER = "9400111206206406260787"
NEW_ADDRESS = {
    "name": "Sam Carter",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


@pytest.fixture
def shopify() -> Iterator[EmulatorServer]:
    server = EmulatorServer(ShopifyEmulator(limits=False)).start()
    yield server
    server.stop()
    assert server.emulator.violations == []


def _channel(shopify: EmulatorServer):
    return channel_create(
        kind="shopify",
        name="Shopify",
        credentials={"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        settings={"api_base_url": shopify.url, "api_version": API_VERSION},
        options={"import_start": datetime(2020, 1, 1, tzinfo=UTC)},
        actor=ACTOR,
    )


@pytest.fixture
def channel(shopify, stocked):
    for sku in SKUS:
        stocked(sku, qty=500)
    return _channel(shopify)


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


def _seed(shopify, **spec) -> list[str]:
    return shopify.emulator.seed_orders({"skus": SKUS, **spec})


def _next_second() -> None:
    """Shopify keeps `updatedAt` to the second: a change made in the admin is seen as one only
    in a later second than the copy read before it."""
    time.sleep(1.01 - time.time() % 1)


def _failing(external_id: str) -> set[str]:
    record = ChannelOrder.objects.get(external_id=external_id)
    return {c["check"] for c in record.checks if not c["ok"]}


def _deliver() -> None:
    for message in OutboxMessage.objects.filter(kind="channel_push", status="pending"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    while outbox_pump(worker_id="w1", limit=50):
        pass


def _ship(api, order: Order, lines=None, tracking=UPS_NUMBER, carrier="ups", **extra):
    body = {"carrier": carrier, "tracking_numbers": [tracking] if tracking else [], **extra}
    if lines is not None:
        body["lines"] = lines
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


def _signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.mark.django_db
def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(shopify, channel, api):
    good = _seed(shopify, count=3)
    [unpaid] = _seed(shopify, count=1, unpaid=True)
    [unknown] = _seed(shopify, count=1, skus=["NOT-OURS"])
    [nowhere] = _seed(shopify, count=1, missing_address=True)
    [by_partner] = _seed(shopify, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (3, 3, 1), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == set(good)
    order = Order.objects.get(external_id=good[0])
    stored = shopify.emulator.store.orders[int(good[0].rsplit("/", 1)[1])]
    assert {(ln.external_line_id, ln.sku, ln.quantity) for ln in order.lines.all()} == {
        (f"gid://shopify/LineItem/{ln.number}", ln.sku, ln.quantity) for ln in stored.lines
    }
    assert _failing(unpaid) == {"paid"}
    assert _failing(unknown) == {"skus"}
    assert _failing(nowhere) == {"address"}
    assert _failing(by_partner) == {"merchant_fulfilled"}
    states = dict(ChannelOrder.objects.values_list("external_id", "state"))
    assert [states[x] for x in (unpaid, unknown, nowhere, by_partner)] == [
        "pending", "pending", "pending", "ignored"
    ]  # fmt: skip
    queue = api.get(f"/api/v1/channels/{channel.pk}/pending-orders").json()["items"]
    assert {row["external_id"] for row in queue} == {unpaid, unknown, nowhere}
    records = SyncRecord.objects.filter(channel=channel, direction="import")
    assert records.exists() and {r.state for r in records} == {"succeeded"}


@pytest.mark.django_db
def test_importing_again_creates_nothing_new(shopify, channel):
    _seed(shopify, count=2)
    _seed(shopify, count=1, unpaid=True)
    channel_import(channel_id=channel.pk)

    again = channel_import(channel_id=channel.pk, since=datetime(2020, 1, 1, tzinfo=UTC))

    assert again.seen == 3 and again.imported == 0 and again.pending == 1
    assert Order.objects.count() == 2 and ChannelOrder.objects.count() == 3


@pytest.mark.django_db
def test_a_queued_order_comes_in_once_its_sku_is_mapped(shopify, channel, api):
    [order_id] = _seed(shopify, count=1, skus=["SH-LEGACY-A"], lines=1)
    channel_import(channel_id=channel.pk)
    record = ChannelOrder.objects.get(external_id=order_id)
    assert record.state == "pending" and _failing(order_id) == {"skus"}

    sku_mapping_set(channel_id=channel.pk, channel_sku="SH-LEGACY-A", sku="SH-A", actor=ACTOR)
    response = api.post(f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "imported" and response.json()["failing"] == []
    order = Order.objects.get(external_id=order_id)
    assert response.json()["order_id"] == order.pk
    [line] = order.lines.all()
    assert line.sku == "SH-A" and line.external_line_id.startswith("gid://shopify/LineItem/")


@pytest.mark.django_db
def test_an_address_edited_in_shopify_changes_the_order_here(shopify, channel):
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)

    _next_second()
    shopify.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert summary.updated == 1
    address = Order.objects.get().shipping_address
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "350 5th Ave", "New York", "10118", "US"
    )  # fmt: skip
    assert Event.objects.filter(kind="order_address_changed", actor_kind="channel").count() == 1


@pytest.mark.django_db
def test_an_address_edited_in_the_second_of_the_last_read_changes_the_order_here(shopify, channel):
    _next_second()  # seed, read and edit all fall in this one
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)
    read = ChannelOrder.objects.get().vendor_updated_at

    shopify.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    channel_import(channel_id=channel.pk)

    stored = shopify.emulator.store.orders[int(order_id.rsplit("/", 1)[1])]
    if stored.updated_at.replace(microsecond=0) != read:
        pytest.skip("the edit fell in a later second than the read")
    assert Order.objects.get().shipping_address["line1"] == "350 5th Ave"


@pytest.mark.django_db
def test_an_order_cancelled_in_shopify_is_cancelled_here_and_not_sent_back(shopify, channel):
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)

    _next_second()
    shopify.emulator.order_action(order_id, {"action": "cancel", "reason": "CUSTOMER"})
    channel_import(channel_id=channel.pk)
    _deliver()

    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED and "Shopify" in order.cancel_reason
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "on the channel" in record.message
    assert shopify.emulator.calls.get("orderCancel", 0) == 0


@pytest.mark.django_db
def test_an_order_shipped_in_shopify_becomes_shipped_here(shopify, channel):
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)

    _next_second()
    shopify.emulator.order_action(
        order_id, {"action": "ship", "company": "UPS", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    [shipment] = order.shipments.all()
    assert shipment.carrier == "ups" and shipment.tracking_numbers == [UPS_NUMBER]
    _deliver()  # nothing to send: Shopify has it
    assert len(shopify.emulator.state()["fulfillments"][order_id]) == 1
    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "on the channel" in record.message


@pytest.mark.django_db
def test_a_split_shipment_goes_as_two_fulfillments_with_their_line_items(shopify, channel, api):
    [order_id] = _seed(shopify, count=1, lines=2)
    channel_import(channel_id=channel.pk)
    order = Order.objects.get()
    lines = list(order.lines.order_by("position"))

    _ship(api, order, lines=[{"line_id": lines[0].pk, "quantity": 1}])
    _ship(api, order, tracking=USPS_NUMBER, carrier="usps")
    _deliver()

    first, rest = shopify.emulator.state()["fulfillments"][order_id]
    assert (first["company"], first["numbers"]) == ("UPS", [UPS_NUMBER])
    assert first["lines"] == [{"line_item_id": lines[0].external_line_id, "quantity": 1}]
    assert (rest["company"], rest["numbers"]) == ("USPS", [USPS_NUMBER])
    shipped: dict[str, int] = {}
    for item in first["lines"] + rest["lines"]:
        shipped[item["line_item_id"]] = shipped.get(item["line_item_id"], 0) + item["quantity"]
    assert shipped == {ln.external_line_id: ln.quantity for ln in lines}
    pushes = SyncRecord.objects.filter(channel=channel, direction="push").order_by("id")
    assert [p.state for p in pushes] == ["succeeded", "succeeded"]
    assert [p.vendor_id for p in pushes] == [first["id"], rest["id"]]


@pytest.mark.django_db
def test_a_carrier_without_a_shopify_name_goes_under_its_own(shopify, channel, api):
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)

    _ship(api, Order.objects.get(), carrier="other", carrier_name="Coursier Léon",
          tracking="CL-000123")  # fmt: skip
    _deliver()

    [fulfillment] = shopify.emulator.state()["fulfillments"][order_id]
    assert fulfillment["company"] == "Coursier Léon" and fulfillment["numbers"] == ["CL-000123"]


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429", "expired_token"])
def test_after_a_fault_the_package_is_sent_exactly_once(shopify, channel, api, settings, fault):
    # A timeout: Shopify makes the fulfillment after the client has given up waiting.
    settings.COLIS_CHANNEL_TIMEOUT = 0.5
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)
    shopify.emulator.faults["fulfillmentCreate"].append(
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
        assert _wait(lambda: shopify.emulator.state()["fulfillments"].get(order_id))
    _deliver()

    record.refresh_from_db()
    assert record.state == "succeeded", record.message
    assert len(shopify.emulator.state()["fulfillments"].get(order_id, [])) == 1
    if fault == "timeout":
        assert "earlier attempt" in record.message


@pytest.mark.django_db
def test_a_cancellation_made_here_is_sent_to_shopify(shopify, channel, api):
    [order_id] = _seed(shopify, count=1)
    channel_import(channel_id=channel.pk)

    response = api.post(f"/api/v1/orders/{Order.objects.get().pk}/cancel", {"reason": "fraud"})
    assert response.status_code == 200, response.content
    _deliver()

    assert shopify.emulator.state()["cancelled"] == [order_id]
    assert shopify.emulator.store.orders[int(order_id.rsplit("/", 1)[1])].cancel_reason == "FRAUD"
    record = SyncRecord.objects.get(direction="push")
    assert (record.operation, record.state) == ("order_cancel", "succeeded")
    assert record.vendor_id.startswith("gid://shopify/Job/")
    assert shopify.emulator.calls["orderCancel"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_brings_the_order_in_once_and_a_forged_one_is_refused(
    shopify, stocked, colis_server
):
    for sku in SKUS:
        stocked(sku)
    channel = _channel(shopify)
    [order_id] = _seed(shopify, count=1)
    url = f"{colis_server}/api/v1/channels/{channel.pk}/webhooks"

    sent = shopify.emulator.webhook_send(url=url, topic="orders/create", order_id=order_id)
    forged = shopify.emulator.webhook_send(
        url=url, topic="orders/updated", order_id=order_id, secret="not-the-secret"
    )

    assert sent["status"] == 200 and forged["status"] == 401
    assert list(Order.objects.values_list("external_id", flat=True)) == [order_id]
    assert WebhookReceipt.objects.get().webhook_id == sent["webhook_id"]
    webhooks = SyncRecord.objects.filter(direction="webhook").order_by("id")
    assert [(r.operation, r.state) for r in webhooks] == [
        ("orders/create", "succeeded"), ("webhook", "failed")
    ]  # fmt: skip
    assert "signature" in webhooks[1].message

    # Shopify delivers the same webhook again: nothing more happens
    body = json.dumps(sent["payload"], separators=(",", ":")).encode()
    again = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-SHA256": _signature(body),
            "X-Shopify-Webhook-Id": sent["webhook_id"],
        },
        timeout=10,
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Order.objects.count() == 1 and ChannelOrder.objects.count() == 1
    assert SyncRecord.objects.filter(direction="webhook").count() == 2
