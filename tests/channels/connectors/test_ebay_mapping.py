"""eBay JSON to Colis values and back, with payloads shaped like the ones eBay's Sell Fulfillment
API returns (getOrder, getShippingFulfillments). Pure: no HTTP."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from colis.channels.connectors.base import ChannelShipment, PushLine, PushPackage
from colis.channels.connectors.ebay import mapping

# A US order as getOrder returns it: two lines (one from a listing made without a SKU, with a
# variation), a promotion, eBay-collected sales tax, a buyer cancel request refused.
ORDER: dict[str, Any] = {
    "orderId": "04-11385-72953",
    "creationDate": "2026-03-18T15:06:37.000Z",
    "lastModifiedDate": "2026-03-18T15:26:03.417Z",
    "orderFulfillmentStatus": "NOT_STARTED",
    "orderPaymentStatus": "PAID",
    "sellerId": "harbour_goods",
    "buyer": {
        "username": "kjwalker_22",
        "taxAddress": {
            "stateOrProvince": "WA",
            "postalCode": "98101",
            "countryCode": "US",
        },
        "buyerRegistrationAddress": {
            "fullName": "Kate Walker",
            "contactAddress": {
                "addressLine1": "1201 3rd Ave",
                "city": "Seattle",
                "stateOrProvince": "WA",
                "postalCode": "98101",
                "countryCode": "US",
            },
            "primaryPhone": {"phoneNumber": "2065550148"},
            "email": "7d1e4b2a9c@members.ebay.com",
        },
    },
    "pricingSummary": {
        "priceSubtotal": {"value": "64.97", "currency": "USD"},
        "priceDiscount": {"value": "-5.00", "currency": "USD"},
        "deliveryCost": {"value": "8.95", "currency": "USD"},
        "deliveryDiscount": {"value": "-1.00", "currency": "USD"},
        "tax": {"value": "6.62", "currency": "USD"},
        "total": {"value": "74.54", "currency": "USD"},
    },
    "cancelStatus": {
        "cancelState": "NONE_REQUESTED",
        "cancelRequests": [],
    },
    "paymentSummary": {
        "totalDueSeller": {"value": "67.92", "currency": "USD"},
        "refunds": [],
        "payments": [
            {
                "paymentMethod": "EBAY",
                "paymentReferenceId": "1A2B3C4D5E6F",
                "paymentDate": "2026-03-18T15:07:01.000Z",
                "amount": {"value": "67.92", "currency": "USD"},
                "paymentStatus": "PAID",
            }
        ],
    },
    "fulfillmentStartInstructions": [
        {
            "fulfillmentInstructionsType": "SHIP_TO",
            "minEstimatedDeliveryDate": "2026-03-21T07:00:00.000Z",
            "maxEstimatedDeliveryDate": "2026-03-25T07:00:00.000Z",
            "shippingStep": {
                "shipTo": {
                    "fullName": "Kate Walker",
                    "companyName": "Walker Design LLC",
                    "contactAddress": {
                        "addressLine1": "411 Pine St",
                        "addressLine2": "Suite 300",
                        "city": "Seattle",
                        "stateOrProvince": "WA",
                        "postalCode": "98101-2029",
                        "countryCode": "us",
                    },
                    "primaryPhone": {"phoneNumber": "2065550199"},
                    "email": "7d1e4b2a9c@members.ebay.com",
                },
                "shippingCarrierCode": "USPS",
                "shippingServiceCode": "USPSPriority",
            },
        }
    ],
    "fulfillmentHrefs": [],
    "lineItems": [
        {
            "lineItemId": "10059348371022",
            "legacyItemId": "226048891034",
            "sku": "MUG-350-BLUE",
            "title": "Enamel Camping Mug 350 ml, Blue",
            "lineItemCost": {"value": "39.98", "currency": "USD"},
            "quantity": 2,
            "soldFormat": "FIXED_PRICE",
            "listingMarketplaceId": "EBAY_US",
            "purchaseMarketplaceId": "EBAY_US",
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "total": {"value": "47.90", "currency": "USD"},
            "deliveryCost": {"shippingCost": {"value": "8.95", "currency": "USD"}},
            "appliedPromotions": [],
            "taxes": [],
            "lineItemFulfillmentInstructions": {
                "minEstimatedDeliveryDate": "2026-03-21T07:00:00.000Z",
                "maxEstimatedDeliveryDate": "2026-03-25T07:00:00.000Z",
                "shipByDate": "2026-03-20T06:59:59.000Z",
                "guaranteedDelivery": False,
            },
        },
        {
            "lineItemId": "10059348371023",
            "legacyItemId": "225981230447",
            "legacyVariationId": "524918873310",
            "title": "Merino Hiking Socks",
            "lineItemCost": {"value": "24.99", "currency": "USD"},
            "quantity": 1,
            "soldFormat": "FIXED_PRICE",
            "listingMarketplaceId": "EBAY_US",
            "purchaseMarketplaceId": "EBAY_US",
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "total": {"value": "26.64", "currency": "USD"},
            "deliveryCost": {"shippingCost": {"value": "0.0", "currency": "USD"}},
            "appliedPromotions": [
                {
                    "description": "Save $5.00",
                    "discountAmount": {"value": "5.00", "currency": "USD"},
                    "promotionId": "5126432010",
                }
            ],
            "taxes": [],
            "variationAspects": [{"name": "Size", "value": "M"}],
            "lineItemFulfillmentInstructions": {
                "shipByDate": "2026-03-19T06:59:59.000Z",
                "guaranteedDelivery": False,
            },
        },
    ],
    "salesRecordReference": "4187",
    "totalFeeBasisAmount": {"value": "74.54", "currency": "USD"},
    "totalMarketplaceFee": {"value": "9.88", "currency": "USD"},
    "ebayCollectAndRemitTax": True,
}

FULFILLMENTS: list[dict[str, Any]] = [
    {
        "fulfillmentId": "9405509699937003457459",
        "shipmentTrackingNumber": "9405509699937003457459",
        "shippingCarrierCode": "USPS",
        "shippedDate": "2026-03-19T17:00:00.000Z",
        "lineItems": [{"lineItemId": "10059348371022", "quantity": 2}],
    }
]


def order(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(ORDER)
    data.update(changes)
    return data


def package(**changes: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 7,
        "order_external_id": "04-11385-72953",
        "order_refs": {"order_id": "04-11385-72953"},
        "lines": (PushLine(external_line_id="10059348371022", quantity=2),),
        "carrier_code": "USPS",
        "carrier_name": "USPS",
        "service": "Priority Mail",
        "tracking_number": "9405 5096 9993 7003 4574 59",
        "tracking_url": "",
        "ship_date": datetime(2026, 3, 19, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=-7))),
    }
    values.update(changes)
    return PushPackage(**values)


def test_an_order_maps_to_a_channel_order() -> None:
    mapped = mapping.order_from_ebay(ORDER)

    assert mapped.external_id == mapped.number == "04-11385-72953"
    assert mapped.placed_at == datetime(2026, 3, 18, 15, 6, 37, tzinfo=UTC)
    assert mapped.updated_at == datetime(2026, 3, 18, 15, 26, 3, 417000, tzinfo=UTC)
    assert (mapped.state, mapped.paid, mapped.merchant_fulfilled) == ("open", True, True)
    assert mapped.email == "7d1e4b2a9c@members.ebay.com"
    assert mapped.currency == "USD"
    assert mapped.shipping_address == {
        "name": "Kate Walker",
        "company": "Walker Design LLC",
        "line1": "411 Pine St",
        "line2": "Suite 300",
        "city": "Seattle",
        "region": "WA",
        "postal_code": "98101-2029",
        "country": "US",
        "phone": "2065550199",
    }
    assert mapped.billing_address is not None
    assert mapped.billing_address["line1"] == "1201 3rd Ave"
    assert mapped.phone == "2065550199"
    assert mapped.shipping_method == "USPSPriority"
    assert mapped.shipping_price == Decimal("7.95")
    assert mapped.tax_total == Decimal("6.62")
    assert mapped.discount_total == Decimal("5.00")
    assert mapped.total == Decimal("74.54")
    assert mapped.ship_by == datetime(2026, 3, 19, 6, 59, 59, tzinfo=UTC)
    assert mapped.shipments == ()


def test_lines_carry_the_sku_or_the_listing_id_and_a_unit_price() -> None:
    mug, socks = mapping.order_from_ebay(ORDER).lines

    assert (mug.external_line_id, mug.sku, mug.quantity) == ("10059348371022", "MUG-350-BLUE", 2)
    assert mug.unit_price == Decimal("19.99")
    assert mug.title == "Enamel Camping Mug 350 ml, Blue"
    # A listing made without a SKU: its item id, with the chosen variation.
    assert socks.sku == "225981230447-524918873310"
    assert socks.unit_price == Decimal("24.99")


def test_a_listing_without_sku_or_variation_falls_back_to_its_item_id() -> None:
    assert mapping.line_sku({"legacyItemId": "226048891034"}) == "226048891034"


def test_refs_keep_what_a_push_and_a_look_up_need() -> None:
    refs = mapping.order_from_ebay(ORDER, FULFILLMENTS).refs

    assert refs["order_id"] == "04-11385-72953"
    assert refs["marketplace_id"] == "EBAY_US"
    assert refs["buyer_username"] == "kjwalker_22"
    assert refs["sales_record_reference"] == "4187"
    assert refs["line_items"]["10059348371023"] == {
        "legacy_item_id": "225981230447",
        "legacy_variation_id": "524918873310",
        "quantity": 1,
    }
    assert refs["fulfillment_ids"] == ["9405509699937003457459"]


def test_fulfillments_become_the_shipments_the_channel_has() -> None:
    mapped = mapping.order_from_ebay(order(orderFulfillmentStatus="IN_PROGRESS"), FULFILLMENTS)

    assert mapped.state == "open"
    assert mapped.shipments == (
        ChannelShipment(
            external_id="9405509699937003457459",
            carrier="USPS",
            tracking_number="9405509699937003457459",
            lines=(("10059348371022", 2),),
        ),
    )


@pytest.mark.parametrize(
    ("changes", "state", "paid"),
    [
        ({"orderFulfillmentStatus": "FULFILLED"}, "shipped", True),
        ({"orderPaymentStatus": "PENDING"}, "open", False),
        ({"orderPaymentStatus": "FAILED"}, "open", False),
        ({"orderPaymentStatus": "PARTIALLY_REFUNDED"}, "open", True),
        ({"orderPaymentStatus": "FULLY_REFUNDED"}, "cancelled", True),
        (
            {
                "cancelStatus": {
                    "cancelState": "CANCELED",
                    "cancelledDate": "2026-03-18T16:00:00Z",
                },
                "orderPaymentStatus": "FULLY_REFUNDED",
            },
            "cancelled",
            True,
        ),
        ({"cancelStatus": {"cancelState": "IN_PROGRESS", "cancelRequests": []}}, "open", True),
        (
            {"orderFulfillmentStatus": "FULFILLED", "orderPaymentStatus": "FULLY_REFUNDED"},
            "shipped",
            True,
        ),
    ],
)
def test_state_and_paid_follow_ebays_statuses(
    changes: dict[str, Any], state: str, paid: bool
) -> None:
    mapped = mapping.order_from_ebay(order(**changes))

    assert (mapped.state, mapped.paid) == (state, paid)


def test_orders_ebay_fulfills_are_not_the_merchants() -> None:
    by_ebay = order(
        fulfillmentStartInstructions=[
            {
                "fulfillmentInstructionsType": "FULFILLED_BY_EBAY",
                "minEstimatedDeliveryDate": "2026-03-21T07:00:00.000Z",
            }
        ],
        program={"fulfillmentProgram": {"fulfilledBy": "EBAY"}},
    )
    global_shipping = copy.deepcopy(ORDER)
    global_shipping["fulfillmentStartInstructions"][0]["ebaySupportedFulfillment"] = True

    mapped = mapping.order_from_ebay(by_ebay)

    assert mapped.merchant_fulfilled is False
    assert set(mapped.shipping_address.values()) == {""}
    # The Global Shipping Program still has the seller ship (to eBay's hub).
    assert mapping.merchant_fulfilled(global_shipping) is True


def test_a_ship_to_without_address_stays_incomplete() -> None:
    data = copy.deepcopy(ORDER)
    data["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"] = {
        "fullName": "Kate Walker",
        "contactAddress": {"countryCode": "US"},
    }
    del data["buyer"]["buyerRegistrationAddress"]["email"]

    mapped = mapping.order_from_ebay(data)

    assert mapped.shipping_address["line1"] == mapped.shipping_address["city"] == ""
    assert mapped.shipping_address["country"] == "US"
    assert mapped.email == ""


def test_the_fulfillment_body_is_what_create_shipping_fulfillment_takes() -> None:
    body = mapping.fulfillment_body(package())

    assert body == {
        "lineItems": [{"lineItemId": "10059348371022", "quantity": 2}],
        "shippedDate": "2026-03-19T17:00:00.250Z",
        "shippingCarrierCode": "USPS",
        # eBay takes letters and digits only.
        "trackingNumber": "9405509699937003457459",
    }


def test_a_carrier_without_an_ebay_code_goes_by_its_name_or_other() -> None:
    named = mapping.fulfillment_body(package(carrier_code="", carrier_name="Evri"))
    nameless = mapping.fulfillment_body(package(carrier_code="", carrier_name=" "))

    assert named["shippingCarrierCode"] == "Evri"
    assert nameless["shippingCarrierCode"] == mapping.OTHER_CARRIER == "Other"


def test_an_untracked_package_sends_neither_carrier_nor_tracking() -> None:
    body = mapping.fulfillment_body(package(tracking_number=""))

    assert "trackingNumber" not in body and "shippingCarrierCode" not in body


def test_the_fulfillment_id_comes_from_the_location_header() -> None:
    location = (
        "https://api.ebay.com/sell/fulfillment/v1/order/04-11385-72953/shipping_fulfillment/"
        "9405509699937003457459"
    )

    assert mapping.fulfillment_id_from_location(location) == "9405509699937003457459"
    assert mapping.fulfillment_id_from_location("") == ""


def test_a_package_finds_its_fulfillment_by_tracking_number_or_lines() -> None:
    untracked = {
        "fulfillmentId": "1000",
        "lineItems": [{"lineItemId": "10059348371023", "quantity": 1}],
        "shippedDate": "2026-03-19T17:00:00.000Z",
    }
    fulfillments = [*FULFILLMENTS, untracked]

    assert mapping.matching_fulfillment(fulfillments, package()) is FULFILLMENTS[0]
    assert mapping.matching_fulfillment(fulfillments, package(tracking_number="1Z999")) is None
    socks = (PushLine(external_line_id="10059348371023", quantity=1),)
    assert (
        mapping.matching_fulfillment(fulfillments, package(tracking_number="", lines=socks))
        is untracked
    )
    assert mapping.matching_fulfillment(fulfillments, package(tracking_number="")) is None


def test_timestamps_round_trip_in_ebays_format() -> None:
    moment = datetime(2026, 3, 19, 17, 0, 0, 768000, tzinfo=UTC)

    assert mapping.ebay_timestamp(moment) == "2026-03-19T17:00:00.768Z"
    assert mapping.parse_timestamp("2026-03-19T17:00:00.768Z") == moment
    assert mapping.parse_timestamp("not a date") is None
    assert mapping.amount({"value": "n/a", "currency": "USD"}) == Decimal(0)
