"""eBay end to end over real HTTP: orders read from the emulated Sell Fulfillment API through the
checks (the failing ones queued with their reasons, brought in by a retry once their SKU is
mapped), changes made on eBay brought to the orders here, and shipments made here sent back as
one shipping fulfillment per package, through faults, never twice. eBay sends no webhooks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord
from colis.channels.services import channel_create, sku_mapping_set
from colis.core.models import Event, OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.ebay import EbayEmulator
from colis.emulators.server import EmulatorServer, Fault
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db

SKUS = ["EB-A", "EB-B"]
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
def ebay() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EbayEmulator(limits=True)).start()
    yield server
    server.stop()
    assert server.emulator.violations == []


@pytest.fixture
def channel(ebay, stocked):
    for sku in SKUS:
        stocked(sku, qty=500)
    link = ebay.emulator.connection(ebay.url)
    return channel_create(
        kind="ebay",
        name="eBay US",
        credentials=link["credentials"],
        settings=link["settings"],
        options={"import_start": datetime(2020, 1, 1, tzinfo=UTC)},
        actor=ACTOR,
    )


def _seed(ebay, **spec) -> list[str]:
    # Placed an hour ago: a change made on eBay during the test is always a later change.
    placed = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return ebay.emulator.seed_orders({"skus": SKUS, "placed_at": placed, **spec})


def _seed_splittable(ebay) -> str:
    """An order of at least two units (a basket may hold a single one)."""
    for _ in range(30):
        [order_id] = _seed(ebay, count=1)
        if sum(ln["quantity"] for ln in ebay.emulator.orders[order_id]["lineItems"]) >= 2:
            return order_id
    raise AssertionError("the emulator made no order of two units")


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


def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(ebay, channel, api):
    good = _seed(ebay, count=3)
    [unpaid] = _seed(ebay, count=1, unpaid=True)
    [unknown] = _seed(ebay, count=1, skus=["NOT-OURS"])
    [nowhere] = _seed(ebay, count=1, missing_address=True)

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (3, 3, 0), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == set(good)
    order = Order.objects.get(external_id=good[0])
    assert order.channel == "eBay US" and order.financial_status == "paid"
    items = ebay.emulator.orders[good[0]]["lineItems"]
    assert {(ln.external_line_id, ln.sku, ln.quantity) for ln in order.lines.all()} == {
        (i["lineItemId"], i["sku"], i["quantity"]) for i in items
    }
    assert _failing(unpaid) == {"paid"}
    assert _failing(unknown) == {"skus"}
    assert _failing(nowhere) == {"address"}
    states = dict(ChannelOrder.objects.values_list("external_id", "state"))
    assert [states[x] for x in (unpaid, unknown, nowhere)] == ["pending"] * 3
    queue = api.get(f"/api/v1/channels/{channel.pk}/pending-orders").json()["items"]
    assert {row["external_id"] for row in queue} == {unpaid, unknown, nowhere}
    records = SyncRecord.objects.filter(channel=channel, direction="import")
    assert records.exists() and {r.state for r in records} == {"succeeded"}


def test_an_order_ebay_fulfils_itself_is_kept_aside(ebay, channel):
    [by_ebay] = _seed(ebay, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert "merchant_fulfilled" in _failing(by_ebay)
    assert (summary.imported, summary.pending, summary.ignored) == (0, 0, 1), summary
    assert ChannelOrder.objects.get(external_id=by_ebay).state == "ignored"
    assert not Order.objects.exists()


def test_importing_again_creates_nothing_new(ebay, channel):
    _seed(ebay, count=2)
    _seed(ebay, count=1, unpaid=True)
    channel_import(channel_id=channel.pk)

    again = channel_import(channel_id=channel.pk, since=datetime(2020, 1, 1, tzinfo=UTC))

    assert again.seen == 3 and again.imported == 0 and again.pending == 1
    assert Order.objects.count() == 2 and ChannelOrder.objects.count() == 3


def test_a_queued_order_comes_in_once_its_sku_is_mapped(ebay, channel, api):
    [order_id] = _seed(ebay, count=1, skus=["EB-LEGACY-A"])
    channel_import(channel_id=channel.pk)
    record = ChannelOrder.objects.get(external_id=order_id)
    assert record.state == "pending" and _failing(order_id) == {"skus"}

    sku_mapping_set(channel_id=channel.pk, channel_sku="EB-LEGACY-A", sku="EB-A", actor=ACTOR)
    response = api.post(f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "imported" and response.json()["failing"] == []
    order = Order.objects.get(external_id=order_id)
    assert response.json()["order_id"] == order.pk
    [line] = order.lines.all()
    assert line.sku == "EB-A"
    assert line.external_line_id == ebay.emulator.orders[order_id]["lineItems"][0]["lineItemId"]
    again = api.post(f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry")
    assert again.status_code == 409 and Order.objects.count() == 1


def test_an_address_edited_on_ebay_changes_the_order_here(ebay, channel):
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)

    ebay.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert summary.updated == 1
    address = Order.objects.get().shipping_address
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "350 5th Ave", "New York", "10118", "US"
    )  # fmt: skip
    assert Event.objects.filter(kind="order_address_changed", actor_kind="channel").count() == 1


def test_an_order_cancelled_on_ebay_is_cancelled_here_and_not_sent_back(ebay, channel):
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)

    ebay.emulator.order_action(order_id, {"action": "cancel"})
    channel_import(channel_id=channel.pk)
    _deliver()

    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED and "eBay US" in order.cancel_reason
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "on the channel" in record.message
    assert ebay.emulator.state()["fulfillments"] == {}


def test_an_order_shipped_on_ebay_becomes_shipped_here(ebay, channel):
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)

    ebay.emulator.order_action(
        order_id, {"action": "ship", "carrier": "UPS", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    [shipment] = order.shipments.all()
    assert shipment.carrier == "ups" and shipment.tracking_numbers == [UPS_NUMBER]
    _deliver()  # nothing to send: eBay made it
    assert len(ebay.emulator.state()["fulfillments"][order_id]) == 1
    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "on the channel" in record.message


def test_a_split_shipment_goes_as_two_fulfillments_with_their_line_items(ebay, channel, api):
    order_id = _seed_splittable(ebay)
    channel_import(channel_id=channel.pk)
    order = Order.objects.get(external_id=order_id)
    lines = list(order.lines.order_by("position"))

    _ship(api, order, lines=[{"line_id": lines[0].pk, "quantity": 1}])
    _ship(api, order, tracking=USPS_NUMBER, carrier="usps")
    _deliver()

    first, rest = ebay.emulator.state()["fulfillments"][order_id]
    assert (first["shippingCarrierCode"], first["shipmentTrackingNumber"]) == ("UPS", UPS_NUMBER)
    assert first["lineItems"] == [{"lineItemId": lines[0].external_line_id, "quantity": 1}]
    assert (rest["shippingCarrierCode"], rest["shipmentTrackingNumber"]) == ("USPS", USPS_NUMBER)
    shipped: dict[str, int] = {}
    for item in first["lineItems"] + rest["lineItems"]:
        shipped[item["lineItemId"]] = shipped.get(item["lineItemId"], 0) + item["quantity"]
    assert shipped == {ln.external_line_id: ln.quantity for ln in lines}
    pushes = SyncRecord.objects.filter(channel=channel, direction="push").order_by("id")
    assert [(p.state, p.vendor_id) for p in pushes] == [
        ("succeeded", UPS_NUMBER), ("succeeded", USPS_NUMBER)
    ]  # fmt: skip
    assert ebay.emulator.orders[order_id]["orderFulfillmentStatus"] == "FULFILLED"


def test_a_carrier_without_an_ebay_code_goes_under_its_own_name(ebay, channel, api):
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)

    _ship(api, Order.objects.get(), carrier="other", carrier_name="Coursier Léon",
          tracking="CL-000123")  # fmt: skip
    _deliver()

    [fulfillment] = ebay.emulator.state()["fulfillments"][order_id]
    # eBay keeps a carrier outside its list as the name given, and takes letters and digits only
    assert fulfillment["shippingCarrierCode"] == "Coursier Léon"
    assert fulfillment["shipmentTrackingNumber"] == "CL000123"


@pytest.mark.parametrize(
    "fault",
    [
        "500",
        "timeout",
        "429",
        "bad_json",
    ],
)
def test_after_a_fault_the_package_is_sent_exactly_once(ebay, channel, api, settings, fault):
    # A timeout: eBay makes the fulfillment after the client has given up waiting.
    settings.COLIS_CHANNEL_TIMEOUT = 0.5
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)
    ebay.emulator.faults["createShippingFulfillment"].append(
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
        assert _wait(lambda: ebay.emulator.state()["fulfillments"].get(order_id))
    _deliver()

    record.refresh_from_db()
    assert record.state == "succeeded", record.message
    assert len(ebay.emulator.state()["fulfillments"].get(order_id, [])) == 1
    if fault == "timeout":
        assert "earlier attempt" in record.message


def test_a_refused_access_token_is_replaced_and_the_package_goes_once(ebay, channel, api):
    [order_id] = _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)
    issued = ebay.emulator.state()["tokens_issued"]
    ebay.emulator.faults["createShippingFulfillment"].append(Fault(fault="expired_token", count=1))
    _ship(api, Order.objects.get())
    _deliver()

    assert SyncRecord.objects.get(direction="push").state == "succeeded"
    assert len(ebay.emulator.state()["fulfillments"][order_id]) == 1
    assert ebay.emulator.state()["tokens_issued"] == issued + 1


def test_a_cancellation_made_here_is_not_sent_to_ebay(ebay, channel, api):
    _seed(ebay, count=1)
    channel_import(channel_id=channel.pk)

    response = api.post(f"/api/v1/orders/{Order.objects.get().pk}/cancel", {"reason": "Out"})
    assert response.status_code == 200, response.content
    _deliver()

    assert Order.objects.get().status == OrderStatus.CANCELLED
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "cannot be cancelled" in record.message
