"""Amazon end to end over real HTTP: orders imported from the emulator through the checks, and
shipments made here confirmed back (one confirmShipment per package), through faults, without
ever confirming a package twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord
from colis.channels.services import channel_create, channel_update
from colis.core.models import OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.amazon import AmazonEmulator
from colis.emulators.server import EmulatorServer, Fault
from colis.orders.models import Order
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db

SKUS = ["AMZ-A", "AMZ-B"]


@pytest.fixture
def amazon() -> Iterator[EmulatorServer]:
    server = EmulatorServer(AmazonEmulator(limits=True)).start()
    yield server
    server.stop()
    assert server.emulator.violations == []


@pytest.fixture
def channel(amazon, stocked):
    for sku in SKUS:
        stocked(sku, qty=500)
    link = amazon.emulator.connection(amazon.url)
    return channel_create(
        kind="amazon",
        name="Amazon US",
        credentials=link["credentials"],
        settings=link["settings"],
        options={"import_start": datetime(2020, 1, 1, tzinfo=UTC)},
        actor=ACTOR,
    )


def _seed(amazon, **spec) -> list[str]:
    return amazon.emulator.seed_orders({"skus": SKUS, **spec})


def _deliver() -> None:
    for message in OutboxMessage.objects.filter(kind="channel_push", status="pending"):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    while outbox_pump(worker_id="w1", limit=50):
        pass


def _ship(api, order: Order, lines=None, tracking="1Z999AA10123456784", carrier="ups", **extra):
    body = {"carrier": carrier, "tracking_numbers": [tracking] if tracking else [], **extra}
    if lines is not None:
        body["lines"] = lines
    response = api.post(f"/api/v1/orders/{order.pk}/shipments", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(amazon, channel):
    good = _seed(amazon, count=5)
    unpaid = _seed(amazon, count=1, unpaid=True)
    fba = _seed(amazon, count=1, fulfilled_by_vendor=True)
    unknown = amazon.emulator.seed_orders({"count": 1, "skus": ["NOT-OURS"]})

    summary = channel_import(channel_id=channel.pk)
    again = channel_import(channel_id=channel.pk)

    assert summary.imported == 5 and summary.pending == 2 and summary.ignored == 1
    assert again.imported == 0  # read again: still one order each
    assert set(Order.objects.values_list("external_id", flat=True)) == set(good)
    states = dict(ChannelOrder.objects.values_list("external_id", "state"))
    assert states[unpaid[0]] == "pending" and states[unknown[0]] == "pending"
    assert states[fba[0]] == "ignored"
    records = SyncRecord.objects.filter(channel=channel, direction="import")
    assert records.exists() and all(r.state == "succeeded" for r in records)


def test_a_split_shipment_is_confirmed_as_two_packages_with_their_items(amazon, channel, api):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    order = Order.objects.get(external_id=order_id)
    lines = list(order.lines.order_by("position"))
    first = [{"line_id": lines[0].pk, "quantity": 1}]
    _ship(api, order, lines=first, tracking="1Z999AA10123456784")
    _ship(api, order, tracking="9400111206206406260787", carrier="usps")
    _deliver()

    packages = amazon.emulator.state()["fulfillments"][order_id]
    assert len(packages) == 2
    assert (
        packages[0]["carrierCode"] == "UPS"
        and packages[0]["trackingNumber"] == "1Z999AA10123456784"
    )
    assert packages[0]["orderItems"] == [{"orderItemId": lines[0].external_line_id, "quantity": 1}]
    assert packages[1]["carrierCode"] == "USPS"
    shipped = {i["orderItemId"]: i["quantity"] for p in packages for i in p["orderItems"]}
    assert shipped == {ln.external_line_id: ln.quantity for ln in lines}
    pushes = SyncRecord.objects.filter(channel=channel, direction="push")
    assert [p.state for p in pushes] == ["succeeded", "succeeded"]


def test_a_carrier_without_an_amazon_code_goes_as_other_with_its_name(amazon, channel, api):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    _ship(api, Order.objects.get(), carrier="other", carrier_name="Coursier Léon",
          tracking="CL-000123")  # fmt: skip
    _deliver()

    [package] = amazon.emulator.state()["fulfillments"][order_id]
    assert package["carrierCode"] == "Other" and package["carrierName"] == "Coursier Léon"


@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429"])
def test_after_a_fault_the_package_is_confirmed_exactly_once(amazon, channel, api, settings, fault):
    # A timeout: the emulator confirms the package after the client has given up waiting.
    settings.COLIS_CHANNEL_TIMEOUT = 0.5
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    amazon.emulator.faults["confirmShipment"].append(
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
        assert _wait(lambda: amazon.emulator.state()["fulfillments"].get(order_id))
    _deliver()

    record.refresh_from_db()
    assert record.state == "succeeded"
    assert len(amazon.emulator.state()["fulfillments"].get(order_id, [])) == 1
    if fault == "timeout":
        assert "earlier attempt" in record.message


def _wait(predicate, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_an_expired_token_is_refreshed_and_the_push_goes_once(amazon, channel, api):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    amazon.emulator.faults["confirmShipment"].append(Fault(fault="expired_token", count=1))
    _ship(api, Order.objects.get())
    _deliver()

    assert SyncRecord.objects.get(direction="push").state == "succeeded"
    assert len(amazon.emulator.state()["fulfillments"][order_id]) == 1


def test_without_tracking_nothing_is_sent_until_the_tracking_is_added(amazon, channel, api):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    shipment = _ship(api, Order.objects.get(), tracking=None, carrier="ups")
    _deliver()
    skipped = SyncRecord.objects.get(direction="push")
    assert skipped.state == "skipped" and "tracking" in skipped.message
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None

    response = api.post(f"/api/v1/shipments/{shipment['id']}/tracking",
                        {"tracking_numbers": ["1Z999AA10123456784"]})  # fmt: skip
    assert response.status_code == 200, response.content
    _deliver()

    assert len(amazon.emulator.state()["fulfillments"][order_id]) == 1


def test_with_fulfillment_sync_off_nothing_is_sent_and_the_record_says_why(amazon, channel, api):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    channel_update(channel_id=channel.pk, options={"fulfillment_sync": False}, actor=ACTOR)
    _ship(api, Order.objects.get())
    _deliver()

    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "off" in record.message
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None


def test_an_order_shipped_on_amazon_becomes_shipped_here(amazon, channel):
    [order_id] = _seed(amazon, count=1)
    channel_import(channel_id=channel.pk)
    amazon.emulator.order_action(order_id, {"action": "ship", "carrier": "UPS",
                                            "tracking_number": "1Z999AA10123456784"})  # fmt: skip
    channel_import(channel_id=channel.pk, since=datetime(2020, 1, 1, tzinfo=UTC))

    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    assert list(order.shipments.values_list("tracking_numbers", flat=True)) == [
        ["1Z999AA10123456784"]
    ]
    _deliver()  # nothing to confirm: Amazon has it already
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None
    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "on the channel" in record.message
