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
import time
from functools import partial

import pytest
import requests

from colis.channels.importing import channel_import
from colis.channels.models import ChannelOrder, SyncRecord, WebhookReceipt
from colis.emulators.server import EmulatorServer
from colis.emulators.shopify import ACCESS_TOKEN, API_VERSION, WEBHOOK_SECRET
from colis.orders.models import Order
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
    assert_taken_as_a_duplicate,
    assert_the_failing_ones_wait,
    assert_the_new_address_is_here,
    cancel_here,
    failing,
    fulfillments,
    imported,
    line_keys,
    retried_once_its_sku_is_mapped,
    seed_good_and_failing,
    ship_a_unit_then_the_rest,
    ship_by_a_carrier_of_our_own,
    ship_through_a_fault,
    webhook_and_forgery,
    webhook_url,
)

pytestmark = pytest.mark.django_db

SKUS = ["SH-A", "SH-B"]
PACKAGE = PackageKeys(carrier="company", tracking="numbers", items="lines", line_id="line_item_id")


@pytest.fixture
def channel(shopify, connect):
    return connect(
        "shopify",
        "Shopify",
        SKUS,
        credentials={"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        settings={"api_base_url": shopify.url, "api_version": API_VERSION},
    )


def _seed(shopify, **spec) -> list[str]:
    return shopify.emulator.seed_orders({"skus": SKUS, **spec})


def _stored(shopify: EmulatorServer, order_id: str):
    """The emulator's own record of the order `order_id` (a gid)."""
    return shopify.emulator.store.orders[int(order_id.rsplit("/", 1)[1])]


def _next_second() -> None:
    """Shopify keeps `updatedAt` to the second: a change made in the admin is seen as one only
    in a later second than the copy read before it."""
    time.sleep(1.01 - time.time() % 1)


def _signature(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(shopify, channel, api):
    seeded = seed_good_and_failing(partial(_seed, shopify))
    [by_partner] = _seed(shopify, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (3, 3, 1), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == set(seeded.good)
    order = Order.objects.get(external_id=seeded.good[0])
    assert line_keys(order) == {
        (f"gid://shopify/LineItem/{ln.number}", ln.sku, ln.quantity)
        for ln in _stored(shopify, seeded.good[0]).lines
    }
    assert_the_failing_ones_wait(api, channel, seeded)
    assert failing(by_partner) == {"merchant_fulfilled"}
    assert ChannelOrder.objects.get(external_id=by_partner).state == "ignored"


def test_importing_again_creates_nothing_new(shopify, channel):
    imported(channel, _seed(shopify, count=2) + _seed(shopify, count=1, unpaid=True))

    again = channel_import(channel_id=channel.pk, since=LONG_AGO)

    assert_nothing_new(again, orders=2, pending=1)


def test_a_queued_order_comes_in_once_its_sku_is_mapped(shopify, channel, api):
    [order_id] = imported(channel, _seed(shopify, count=1, skus=["SH-LEGACY-A"], lines=1))

    line = retried_once_its_sku_is_mapped(api, channel, order_id, "SH-LEGACY-A", "SH-A")

    assert line.external_line_id.startswith("gid://shopify/LineItem/")


def test_an_address_edited_in_shopify_changes_the_order_here(shopify, channel):
    [order_id] = imported(channel, _seed(shopify, count=1))

    _next_second()
    shopify.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert_the_new_address_is_here(summary)


def test_an_address_edited_in_the_second_of_the_last_read_changes_the_order_here(shopify, channel):
    _next_second()  # seed, read and edit all fall in this one
    [order_id] = imported(channel, _seed(shopify, count=1))
    read = ChannelOrder.objects.get().vendor_updated_at

    shopify.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    channel_import(channel_id=channel.pk)

    if _stored(shopify, order_id).updated_at.replace(microsecond=0) != read:
        pytest.skip("the edit fell in a later second than the read")
    assert Order.objects.get().shipping_address["line1"] == "350 5th Ave"


def test_an_order_cancelled_in_shopify_is_cancelled_here_and_not_sent_back(shopify, channel):
    [order_id] = imported(channel, _seed(shopify, count=1))

    _next_second()
    shopify.emulator.order_action(order_id, {"action": "cancel", "reason": "CUSTOMER"})
    channel_import(channel_id=channel.pk)

    assert_cancelled_here_and_not_sent_back(channel)
    assert shopify.emulator.calls.get("orderCancel", 0) == 0


def test_an_order_shipped_in_shopify_becomes_shipped_here(shopify, channel):
    [order_id] = imported(channel, _seed(shopify, count=1))

    _next_second()
    shopify.emulator.order_action(
        order_id, {"action": "ship", "company": "UPS", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    assert_shipped_here_and_not_sent_back()
    assert len(fulfillments(shopify, order_id)) == 1  # Shopify has it


def test_a_split_shipment_goes_as_two_fulfillments_with_their_line_items(shopify, channel, api):
    [order_id] = imported(channel, _seed(shopify, count=1, lines=2))

    lines = ship_a_unit_then_the_rest(api, Order.objects.get())

    packages = fulfillments(shopify, order_id)
    first, rest = ("UPS", [UPS_NUMBER]), ("USPS", [USPS_NUMBER])
    pushes = assert_sent_as_two_packages(channel, lines, packages, PACKAGE, first, rest)
    assert [p.vendor_id for p in pushes] == [p["id"] for p in packages]


def test_a_carrier_without_a_shopify_name_goes_under_its_own(shopify, channel, api):
    [order_id] = imported(channel, _seed(shopify, count=1))

    ship_by_a_carrier_of_our_own(api)

    [fulfillment] = fulfillments(shopify, order_id)
    assert fulfillment["company"] == "Coursier Léon" and fulfillment["numbers"] == ["CL-000123"]


@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429", "expired_token"])
def test_after_a_fault_the_package_is_sent_exactly_once(
    shopify, channel, api, short_timeout, fault
):
    # A timeout: Shopify makes the fulfillment after the client has given up waiting.
    [order_id] = imported(channel, _seed(shopify, count=1))

    ship_through_a_fault(api, shopify.emulator.faults["fulfillmentCreate"], fault)

    assert_sent_once_after_the_fault(channel, fault, partial(fulfillments, shopify, order_id))


def test_a_cancellation_made_here_is_sent_to_shopify(shopify, channel, api):
    [order_id] = imported(channel, _seed(shopify, count=1))

    cancel_here(api, reason="fraud")

    assert shopify.emulator.state()["cancelled"] == [order_id]
    assert _stored(shopify, order_id).cancel_reason == "FRAUD"
    record = SyncRecord.objects.get(direction="push")
    assert (record.operation, record.state) == ("order_cancel", "succeeded")
    assert record.vendor_id.startswith("gid://shopify/Job/")
    assert shopify.emulator.calls["orderCancel"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_brings_the_order_in_once_and_a_forged_one_is_refused(
    shopify, channel, colis_server
):
    [order_id] = _seed(shopify, count=1)
    url = webhook_url(colis_server, channel)

    sent, forged = webhook_and_forgery(shopify, url, order_id, ("orders/create", "orders/updated"))

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
    assert_taken_as_a_duplicate(again)
    assert SyncRecord.objects.filter(direction="webhook").count() == 2
