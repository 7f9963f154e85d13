"""BigCommerce end to end over real HTTP, beyond test_bigcommerce_flow.py: orders through the
checks (the failing ones queued with their reasons, brought in by a retry once their SKU is
mapped), changes made in the control panel brought here (by an import or by a status webhook),
shipments sent back through faults without ever making two, a carrier BigCommerce does not know
sent in its custom form, and a cancellation made here set on BigCommerce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from colis.channels.importing import channel_import
from colis.channels.models import SyncRecord
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.channels.helpers import (
    LONG_AGO,
    NEW_ADDRESS,
    UPS_NUMBER,
    assert_cancelled_here_and_not_sent_back,
    assert_nothing_new,
    assert_sent_once_after_the_fault,
    assert_shipped_here_and_not_sent_back,
    assert_the_failing_ones_wait,
    assert_the_new_address_is_here,
    bigcommerce_connection,
    cancel_here,
    deliver,
    fulfillments,
    imported,
    line_keys,
    retried_once_its_sku_is_mapped,
    seed_good_and_failing,
    ship_by_a_carrier_of_our_own,
    ship_through_a_fault,
    webhook_url,
)

pytestmark = pytest.mark.django_db

SKUS = ["BC-A", "BC-B"]


@pytest.fixture
def channel(store, connect):
    return connect("bigcommerce", "BigCommerce", SKUS, **bigcommerce_connection(store))


def _seed(store, **spec) -> list[str]:
    # Placed an hour ago: BigCommerce keeps whole seconds, and a change made during the test
    # must fall in a later second than the order's creation.
    placed = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return store.emulator.seed_orders({"skus": SKUS, "placed_at": placed, **spec})


def test_orders_come_in_and_the_failing_ones_wait_with_their_reasons(store, channel, api):
    seeded = seed_good_and_failing(partial(_seed, store))
    # BigCommerce has no marketplace fulfilment: such an order is the merchant's like any other
    [anyway] = _seed(store, count=1, fulfilled_by_vendor=True)

    summary = channel_import(channel_id=channel.pk)

    assert (summary.imported, summary.pending, summary.ignored) == (4, 3, 0), summary
    assert set(Order.objects.values_list("external_id", flat=True)) == {*seeded.good, anyway}
    order = Order.objects.get(external_id=seeded.good[0])
    products = store.emulator.products[int(seeded.good[0])]
    assert line_keys(order) == {(str(p["id"]), p["sku"], p["quantity"]) for p in products}
    assert_the_failing_ones_wait(api, channel, seeded)


def test_importing_again_creates_nothing_new(store, channel):
    imported(channel, _seed(store, count=2) + _seed(store, count=1, unpaid=True))

    again = channel_import(channel_id=channel.pk, since=LONG_AGO)

    assert_nothing_new(again, orders=2, pending=1)


def test_a_queued_order_comes_in_once_its_sku_is_mapped(store, channel, api):
    [order_id] = imported(channel, _seed(store, count=1, skus=["BC-LEGACY-A"]))

    line = retried_once_its_sku_is_mapped(api, channel, order_id, "BC-LEGACY-A", "BC-A")

    [product] = store.emulator.products[int(order_id)]
    assert line.external_line_id == str(product["id"])


def test_an_address_edited_on_bigcommerce_changes_the_order_here(store, channel):
    [order_id] = imported(channel, _seed(store, count=1))

    store.emulator.order_action(order_id, {"action": "edit_address", "address": NEW_ADDRESS})
    summary = channel_import(channel_id=channel.pk)

    assert_the_new_address_is_here(summary)


def test_an_order_cancelled_on_bigcommerce_is_cancelled_here_and_not_sent_back(store, channel):
    [order_id] = imported(channel, _seed(store, count=1))

    store.emulator.order_action(order_id, {"action": "cancel"})
    channel_import(channel_id=channel.pk)

    assert_cancelled_here_and_not_sent_back(channel)
    assert "updateOrder" not in store.emulator.calls


def test_an_order_shipped_on_bigcommerce_becomes_shipped_here(store, channel):
    [order_id] = imported(channel, _seed(store, count=1))

    store.emulator.order_action(
        order_id, {"action": "ship", "provider": "ups", "tracking_number": UPS_NUMBER}
    )
    channel_import(channel_id=channel.pk)

    assert_shipped_here_and_not_sent_back()
    assert len(fulfillments(store, order_id)) == 1  # BigCommerce has it


def test_a_carrier_bigcommerce_does_not_know_goes_in_its_custom_form(store, channel, api):
    [order_id] = imported(channel, _seed(store, count=1))

    ship_by_a_carrier_of_our_own(api)

    [shipment] = fulfillments(store, order_id)
    assert (shipment["shipping_provider"], shipment["tracking_carrier"]) == ("", "")
    assert shipment["shipping_method"] == "Coursier Léon"
    assert shipment["tracking_number"] == "CL-000123"
    assert shipment["shipping_provider_display_name"] == "Custom"


@pytest.mark.parametrize("fault", ["500", "bad_json", "timeout", "429", "expired_token"])
def test_after_a_fault_the_package_is_sent_exactly_once(store, channel, api, short_timeout, fault):
    # A timeout: BigCommerce makes the shipment after the client has given up waiting.
    [order_id] = imported(channel, _seed(store, count=1))

    ship_through_a_fault(api, store.emulator.faults["createOrderShipments"], fault)

    assert_sent_once_after_the_fault(channel, fault, partial(fulfillments, store, order_id))


def test_a_cancellation_made_here_is_set_on_bigcommerce(store, channel, api):
    [order_id] = imported(channel, _seed(store, count=1))

    cancel_here(api, reason="Out")

    assert store.emulator.state()["statuses"][order_id] == 5  # cancelled
    record = SyncRecord.objects.get(direction="push")
    assert (record.operation, record.state) == ("order_cancel", "succeeded")
    assert record.request == {"status_id": 5}


@pytest.mark.django_db(transaction=True)
def test_a_status_webhook_brings_a_cancellation_made_on_bigcommerce(store, channel, colis_server):
    [order_id] = _seed(store, count=1)
    url = webhook_url(colis_server, channel)
    created = store.emulator.webhook_send(url=url, topic="store/order/created", order_id=order_id)
    assert created["status"] == 200 and Order.objects.get().status != OrderStatus.CANCELLED

    store.emulator.order_action(order_id, {"action": "cancel"})
    updated = store.emulator.webhook_send(
        url=url, topic="store/order/statusUpdated", order_id=order_id
    )
    deliver()

    assert updated["status"] == 200
    assert Order.objects.get().status == OrderStatus.CANCELLED
    webhooks = SyncRecord.objects.filter(direction="webhook").order_by("id")
    assert [(r.operation, r.state) for r in webhooks] == [
        ("store/order/created", "succeeded"), ("store/order/statusUpdated", "succeeded")
    ]  # fmt: skip
    assert webhooks[1].response == {"seen": 1, "updated": 1}
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "updateOrder" not in store.emulator.calls
