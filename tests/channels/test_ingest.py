"""Orders from a channel through the checks: accepted, queued with their failing checks, kept
aside, fixed and retried, forced; the same order twice is one order; changes on the channel
reach the imported order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from colis.channels.importing import channel_orders_ingest
from colis.channels.models import ChannelOrder, ImportState
from colis.channels.records import order_from_data, order_to_data
from colis.channels.services import sku_mapping_set
from colis.core.models import Event
from colis.fulfillment.models import Shipment
from colis.inventory.models import InventoryLevel
from colis.orders.models import Order
from colis.orders.status import OrderStatus
from tests.channels.helpers import PARIS, amazon_channel, shipped_on_channel, vendor_order
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db


def _record(channel, external_id):
    return ChannelOrder.objects.get(channel=channel, external_id=external_id)


def _failing(record):
    return {c["check"] for c in record.checks if not c["ok"]}


def test_a_good_order_is_imported_once_with_every_check_recorded(stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    order = vendor_order()
    summary = channel_orders_ingest(channel=channel, orders=[order])
    again = channel_orders_ingest(channel=channel, orders=[order])

    assert (summary.imported, again.imported, again.unchanged) == (1, 0, 1)
    imported = Order.objects.get()
    assert imported.channel == "Amazon FR" and imported.channel_record_id == channel.pk
    assert imported.external_id == order.external_id
    assert imported.financial_status == "paid"
    assert list(imported.lines.values_list("sku", "external_line_id")) == [
        ("BAR-A", f"{order.external_id}-L0")
    ]
    record = _record(channel, order.external_id)
    assert record.state == ImportState.IMPORTED and record.order_id == imported.pk
    assert [c["check"] for c in record.checks] == [
        "import_enabled", "paid", "merchant_fulfilled", "skus", "address",
        "placed_after_start", "stock",
    ]  # fmt: skip
    assert all(c["ok"] for c in record.checks)
    assert Event.objects.filter(order_id=imported.pk, kind="order_created",
                                actor_kind="channel").exists()  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "failing"),
    [
        ({"paid": False}, {"paid"}),
        ({"lines": [("NOPE-1", 1)]}, {"skus"}),
        ({"shipping_address": {**PARIS, "postal_code": "", "city": ""}}, {"address"}),
        ({"shipping_address": {}}, {"address"}),
    ],
)
def test_an_order_failing_a_check_waits_in_the_queue_with_its_reasons(stocked, fields, failing):
    stocked("BAR-A")
    channel = amazon_channel()
    lines = fields.pop("lines", None)
    summary = channel_orders_ingest(channel=channel, orders=[vendor_order(lines=lines, **fields)])

    assert summary.pending == 1 and Order.objects.count() == 0
    record = ChannelOrder.objects.get()
    assert record.state == ImportState.PENDING
    assert _failing(record) == failing
    assert all(c["message"] for c in record.checks if not c["ok"])


def test_an_unknown_sku_mapped_then_retried_comes_in(stocked, api):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order(lines=[("AMZ-ASIN-1", 2)])])
    record = ChannelOrder.objects.get()
    assert _failing(record) == {"skus"}
    assert "AMZ-ASIN-1" in next(c["message"] for c in record.checks if c["check"] == "skus")

    sku_mapping_set(channel_id=channel.pk, channel_sku="amz-asin-1", sku="bar-a", actor=ACTOR)
    response = api.post(f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry", {})

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "imported"
    order = Order.objects.get()
    assert list(order.lines.values_list("sku", "quantity")) == [("BAR-A", 2)]


def test_the_pending_queue_lists_failing_checks(stocked, api):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(
        channel=channel,
        orders=[
            vendor_order("A-1", paid=False),
            vendor_order("A-2"),
            vendor_order("A-3", lines=[("X", 1)]),
        ],
    )
    body = api.get(f"/api/v1/channels/{channel.pk}/pending-orders").json()

    assert sorted(i["external_id"] for i in body["items"]) == ["A-1", "A-3"]
    failing = {i["external_id"]: [c["check"] for c in i["failing"]] for i in body["items"]}
    assert failing == {"A-1": ["paid"], "A-3": ["skus"]}


def test_forcing_brings_in_an_order_past_a_waivable_check_but_not_an_unknown_sku(stocked, api):
    stocked("BAR-A")
    channel = amazon_channel(stock_policy="wait")
    channel_orders_ingest(
        channel=channel,
        orders=[vendor_order("A-1", lines=[("BAR-A", 500)]), vendor_order("A-2", lines=[("X", 1)])],
    )
    short, unknown = (_record(channel, "A-1"), _record(channel, "A-2"))
    assert _failing(short) == {"stock"} and _failing(unknown) == {"skus"}

    url = f"/api/v1/channels/{channel.pk}/pending-orders/{{}}/retry"
    forced = api.post(url.format(short.pk), {"force": True}).json()
    refused = api.post(url.format(unknown.pk), {"force": True}).json()

    assert forced["state"] == "imported" and forced["forced"] is True
    assert refused["state"] == "pending"
    assert Order.objects.count() == 1


def test_stock_policy_hold_accepts_a_short_order_and_says_so(stocked):
    stocked("BAR-A", qty=1)
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order(lines=[("BAR-A", 3)])])

    record = ChannelOrder.objects.get()
    assert record.state == ImportState.IMPORTED
    stock = next(c for c in record.checks if c["check"] == "stock")
    assert stock["ok"] and "BAR-A (1 of 3)" in stock["message"]


def test_orders_placed_before_the_import_start_or_fulfilled_by_amazon_are_kept_aside(stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(
        channel=channel,
        orders=[
            vendor_order("OLD", placed_at=datetime(2025, 12, 31, tzinfo=UTC)),
            vendor_order("FBA", merchant_fulfilled=False),
            vendor_order("GONE", state="cancelled"),
        ],
    )
    states = dict(ChannelOrder.objects.values_list("external_id", "state"))
    assert states == {"OLD": "ignored", "FBA": "ignored", "GONE": "ignored"}
    assert Order.objects.count() == 0


def test_fba_orders_are_imported_as_tracked_only_when_asked(stocked):
    stocked("BAR-A")
    channel = amazon_channel(import_fba=True)
    channel_orders_ingest(channel=channel, orders=[vendor_order("FBA", merchant_fulfilled=False)])

    order = Order.objects.get()
    assert order.tags == ["fulfilled_by_channel"]
    # tracked only: nothing to fulfil here, no stock set aside
    assert not order.fulfillment_orders.exists()
    assert not InventoryLevel.objects.filter(committed__gt=0).exists()


def test_an_import_start_set_earlier_lets_older_orders_in(stocked):
    stocked("BAR-A")
    channel = amazon_channel(import_start=datetime(2025, 1, 1, tzinfo=UTC))
    channel_orders_ingest(
        channel=channel, orders=[vendor_order(placed_at=datetime(2025, 6, 1, tzinfo=UTC))]
    )
    assert Order.objects.count() == 1


def test_a_cancellation_on_the_channel_cancels_the_order_without_pushing_back(stocked):
    stocked("BAR-A")
    channel = amazon_channel(cancellation_sync=True)
    first = vendor_order()
    channel_orders_ingest(channel=channel, orders=[first])
    later = vendor_order(state="cancelled", updated_at=datetime(2026, 6, 2, tzinfo=UTC))
    summary = channel_orders_ingest(channel=channel, orders=[later])

    order = Order.objects.get()
    assert summary.updated == 1
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "Cancelled on Amazon FR"


def test_an_address_edited_on_the_channel_before_shipping_updates_the_order(stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order()])
    moved = {**PARIS, "line1": "3 rue Oberkampf"}
    channel_orders_ingest(
        channel=channel,
        orders=[vendor_order(shipping_address=moved, updated_at=datetime(2026, 6, 2, tzinfo=UTC))],
    )
    order = Order.objects.get()
    assert order.shipping_address["line1"] == "3 rue Oberkampf"
    assert Event.objects.filter(order_id=order.pk, kind="order_address_changed").exists()


def test_an_order_shipped_on_the_marketplace_becomes_shipped_here(stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order()])
    shipped = vendor_order(
        state="shipped",
        shipments=(shipped_on_channel("1Z999AA10123456784"),),
        updated_at=datetime(2026, 6, 3, tzinfo=UTC),
    )
    channel_orders_ingest(channel=channel, orders=[shipped])

    order = Order.objects.get()
    shipment = Shipment.objects.get(order=order)
    assert order.fulfillment_status == "fulfilled"
    assert shipment.tracking_numbers == ["1Z999AA10123456784"]
    assert shipment.carrier == "ups" and shipment.notify_customer is False
    # read again: nothing more is created
    channel_orders_ingest(
        channel=channel, orders=[vendor_order(state="shipped", shipments=shipped.shipments,
                                              updated_at=datetime(2026, 6, 4, tzinfo=UTC))]
    )  # fmt: skip
    assert Shipment.objects.filter(order=order).count() == 1


def test_the_stored_copy_reads_back_as_the_same_order():
    order = vendor_order(shipments=(shipped_on_channel("1Z999AA10123456784"),))
    assert order_from_data(order_to_data(order)) == order


def test_a_page_with_the_same_order_twice_keeps_the_newest(stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    old = vendor_order(paid=False)
    new = vendor_order(updated_at=datetime(2026, 6, 9, tzinfo=UTC))
    summary = channel_orders_ingest(channel=channel, orders=[new, old])
    assert summary.seen == 1 and summary.imported == 1


def test_imported_orders_carry_their_channel_and_filter_by_its_name_or_id(stocked, api):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order()])
    api.post("/api/v1/orders", {"email": "a@example.com", "shipping_address": PARIS,
             "currency": "EUR", "financial_status": "paid",
             "lines": [{"sku": "BAR-A", "quantity": 1, "unit_price": "1.00"}]})  # fmt: skip

    by_id = api.get("/api/v1/orders", channel=str(channel.pk)).json()["items"]
    by_name = api.get("/api/v1/orders", channel="Amazon FR").json()["items"]

    assert [o["channel_id"] for o in by_id] == [channel.pk]
    assert [o["channel"] for o in by_name] == ["Amazon FR"]


def test_a_channel_filter_of_other_digits_is_a_name_not_an_id(api):
    response = api.get("/api/v1/orders", channel="²")
    assert response.status_code == 200 and response.json()["items"] == []
