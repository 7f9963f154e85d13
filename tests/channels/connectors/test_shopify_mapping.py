"""Shopify mapping on real-looking Admin GraphQL payloads (no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from colis.channels.connectors.base import PermanentError, PushLine, PushPackage
from colis.channels.connectors.shopify import mapping


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    value = {"amount": amount, "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def order_node(**changes: Any) -> dict[str, Any]:
    """An order as the connector's ColisOrder fragment returns it."""
    node: dict[str, Any] = {
        "id": "gid://shopify/Order/5602784510010",
        "legacyResourceId": "5602784510010",
        "name": "#1042",
        "email": "grace.hopper@example.com",
        "phone": None,
        "createdAt": "2025-01-14T16:02:11Z",
        "processedAt": "2025-01-14T16:02:09Z",
        "updatedAt": "2025-01-14T16:05:40Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": "USD",
        "requiresShipping": True,
        "totalPriceSet": money("74.47"),
        "totalTaxSet": money("5.49"),
        "totalDiscountsSet": money("3.00"),
        "totalShippingPriceSet": money("4.99"),
        "shippingLine": {"title": "Standard"},
        "shippingAddress": {
            "name": "Grace Hopper",
            "firstName": "Grace",
            "lastName": "Hopper",
            "company": None,
            "address1": "120 W 34th St",
            "address2": "Apt 12",
            "city": "New York",
            "province": "New York",
            "provinceCode": "NY",
            "zip": "10001",
            "countryCodeV2": "US",
            "phone": "+1 212 555 0142",
        },
        "billingAddress": {
            "name": "Grace Hopper",
            "firstName": "Grace",
            "lastName": "Hopper",
            "company": "Navy Labs",
            "address1": "1 Main St",
            "address2": None,
            "city": "Arlington",
            "province": "Virginia",
            "provinceCode": "VA",
            "zip": "22201",
            "countryCodeV2": "US",
            "phone": None,
        },
        "fulfillmentsCount": {"count": 0},
        "fulfillmentOrders": {
            "nodes": [{"assignedLocation": {"location": {"isFulfillmentService": False}}}]
        },
        "lineItems": {
            "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjoxfQ=="},
            "nodes": [
                {
                    "id": "gid://shopify/LineItem/13794264842298",
                    "sku": "MUG-11OZ",
                    "title": "Enamel mug",
                    "quantity": 2,
                    "currentQuantity": 2,
                    "originalUnitPriceSet": money("18.50"),
                },
                {
                    "id": "gid://shopify/LineItem/13794264875066",
                    "sku": "TEE-M",
                    "title": "T-shirt - M",
                    "quantity": 1,
                    "currentQuantity": 1,
                    "originalUnitPriceSet": money("30.00"),
                },
                {
                    "id": "gid://shopify/LineItem/13794264907834",
                    "sku": None,
                    "title": "Removed by an order edit",
                    "quantity": 1,
                    "currentQuantity": 0,
                    "originalUnitPriceSet": money("9.00"),
                },
            ],
        },
    }
    node.update(changes)
    return node


def test_a_paid_open_order() -> None:
    order = mapping.order_from_node(order_node())
    assert order.external_id == "gid://shopify/Order/5602784510010"
    assert order.number == "#1042"
    assert order.placed_at == datetime(2025, 1, 14, 16, 2, 9, tzinfo=UTC)
    assert order.updated_at == datetime(2025, 1, 14, 16, 5, 40, tzinfo=UTC)
    assert (order.state, order.paid, order.merchant_fulfilled) == ("open", True, True)
    assert order.email == "grace.hopper@example.com" and order.currency == "USD"
    assert [(ln.external_line_id, ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("gid://shopify/LineItem/13794264842298", "MUG-11OZ", 2, Decimal("18.50")),
        ("gid://shopify/LineItem/13794264875066", "TEE-M", 1, Decimal("30.00")),
    ]
    assert order.shipping_address == {
        "name": "Grace Hopper",
        "company": "",
        "line1": "120 W 34th St",
        "line2": "Apt 12",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
        "phone": "+1 212 555 0142",
    }
    assert order.billing_address is not None and order.billing_address["company"] == "Navy Labs"
    assert order.phone == "+1 212 555 0142"  # the order has none: the address's
    assert order.shipping_method == "Standard"
    assert (order.shipping_price, order.tax_total, order.discount_total, order.total) == (
        Decimal("4.99"),
        Decimal("5.49"),
        Decimal("3.00"),
        Decimal("74.47"),
    )
    assert order.shipments == ()
    assert order.refs == {
        "order_gid": "gid://shopify/Order/5602784510010",
        "legacy_id": "5602784510010",
        "name": "#1042",
    }


@pytest.mark.parametrize(
    ("status", "paid"),
    [("PAID", True), ("AUTHORIZED", True), ("PARTIALLY_REFUNDED", True), ("PENDING", False),
     ("PARTIALLY_PAID", False), ("REFUNDED", False), ("VOIDED", False), (None, False)],
)  # fmt: skip
def test_paid_follows_the_financial_status(status: str | None, paid: bool) -> None:
    assert mapping.order_from_node(order_node(displayFinancialStatus=status)).paid is paid


def test_cancelled_and_shipped_states() -> None:
    cancelled = order_node(cancelledAt="2025-01-15T09:00:00Z", displayFinancialStatus="VOIDED")
    assert mapping.order_from_node(cancelled).state == "cancelled"
    assert mapping.order_from_node(order_node(displayFulfillmentStatus="FULFILLED")).state == (
        "shipped"
    )
    partly = order_node(displayFulfillmentStatus="PARTIALLY_FULFILLED")
    assert mapping.order_from_node(partly).state == "open"


def test_an_order_without_a_shipping_address_keeps_empty_fields() -> None:
    order = mapping.order_from_node(order_node(shippingAddress=None, billingAddress=None))
    assert set(order.shipping_address.values()) == {""}
    assert order.billing_address is None


def test_orders_a_fulfilment_service_ships_are_not_the_merchants() -> None:
    at_3pl = {"nodes": [{"assignedLocation": {"location": {"isFulfillmentService": True}}}]}
    assert not mapping.order_from_node(order_node(fulfillmentOrders=at_3pl)).merchant_fulfilled
    digital = order_node(requiresShipping=False)
    assert not mapping.order_from_node(digital).merchant_fulfilled
    mixed = {"nodes": at_3pl["nodes"] + order_node()["fulfillmentOrders"]["nodes"]}
    assert mapping.order_from_node(order_node(fulfillmentOrders=mixed)).merchant_fulfilled


def test_fulfillments_already_on_shopify_become_shipments() -> None:
    fulfillments = [
        {
            "id": "gid://shopify/Fulfillment/4903620903226",
            "name": "#1042-F1",
            "status": "SUCCESS",
            "createdAt": "2025-01-15T10:00:00Z",
            "trackingInfo": [{"company": "USPS", "number": "9400111899223100001234", "url": None}],
            "fulfillmentLineItems": {
                "nodes": [
                    {"quantity": 1, "lineItem": {"id": "gid://shopify/LineItem/13794264842298"}}
                ]
            },
        },
        {
            "id": "gid://shopify/Fulfillment/4903620935994",
            "status": "CANCELLED",
            "trackingInfo": [],
            "fulfillmentLineItems": {"nodes": []},
        },
    ]
    order = mapping.order_from_node(order_node(fulfillments=fulfillments))
    [shipment] = order.shipments
    assert shipment.external_id == "gid://shopify/Fulfillment/4903620903226"
    assert (shipment.carrier, shipment.tracking_number) == ("USPS", "9400111899223100001234")
    assert shipment.lines == (("gid://shopify/LineItem/13794264842298", 1),)


def test_a_node_without_dates_is_refused() -> None:
    with pytest.raises(ValueError):
        mapping.order_from_node(order_node(processedAt=None, createdAt=None, updatedAt=None))


# -- pushing ------------------------------------------------------------------------------------


def fulfillment_orders() -> list[dict[str, Any]]:
    """Two fulfillment orders: the mug was split over both (2 at each), one is closed."""

    def line(fo_line: int, line_item: int, remaining: int) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/FulfillmentOrderLineItem/{fo_line}",
            "remainingQuantity": remaining,
            "lineItem": {"id": f"gid://shopify/LineItem/{line_item}"},
        }

    return [
        {"id": "gid://shopify/FulfillmentOrder/1", "status": "CLOSED",
         "lineItems": {"nodes": [line(10, 100, 0)]}},
        {"id": "gid://shopify/FulfillmentOrder/2", "status": "OPEN",
         "lineItems": {"nodes": [line(20, 100, 2), line(21, 200, 1)]}},
        {"id": "gid://shopify/FulfillmentOrder/3", "status": "IN_PROGRESS",
         "lineItems": {"nodes": [line(30, 100, 2)]}},
    ]  # fmt: skip


def package(lines: list[tuple[int, int]], **fields: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 7,
        "order_external_id": "gid://shopify/Order/1",
        "order_refs": {},
        "lines": tuple(
            PushLine(external_line_id=f"gid://shopify/LineItem/{i}", quantity=q) for i, q in lines
        ),
        "carrier_code": "FedEx",
        "carrier_name": "FedEx",
        "service": "Ground",
        "tracking_number": "794612345678",
        "tracking_url": "https://www.fedex.com/fedextrack/?trknbr=794612345678",
        "ship_date": datetime(2025, 1, 15, tzinfo=UTC),
        **fields,
    }
    return PushPackage(**values)


def test_package_lines_are_spread_over_open_fulfillment_order_lines() -> None:
    body = mapping.fulfillment_input(package([(100, 3), (200, 1)]), fulfillment_orders())
    assert body["lineItemsByFulfillmentOrder"] == [
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2",
            "fulfillmentOrderLineItems": [
                {"id": "gid://shopify/FulfillmentOrderLineItem/20", "quantity": 2},
                {"id": "gid://shopify/FulfillmentOrderLineItem/21", "quantity": 1},
            ],
        },
        {
            "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/3",
            "fulfillmentOrderLineItems": [
                {"id": "gid://shopify/FulfillmentOrderLineItem/30", "quantity": 1}
            ],
        },
    ]
    assert body["trackingInfo"] == {
        "company": "FedEx",
        "number": "794612345678",
        "url": "https://www.fedex.com/fedextrack/?trknbr=794612345678",
    }
    assert body["notifyCustomer"] is False


def test_a_carrier_without_a_shopify_name_goes_by_its_own() -> None:
    body = mapping.fulfillment_input(
        package([(200, 1)], carrier_code="", carrier_name="Coursier Lyonnais", tracking_url="",
                notify_buyer=True),
        fulfillment_orders(),
    )  # fmt: skip
    assert body["trackingInfo"] == {"company": "Coursier Lyonnais", "number": "794612345678"}
    assert body["notifyCustomer"] is True
    untracked = mapping.fulfillment_input(
        package([(200, 1)], carrier_code="", carrier_name="", tracking_number=""),
        fulfillment_orders(),
    )
    assert "trackingInfo" not in untracked


def test_more_than_is_left_is_refused() -> None:
    with pytest.raises(PermanentError, match="4 of line gid://shopify/LineItem/100 left"):
        mapping.fulfillment_input(package([(100, 5)]), fulfillment_orders())
    with pytest.raises(PermanentError):
        mapping.fulfillment_input(package([(999, 1)]), fulfillment_orders())


def test_tracking_numbers_match_whatever_their_spacing() -> None:
    made = {"trackingInfo": [{"number": "1z 999 aa1 0123456784"}]}
    assert mapping.same_tracking(made, "1Z999AA10123456784")
    assert not mapping.same_tracking(made, "1Z999AA10123456785")
    assert not mapping.same_tracking({"trackingInfo": [{"number": None}]}, "")


def test_small_conversions() -> None:
    assert mapping.order_gid("5602784510010") == "gid://shopify/Order/5602784510010"
    assert mapping.order_gid("gid://shopify/Order/1") == "gid://shopify/Order/1"
    assert mapping.shopify_time(datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=UTC)) == (
        "2025-01-02T03:04:05Z"
    )
    assert mapping.cancel_reason("fraud") == "FRAUD"
    assert mapping.cancel_reason("the buyer changed their mind") == "OTHER"
    assert mapping.parse_time("2025-01-14T16:02:11-05:00") == datetime(
        2025, 1, 14, 21, 2, 11, tzinfo=UTC
    )
    assert mapping.parse_time("yesterday") is None


def test_webhooks_name_the_order_by_its_graphql_id() -> None:
    payload = {"id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
               "name": "#9999", "updated_at": "2025-01-15T10:00:00-05:00"}  # fmt: skip
    assert mapping.webhook_order_ids("orders/updated", payload) == (
        "gid://shopify/Order/820982911946154508",
    )
    assert mapping.webhook_order_ids("orders/create", {"id": 42}) == ("gid://shopify/Order/42",)
    assert mapping.webhook_order_ids("products/update", payload) == ()
    assert mapping.webhook_order_ids("orders/updated", ["not", "an", "order"]) == ()
