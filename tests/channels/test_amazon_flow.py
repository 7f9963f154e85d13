"""Amazon end to end over real HTTP: orders imported from the emulator through the checks, and
shipments made here confirmed back (one confirmShipment per package), through faults, without
ever confirming a package twice."""

from __future__ import annotations

from functools import partial

import pytest

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord
from colis.channels.services import channel_update
from colis.emulators.server import Fault
from colis.orders.models import Order
from tests.channels.helpers import (
    LONG_AGO,
    UPS_NUMBER,
    USPS_NUMBER,
    PackageKeys,
    assert_imports_recorded,
    assert_sent_as_two_packages,
    assert_sent_once_after_the_fault,
    assert_shipped_here_and_not_sent_back,
    deliver,
    fulfillments,
    imported,
    ship,
    ship_a_unit_then_the_rest,
    ship_by_a_carrier_of_our_own,
    ship_through_a_fault,
)
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db

SKUS = ["AMZ-A", "AMZ-B"]
PACKAGE = PackageKeys(
    carrier="carrierCode", tracking="trackingNumber", items="orderItems", line_id="orderItemId"
)


@pytest.fixture
def channel(amazon, connect):
    return connect("amazon", "Amazon US", SKUS, **amazon.emulator.connection(amazon.url))


def _seed(amazon, **spec) -> list[str]:
    return amazon.emulator.seed_orders({"skus": SKUS, **spec})


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
    assert_imports_recorded(channel)


def test_a_split_shipment_is_confirmed_as_two_packages_with_their_items(amazon, channel, api):
    [order_id] = imported(channel, _seed(amazon, count=1))

    lines = ship_a_unit_then_the_rest(api, Order.objects.get(external_id=order_id))

    packages = fulfillments(amazon, order_id)
    first, rest = ("UPS", UPS_NUMBER), ("USPS", USPS_NUMBER)
    assert_sent_as_two_packages(channel, lines, packages, PACKAGE, first, rest)


def test_a_carrier_without_an_amazon_code_goes_as_other_with_its_name(amazon, channel, api):
    [order_id] = imported(channel, _seed(amazon, count=1))

    ship_by_a_carrier_of_our_own(api)

    [package] = fulfillments(amazon, order_id)
    assert package["carrierCode"] == "Other" and package["carrierName"] == "Coursier Léon"


@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429"])
def test_after_a_fault_the_package_is_confirmed_exactly_once(
    amazon, channel, api, short_timeout, fault
):
    # A timeout: the emulator confirms the package after the client has given up waiting.
    [order_id] = imported(channel, _seed(amazon, count=1))

    ship_through_a_fault(api, amazon.emulator.faults["confirmShipment"], fault)

    assert_sent_once_after_the_fault(channel, fault, partial(fulfillments, amazon, order_id))


def test_an_expired_token_is_refreshed_and_the_push_goes_once(amazon, channel, api):
    [order_id] = imported(channel, _seed(amazon, count=1))
    amazon.emulator.faults["confirmShipment"].append(Fault(fault="expired_token", count=1))

    ship(api, Order.objects.get())
    deliver()

    assert SyncRecord.objects.get(direction="push").state == "succeeded"
    assert len(fulfillments(amazon, order_id)) == 1


def test_without_tracking_nothing_is_sent_until_the_tracking_is_added(amazon, channel, api):
    [order_id] = imported(channel, _seed(amazon, count=1))
    shipment = ship(api, Order.objects.get(), tracking=None, carrier="ups")
    deliver()
    skipped = SyncRecord.objects.get(direction="push")
    assert skipped.state == "skipped" and "tracking" in skipped.message
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None

    response = api.post(f"/api/v1/shipments/{shipment['id']}/tracking",
                        {"tracking_numbers": [UPS_NUMBER]})  # fmt: skip
    assert response.status_code == 200, response.content
    deliver()

    assert len(fulfillments(amazon, order_id)) == 1


def test_with_fulfillment_sync_off_nothing_is_sent_and_the_record_says_why(amazon, channel, api):
    [order_id] = imported(channel, _seed(amazon, count=1))
    channel_update(channel_id=channel.pk, options={"fulfillment_sync": False}, actor=ACTOR)

    ship(api, Order.objects.get())
    deliver()

    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "off" in record.message
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None


def test_an_order_shipped_on_amazon_becomes_shipped_here(amazon, channel):
    [order_id] = imported(channel, _seed(amazon, count=1))

    amazon.emulator.order_action(order_id, {"action": "ship", "carrier": "UPS",
                                            "tracking_number": UPS_NUMBER})  # fmt: skip
    channel_import(channel_id=channel.pk, since=LONG_AGO)

    assert_shipped_here_and_not_sent_back()
    assert amazon.emulator.state()["fulfillments"].get(order_id) is None  # Amazon has it already
