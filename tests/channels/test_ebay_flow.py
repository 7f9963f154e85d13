"""eBay end to end over real HTTP: orders read from the emulated Sell Fulfillment API through the
checks (the failing ones queued with their reasons, brought in by a retry once their SKU is
mapped), changes made on eBay brought to the orders here, and shipments made here sent back as
one shipping fulfillment per package, through faults, never twice. eBay sends no webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord
from colis.emulators.server import Fault
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.channels.helpers import (
    LONG_AGO,
    NEW_ADDRESS,
    UPS_NUMBER,
    USPS_NUMBER,
    PackageKeys,
    assert_cancelled_here_and_not_sent_back,
    assert_nothing_new,
    assert_sent_as_two_packages,
    assert_sent_once_after_the_fault,
    assert_shipped_here_and_not_sent_back,
    assert_the_failing_ones_wait,
    assert_the_new_address_is_here,
    cancel_here,
    deliver,
    failing,
    fulfillments,
    imported,
    line_keys,
    retried_once_its_sku_is_mapped,
    seed_good_and_failing,
    ship,
    ship_a_unit_then_the_rest,
    ship_by_a_carrier_of_our_own,
    ship_through_a_fault,
)

pytestmark = pytest.mark.django_db

SKUS = ["EB-A", "EB-B"]
PACKAGE = PackageKeys(
    carrier="shippingCarrierCode",
    tracking="shipmentTrackingNumber",
    items="lineItems",
    line_id="lineItemId",
)


@pytest.fixture
def channel(ebay, connect):
    return connect("ebay", "eBay US", SKUS, **ebay.emulator.connection(ebay.url))


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


def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(ebay, channel, api):
    seeded = seed_good_and_failing(partial(_seed, ebay))

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (3, 3, 0), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == set(seeded.good)
    order = Order.objects.get(external_id=seeded.good[0])
    assert order.channel == "eBay US" and order.financial_status == "paid"
    items = ebay.emulator.orders[seeded.good[0]]["lineItems"]
    assert line_keys(order) == {(i["lineItemId"], i["sku"], i["quantity"]) for i in items}
    assert_the_failing_ones_wait(api, channel, seeded)


def test_an_order_ebay_fulfils_itself_is_kept_aside(ebay, channel):
    [by_ebay] = _seed(ebay, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert "merchant_fulfilled" in failing(by_ebay)
    assert (summary.imported, summary.pending, summary.ignored) == (0, 0, 1), summary
    assert ChannelOrder.objects.get(external_id=by_ebay).state == "ignored"
    assert not Order.objects.exists()


def test_importing_again_creates_nothing_new(ebay, channel):
    imported(channel, _seed(ebay, count=2) + _seed(ebay, count=1, unpaid=True))

    again = channel_import(channel_id=channel.pk, since=LONG_AGO)

    assert_nothing_new(again, orders=2, pending=1)


def test_a_queued_order_comes_in_once_its_sku_is_mapped(ebay, channel, api):
    [order_id] = imported(channel, _seed(ebay, count=1, skus=["EB-LEGACY-A"]))

    line = retried_once_its_sku_is_mapped(api, channel, order_id, "EB-LEGACY-A", "EB-A")

    assert line.external_line_id == ebay.emulator.orders[order_id]["lineItems"][0]["lineItemId"]


def test_an_address_edited_on_ebay_changes_the_order_here(ebay, channel):
    [order_id] = imported(channel, _seed(ebay, count=1))

    ebay.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert_the_new_address_is_here(summary)


def test_an_order_cancelled_on_ebay_is_cancelled_here_and_not_sent_back(ebay, channel):
    [order_id] = imported(channel, _seed(ebay, count=1))

    ebay.emulator.order_action(order_id, {"action": "cancel"})
    channel_import(channel_id=channel.pk)

    assert_cancelled_here_and_not_sent_back(channel)
    assert ebay.emulator.state()["fulfillments"] == {}


def test_an_order_shipped_on_ebay_becomes_shipped_here(ebay, channel):
    [order_id] = imported(channel, _seed(ebay, count=1))

    ebay.emulator.order_action(
        order_id, {"action": "ship", "carrier": "UPS", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    assert_shipped_here_and_not_sent_back()
    assert len(fulfillments(ebay, order_id)) == 1  # eBay made it


def test_a_split_shipment_goes_as_two_fulfillments_with_their_line_items(ebay, channel, api):
    [order_id] = imported(channel, [_seed_splittable(ebay)])

    lines = ship_a_unit_then_the_rest(api, Order.objects.get(external_id=order_id))

    packages = fulfillments(ebay, order_id)
    first, rest = ("UPS", UPS_NUMBER), ("USPS", USPS_NUMBER)
    pushes = assert_sent_as_two_packages(channel, lines, packages, PACKAGE, first, rest)
    assert [p.vendor_id for p in pushes] == [UPS_NUMBER, USPS_NUMBER]
    assert ebay.emulator.orders[order_id]["orderFulfillmentStatus"] == "FULFILLED"


def test_a_carrier_without_an_ebay_code_goes_under_its_own_name(ebay, channel, api):
    [order_id] = imported(channel, _seed(ebay, count=1))

    ship_by_a_carrier_of_our_own(api)

    [fulfillment] = fulfillments(ebay, order_id)
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
def test_after_a_fault_the_package_is_sent_exactly_once(ebay, channel, api, short_timeout, fault):
    # A timeout: eBay makes the fulfillment after the client has given up waiting.
    [order_id] = imported(channel, _seed(ebay, count=1))

    ship_through_a_fault(api, ebay.emulator.faults["createShippingFulfillment"], fault)

    assert_sent_once_after_the_fault(channel, fault, partial(fulfillments, ebay, order_id))


def test_a_refused_access_token_is_replaced_and_the_package_goes_once(ebay, channel, api):
    [order_id] = imported(channel, _seed(ebay, count=1))
    issued = ebay.emulator.state()["tokens_issued"]
    ebay.emulator.faults["createShippingFulfillment"].append(Fault(fault="expired_token", count=1))

    ship(api, Order.objects.get())
    deliver()

    assert SyncRecord.objects.get(direction="push").state == "succeeded"
    assert len(fulfillments(ebay, order_id)) == 1
    assert ebay.emulator.state()["tokens_issued"] == issued + 1


def test_a_cancellation_made_here_is_not_sent_to_ebay(ebay, channel, api):
    imported(channel, _seed(ebay, count=1))

    cancel_here(api, reason="Out")

    assert Order.objects.get().status == OrderStatus.CANCELLED
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "cannot be cancelled" in record.message
