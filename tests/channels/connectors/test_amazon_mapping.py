"""Amazon JSON <-> connector values, pure: Amazon's own example orders from the Orders API
2026-01-01 contract, and hand-made FBA, pending and cancelled orders checked against the
contract's `Order` schema before they are mapped."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from colis.channels.connectors.amazon import mapping
from colis.channels.connectors.base import PushLine, PushPackage
from colis.core.specs import spec_path
from colis.emulators.openapi import spec_load

ORDERS_SPEC = "amazon-sp-api/orders_2026-01-01.json"


def _examples() -> dict[str, Any]:
    doc = json.loads(spec_path(ORDERS_SPEC).read_text(encoding="utf-8"))
    paths = doc["paths"]
    search = paths["/orders/2026-01-01/orders"]["get"]["responses"]["200"]["examples"]
    one = paths["/orders/2026-01-01/orders/{orderId}"]["get"]["responses"]["200"]["examples"]
    return {
        "search": search["application/json"]["orders"][0],
        "get": one["application/json"]["order"],
    }


EXAMPLES = _examples()


def _valid(order: dict[str, Any]) -> dict[str, Any]:
    """The order, after checking the contract allows it as a getOrder answer."""
    spec = spec_load(ORDERS_SPEC)
    spec.check_response(spec.operations["getOrder"], 200, json.dumps({"order": order}).encode())
    return order


def _fba_pending() -> dict[str, Any]:
    return _valid(
        {
            "orderId": "114-3941689-8772232",
            "createdTime": "2026-03-02T18:04:11Z",
            "lastUpdatedTime": "2026-03-02T18:09:40.512Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "buyer": {"buyerName": "Grace Wilson"},
            "recipient": {
                "deliveryAddress": {
                    "city": "Seattle",
                    "stateOrRegion": "WA",
                    "postalCode": "98101",
                    "countryCode": "us",
                }
            },
            "fulfillment": {"fulfillmentStatus": "PENDING", "fulfilledBy": "AMAZON"},
            "orderItems": [
                {
                    "orderItemId": "71058600792334",
                    "quantityOrdered": 2,
                    "product": {"asin": "B07XJ8C8F5", "sellerSku": "TOTE-01"},
                    "proceeds": {
                        "proceedsTotal": {"amount": "25.98", "currencyCode": "USD"},
                        "breakdowns": [
                            {
                                "type": "ITEM",
                                "subtotal": {"amount": "25.98", "currencyCode": "USD"},
                            }
                        ],
                    },
                }
            ],
        }
    )


def test_amazons_search_example_maps_to_a_shipped_paid_merchant_order() -> None:
    order = mapping.channel_order(_valid(EXAMPLES["search"]))

    assert order.external_id == order.number == "123-4567890-1234567"
    assert (order.state, order.paid, order.merchant_fulfilled) == ("shipped", True, True)
    assert order.placed_at == datetime(2024, 12, 25, 10, 30, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 12, 25, 14, 45, tzinfo=UTC)
    assert order.email == "buyer-email@marketplace.amazon.com"
    assert order.currency == "USD"
    assert [(ln.external_line_id, ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("12345678901234", "ECHO-DOT-4-CHARCOAL", 2, Decimal("49.99")),
        ("12345678901235", "FIRE-TV-4K-2021", 1, Decimal("49.99")),
    ]
    assert order.shipping_address == {
        "name": "John Smith",
        "company": "Smith Industries LLC",
        "line1": "123 Main Street",
        "line2": "Suite 456",
        "city": "Seattle",
        "region": "WA",
        "postal_code": "98101",
        "country": "US",
        "phone": "555-123-4567",
    }
    assert order.phone == "555-123-4567"
    assert (order.tax_total, order.total) == (Decimal("0.02"), Decimal("154.99"))
    assert order.shipping_method == "STANDARD"
    assert order.ship_by == datetime(2024, 12, 27, 23, 59, 59, tzinfo=UTC)
    [shipment] = order.shipments
    assert (shipment.external_id, shipment.carrier, shipment.tracking_number) == (
        "PKG-2024-001",
        "UPS",
        "1Z999AA1234567890",
    )
    assert shipment.lines == (("12345678901234", 2), ("12345678901235", 1))
    assert order.refs == {
        "marketplace_id": "ATVPDKIKX0DER",
        "fulfilled_by": "MERCHANT",
        "fulfillment_status": "SHIPPED",
    }


def test_amazons_get_example_carries_shipping_tax_and_the_uk_marketplace() -> None:
    order = mapping.channel_order(_valid(EXAMPLES["get"]))

    assert order.currency == "GBP"
    assert (order.shipping_price, order.tax_total, order.total) == (
        Decimal("10.00"),
        Decimal("4.00"),
        Decimal("103.97"),
    )
    assert order.shipping_address["line2"] == "Unit 4B"
    assert order.shipping_address["region"] == "England"
    assert order.refs["marketplace_id"] == "A1F83G8C2ARO7P"


def test_an_fba_pending_order_is_neither_paid_nor_ours_to_ship() -> None:
    order = mapping.channel_order(_fba_pending())

    assert (order.state, order.paid, order.merchant_fulfilled) == ("open", False, False)
    # Amazon gives neither email nor phone nor street for such an order.
    assert order.email == order.phone == ""
    assert order.shipping_address["line1"] == ""
    assert order.shipping_address["country"] == "US"
    # No product price: the unit price comes from the item proceeds.
    assert order.lines[0].unit_price == Decimal("12.99")
    assert order.lines[0].title == ""
    assert order.total is None
    assert order.currency == "USD"


@pytest.mark.parametrize(
    ("status", "state", "paid"),
    [
        ("PENDING_AVAILABILITY", "open", False),
        ("UNSHIPPED", "open", True),
        ("PARTIALLY_SHIPPED", "open", True),
        ("SHIPPED", "shipped", True),
        ("CANCELLED", "cancelled", False),
        ("UNFULFILLABLE", "cancelled", False),
    ],
)
def test_fulfillment_statuses_map_to_state_and_payment(status: str, state: str, paid: bool) -> None:
    raw = copy.deepcopy(_fba_pending())
    raw["fulfillment"]["fulfillmentStatus"] = status

    order = mapping.channel_order(_valid(raw))

    assert (order.state, order.paid) == (state, paid)


def test_an_order_without_its_times_is_refused() -> None:
    raw = copy.deepcopy(_fba_pending())
    raw["lastUpdatedTime"] = ""

    with pytest.raises(ValueError):
        mapping.channel_order(raw)


def _package(**changes: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 41,
        "order_external_id": "114-3941689-8772232",
        "order_refs": {"marketplace_id": "ATVPDKIKX0DER"},
        "lines": (PushLine(external_line_id="71058600792334", quantity=2),),
        "carrier_code": "UPS",
        "carrier_name": "UPS",
        "service": "UPS Ground",
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "",
        "ship_date": datetime(2026, 3, 3, 15, 30, tzinfo=UTC),
    }
    values.update(changes)
    return PushPackage(**values)


def _checked_body(body: dict[str, Any]) -> dict[str, Any]:
    spec = spec_load("amazon-sp-api/ordersV0.json")
    path = "/orders/v0/orders/114-3941689-8772232/shipmentConfirmation"
    spec.check_request("POST", path, {}, {}, json.dumps(body).encode())
    return body


def test_a_package_with_an_amazon_carrier_code_becomes_a_confirm_shipment_body() -> None:
    body = _checked_body(mapping.confirm_shipment_body(_package(), marketplace_id="ATVPDKIKX0DER"))

    assert body == {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": {
            "packageReferenceId": "41",
            "carrierCode": "UPS",
            "carrierName": "UPS",
            "trackingNumber": "1Z999AA10123456784",
            "shipDate": "2026-03-03T15:30:00Z",
            "shippingMethod": "UPS Ground",
            "orderItems": [{"orderItemId": "71058600792334", "quantity": 2}],
        },
    }


def test_a_carrier_without_an_amazon_code_goes_as_other_with_its_name() -> None:
    package = _package(carrier_code="", carrier_name="Colissimo", service="")

    detail = _checked_body(mapping.confirm_shipment_body(package, marketplace_id="X"))[
        "packageDetail"
    ]

    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Colissimo")
    assert "shippingMethod" not in detail


def test_the_package_a_push_made_is_found_by_reference_then_by_tracking_number() -> None:
    theirs = {"packageReferenceId": "900001", "trackingNumber": "1Z999AA10123456784"}
    ours = {"packageReferenceId": "41", "trackingNumber": "OTHER"}

    assert mapping.package_for([theirs, ours], _package()) is ours
    assert mapping.package_for([theirs], _package()) is theirs
    assert mapping.package_for([theirs], _package(tracking_number="")) is None
    assert mapping.package_for([], _package()) is None


def test_times_go_out_in_utc_and_come_back_aware() -> None:
    assert mapping.format_time(datetime(2026, 1, 1, 12, tzinfo=UTC)) == "2026-01-01T12:00:00Z"
    assert mapping.format_time(datetime(2026, 1, 1, 12)) == "2026-01-01T12:00:00Z"
    assert mapping.parse_time("2026-01-01T12:00:00.250Z") == datetime(
        2026, 1, 1, 12, 0, 0, 250000, tzinfo=UTC
    )
    assert mapping.parse_time("2026-01-01T12:00:00") == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert mapping.parse_time(None) is None
