"""Refunds recorded in Colis, sent to the channel the order came from, end to end over real HTTP
to the vendor emulators (each checking every request and answer against the vendor's contract):
eBay's issueRefund, Shopify's refundCreate, BigCommerce's quoted v3 refunds. Sent once, through
faults and crashes; not sent while the channel's refund sync is off, nor to Amazon, with the
reason on the sync record; a vendor's refusal shown with its own words."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from colis.channels.models import Channel, SyncRecord
from colis.channels.refunds import channel_refund_deliver, channel_refunds_prepare
from colis.channels.services import channel_update
from colis.core.models import OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.server import EmulatorServer, Fault
from colis.emulators.shopify import ACCESS_TOKEN, API_VERSION, WEBHOOK_SECRET
from colis.orders.models import Order
from colis.returns.models import Refund
from colis.returns.refunds import RefundLine, refund_create
from tests.channels.helpers import bigcommerce_connection, imported, wait_until
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Vendor:
    emulator: str  # the fixture running its emulator
    operation: str  # the refund call, as the emulator counts it
    skus: tuple[str, ...]


VENDORS = {
    "ebay": Vendor("ebay", "issueRefund", ("EB-A", "EB-B")),
    "shopify": Vendor("shopify", "refundCreate", ("SH-A", "SH-B")),
    "bigcommerce": Vendor("store", "createOrderRefund", ("BC-A", "BC-B")),
}


@dataclass
class Shop:
    """One vendor's emulator, a channel to it with refund sync on, and an order it imported."""

    kind: str
    server: EmulatorServer
    channel: Channel
    order: Order

    @property
    def refunds(self) -> list[dict[str, Any]]:
        """The refunds the vendor holds for the order."""
        return self.server.emulator.state()["refunds"].get(self.order.external_id, [])

    @property
    def calls(self) -> int:
        """How often the vendor was asked to make a refund."""
        return self.server.emulator.calls.get(VENDORS[self.kind].operation, 0)

    @property
    def faults(self) -> list[Fault]:
        return self.server.emulator.faults[VENDORS[self.kind].operation]


def _connection(kind: str, server: EmulatorServer) -> dict[str, Any]:
    if kind == "shopify":
        return {
            "credentials": {"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
            "settings": {"api_base_url": server.url, "api_version": API_VERSION},
        }
    if kind == "bigcommerce":
        return bigcommerce_connection(server)
    return server.emulator.connection(server.url)


def _shop(request: Any, connect: Any, kind: str, *, refund_sync: bool = True) -> Shop:
    vendor = VENDORS[kind]
    server = request.getfixturevalue(vendor.emulator)
    channel = connect(kind, kind.title(), list(vendor.skus), **_connection(kind, server))
    channel = channel_update(
        channel_id=channel.pk, options={"refund_sync": refund_sync}, actor=ACTOR
    )
    [order_id] = imported(channel, server.emulator.seed_orders({"skus": vendor.skus}))
    return Shop(kind, server, channel, Order.objects.get(external_id=order_id))


@pytest.fixture(params=sorted(VENDORS))
def shop(request: Any, connect: Any) -> Shop:
    return _shop(request, connect, request.param)


def refund(
    order: Order,
    *,
    units: int = 1,
    shipping: Decimal | None = None,
    reason: str = "damaged",
    amount: Decimal | None = None,
) -> Refund:
    """A refund recorded in Colis of `units` of the order's first line at their price (or at
    `amount`), with `shipping` (default: all of the order's shipping)."""
    line = order.lines.order_by("position").first()
    assert line is not None
    shipping = order.shipping_price if shipping is None else shipping
    for_lines = line.unit_price * units if amount is None else amount
    return refund_create(
        order_id=order.pk,
        amount=for_lines + shipping,
        currency=order.currency,
        shipping_amount=shipping,
        lines=[RefundLine(line_id=line.pk, quantity=units, amount=for_lines)],
        reason=reason,
        notify_customer=False,
        actor=ACTOR,
    )


def deliver() -> None:
    """Make what waits for the channels due now, and run the outbox until it is idle."""
    OutboxMessage.objects.filter(
        kind__in=("channel_refund", "channel_push"), status="pending"
    ).update(next_attempt_at=timezone.now())
    while outbox_pump(worker_id="w1", limit=50):
        pass


def record() -> SyncRecord:
    return SyncRecord.objects.get(operation="refund_push")


# -- sent once --------------------------------------------------------------------------------


def test_a_refund_goes_to_the_channel_once(shop):
    made = refund(shop.order)

    deliver()
    deliver()  # nothing left to send

    [on_vendor] = shop.refunds
    sent = record()
    assert sent.state == "succeeded" and sent.attempts == 1, sent.message
    assert sent.vendor_id and sent.request["refund_id"] == made.pk and sent.request["sent"]
    assert sent.vendor_id == str(on_vendor.get("refundId") or on_vendor.get("id"))
    assert shop.calls == 1
    message = OutboxMessage.objects.get(kind="channel_refund")
    assert message.status == "delivered" and message.idempotency_key == f"refund:{made.pk}:channel"


def test_ebay_gets_the_money_per_line_with_its_reason(request, connect):
    ebay = _shop(request, connect, "ebay")
    made = refund(ebay.order, shipping=Decimal(0), reason="damaged")

    deliver()

    [sent] = ebay.refunds
    line = ebay.order.lines.order_by("position").first()
    assert sent["reasonForRefund"] == "ITEM_NOT_AS_DESCRIBED"
    assert sent["comment"] == f"Colis refund {made.pk}: damaged"
    assert sent["lineItems"] == {line.external_line_id: f"{made.amount:.2f}"}
    stored = ebay.server.emulator.orders[ebay.order.external_id]
    assert stored["orderPaymentStatus"] == "PARTIALLY_REFUNDED"


def test_ebay_gets_lines_and_shipping_as_one_order_level_amount(request, connect):
    ebay = _shop(request, connect, "ebay")
    made = refund(ebay.order, shipping=Decimal("2.00"), reason="changed their mind")

    deliver()

    [sent] = ebay.refunds
    assert sent["reasonForRefund"] == "OTHER_ADJUSTMENT" and sent["lineItems"] == {}
    assert sent["amount"] == f"{made.amount:.2f}"
    [on_order] = ebay.server.emulator.orders[ebay.order.external_id]["paymentSummary"]["refunds"]
    assert on_order["refundId"] == record().vendor_id


def test_shopify_refunds_the_lines_without_restocking_and_the_money_through_the_payment(
    request, connect
):
    shopify = _shop(request, connect, "shopify")
    made = refund(shopify.order, reason="size_or_fit")

    deliver()

    [sent] = shopify.refunds
    line = shopify.order.lines.order_by("position").first()
    assert sent["note"] == f"Colis refund {made.pk}: size_or_fit"
    assert sent["lines"] == [
        {"line_item_id": line.external_line_id, "quantity": 1, "restock_type": "NO_RESTOCK"}
    ]
    assert Decimal(sent["amount"]) == made.amount
    assert Decimal(sent["shipping"]) == made.shipping_amount


def test_bigcommerce_refunds_the_products_and_the_shipping_by_the_quoted_method(request, connect):
    store = _shop(request, connect, "bigcommerce")
    made = refund(store.order, units=1)

    deliver()

    [sent] = store.refunds
    line = store.order.lines.order_by("position").first()
    products = [i for i in sent["items"] if i["item_type"] == "PRODUCT"]
    assert products == [{"item_type": "PRODUCT", "item_id": int(line.external_line_id),
                         "quantity": 1, "reason": f"Colis refund {made.pk}: damaged"}]  # fmt: skip
    assert Decimal(str(sent["total_amount"])) == made.amount
    assert [p["provider_id"] for p in sent["payments"]] == ["braintree"]
    assert sent["uses_merchant_override_values"] is False
    assert store.server.emulator.calls["createOrderRefundQuotes"] == 1


def test_bigcommerce_takes_a_partial_amount_for_a_line_as_the_merchants_total(request, connect):
    store = _shop(request, connect, "bigcommerce")
    made = refund(store.order, shipping=Decimal(0), amount=Decimal("1.00"))

    deliver()

    [sent] = store.refunds
    assert sent["uses_merchant_override_values"] is True
    assert Decimal(str(sent["total_amount"])) == made.amount == Decimal("1.00")


# -- not sent, and why ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(VENDORS))
def test_with_refund_sync_off_nothing_goes_and_the_record_says_why(request, connect, kind):
    shop = _shop(request, connect, kind, refund_sync=False)
    refund(shop.order)

    deliver()

    skipped = record()
    assert skipped.state == "skipped" and "refund sync is off" in skipped.message
    assert shop.refunds == [] and shop.calls == 0
    assert OutboxMessage.objects.get(kind="channel_refund").status == "delivered"


@pytest.mark.parametrize("refund_sync", [True, False])
def test_amazon_refunds_are_not_sent_and_the_record_says_so(amazon, connect, refund_sync):
    channel = connect("amazon", "Amazon US", ["AMZ-A"], **amazon.emulator.connection(amazon.url))
    channel_update(channel_id=channel.pk, options={"refund_sync": refund_sync}, actor=ACTOR)
    [order_id] = imported(channel, amazon.emulator.seed_orders({"skus": ["AMZ-A"]}))
    refund(Order.objects.get(external_id=order_id))

    deliver()

    skipped = record()
    assert skipped.state == "skipped" and "not supported by amazon" in skipped.message


def test_a_bigcommerce_refund_naming_no_item_is_not_sent(request, connect):
    store = _shop(request, connect, "bigcommerce")
    refund_create(order_id=store.order.pk, amount=Decimal("1.00"), currency=store.order.currency,
                  reason="goodwill", notify_customer=False, actor=ACTOR)  # fmt: skip

    deliver()

    skipped = record()
    assert skipped.state == "skipped" and "names no line and no shipping" in skipped.message
    assert store.refunds == []


# -- faults, crashes and refusals -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_after_a_fault_the_refund_is_on_the_channel_exactly_once(short_timeout, shop, fault):
    # A timeout: the vendor makes the refund after the client has given up waiting.
    shop.faults.append(Fault(fault=fault, count=1, retry_after=1.0))
    refund(shop.order)

    deliver()

    waiting = record()
    assert waiting.state == "retrying", waiting.message
    if fault == "timeout":
        assert wait_until(lambda: shop.refunds)
    deliver()
    done = record()
    assert done.state == "succeeded" and done.attempts == 2, done.message
    assert len(shop.refunds) == 1
    if fault == "timeout":
        assert "earlier attempt" in done.message and shop.calls == 1
    else:
        assert shop.calls == 2


def test_a_worker_dying_after_the_vendor_took_the_refund_does_not_refund_twice(shop):
    refund(shop.order)
    message = OutboxMessage.objects.get(kind="channel_refund")
    # A worker sends it and dies before writing down what happened.
    channel_refunds_prepare([message])
    channel_refund_deliver(message)
    assert len(shop.refunds) == 1

    deliver()

    done = record()
    assert done.state == "succeeded" and "earlier attempt" in done.message
    assert len(shop.refunds) == 1 and shop.calls == 1


def test_a_second_ebay_refund_of_the_same_amount_is_not_taken_for_the_first(request, connect):
    # eBay keeps no note with a refund: an earlier attempt is recognised by its amount, among
    # the refunds no other Colis refund accounts for.
    ebay = _shop(request, connect, "ebay")
    refund(ebay.order, shipping=Decimal(0), amount=Decimal("1.00"))
    deliver()
    again = refund(ebay.order, shipping=Decimal(0), amount=Decimal("1.00"))
    message = OutboxMessage.objects.get(idempotency_key=f"refund:{again.pk}:channel")
    # The second one is tried once without reaching eBay (cut off on the way).
    channel_refunds_prepare([message])

    deliver()

    records = SyncRecord.objects.filter(operation="refund_push").order_by("id")
    assert [r.state for r in records] == ["succeeded", "succeeded"]
    assert "earlier attempt" not in records[1].message
    assert len(ebay.refunds) == 2 and records[0].vendor_id != records[1].vendor_id


def test_a_refund_ebay_refuses_fails_with_ebays_words(request, connect):
    ebay = _shop(request, connect, "ebay")
    ebay.server.emulator.order_action(ebay.order.external_id, {"action": "cancel"})
    refund(ebay.order)

    deliver()

    failed = record()
    assert failed.state == "failed" and "This order was already refunded." in failed.message
    assert failed.response["status"] == 400
    assert OutboxMessage.objects.get(kind="channel_refund").status == "failed"
    assert ebay.calls == 1


def test_a_refund_shopify_refuses_fails_with_its_user_errors(request, connect):
    shopify = _shop(request, connect, "shopify")
    # More shipping back than the buyer paid for it.
    refund(shopify.order, amount=Decimal("1.00"), shipping=shopify.order.shipping_price + 1)

    deliver()

    failed = record()
    assert failed.state == "failed" and "Shopify refused the refund" in failed.message
    assert "Shipping refund amount must be at most" in failed.message
    assert shopify.refunds == []


def test_a_refund_bigcommerce_refuses_fails_with_its_words(request, connect):
    store = _shop(request, connect, "bigcommerce")
    store.server.emulator.order_action(store.order.external_id, {"action": "cancel"})
    refund(store.order)

    deliver()

    failed = record()
    assert failed.state == "failed" and "no payment to refund" in failed.message
    assert store.refunds == []


# -- the channel's switch ---------------------------------------------------------------------


def test_refund_sync_is_off_by_default_and_set_through_the_api(api, ebay, connect):
    channel = connect("ebay", "eBay", ["EB-A"], **ebay.emulator.connection(ebay.url))
    url = f"/api/v1/channels/{channel.pk}"
    assert api.get(url).json()["refund_sync"] is False

    response = api.patch(url, {"refund_sync": True})

    assert response.status_code == 200 and response.json()["refund_sync"] is True
    channel.refresh_from_db()
    assert channel.refund_sync is True
