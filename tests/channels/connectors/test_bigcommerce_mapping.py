"""BigCommerce Orders v2 JSON to connector values and back: pure functions, real-looking
payloads (shapes as `GET /v2/orders/{id}`, `/products`, `/shipping_addresses` and `/shipments`
return them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from colis.channels.connectors.base import PermanentError, PushLine, PushPackage
from colis.channels.connectors.bigcommerce import mapping
from colis.emulators.openapi import spec_load

ORDER: dict[str, Any] = {
    "id": 218,
    "customer_id": 11,
    "date_created": "Tue, 05 Mar 2019 21:40:11 +0000",
    "date_modified": "Mon, 11 Mar 2019 15:17:25 +0000",
    "date_shipped": "",
    "status_id": 11,
    "status": "Awaiting Fulfillment",
    "subtotal_ex_tax": "62.6793",
    "subtotal_inc_tax": "67.8400",
    "base_shipping_cost": "12.0000",
    "shipping_cost_ex_tax": "11.0900",
    "shipping_cost_inc_tax": "12.0000",
    "total_ex_tax": "64.5300",
    "total_inc_tax": "69.8400",
    "total_tax": "5.3100",
    "is_tax_inclusive_pricing": False,
    "items_total": 4,
    "items_shipped": 1,
    "payment_method": "Cash",
    "payment_status": "captured",
    "currency_code": "USD",
    "default_currency_code": "USD",
    "discount_amount": "2.0000",
    "coupon_discount": "1.5000",
    "shipping_address_count": 1,
    "billing_address": {
        "first_name": "Jane",
        "last_name": "Doe",
        "company": "",
        "street_1": "455 Main Street",
        "street_2": "",
        "city": "Austin",
        "state": "Texas",
        "zip": "78751",
        "country": "United States",
        "country_iso2": "US",
        "phone": "555-123-4567",
        "email": "janedoe@example.com",
        "form_fields": [],
    },
    "products": {
        "url": "https://api.bigcommerce.com/stores/abc/v2/orders/218/products",
        "resource": "/orders/218/products",
    },
    "shipping_addresses": {
        "url": "https://api.bigcommerce.com/stores/abc/v2/orders/218/shipping_addresses",
        "resource": "/orders/218/shipping_addresses",
    },
}


def product(pid: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "order_id": 218,
        "product_id": 77,
        "order_address_id": 129,
        "name": "Fog Linen Chambray Towel - Beige Stripe",
        "sku": "FOG-TWL-BEIGE",
        "type": "physical",
        "base_price": "14.0000",
        "price_ex_tax": "14.0000",
        "price_inc_tax": "15.1600",
        "quantity": 3,
        "quantity_shipped": 1,
        "is_bundled_product": False,
        "parent_order_product_id": None,
        **fields,
    }


PRODUCTS = [
    product(25),
    product(
        26,
        name="Orbit Terrarium - Large",
        sku="OTL",
        price_ex_tax="20.6793",
        price_inc_tax="22.3900",
        quantity=1,
    ),
    product(27, name="E-book", sku="EBOOK", type="digital", quantity=1),
    product(
        28, name="Bundle part", sku="PART", is_bundled_product=True, parent_order_product_id=26
    ),
]
ADDRESSES = [
    {
        "id": 129,
        "order_id": 218,
        "first_name": "Trish",
        "last_name": "Smith",
        "company": "Acme Pty Ltd",
        "street_1": "666 Sussex St",
        "street_2": "Unit 4",
        "city": "Austin",
        "zip": "78751",
        "country": "United States",
        "country_iso2": "us",
        "state": "Texas",
        "email": "trish@example.com",
        "phone": "",
        "items_total": 4,
        "items_shipped": 1,
        "shipping_method": "Flat Rate",
        "form_fields": [],
    }
]
SHIPMENTS = [
    {
        "id": 4,
        "order_id": 218,
        "order_address_id": 129,
        "date_created": "Tue, 12 Mar 2019 10:00:00 +0000",
        "tracking_number": "1Z999AA10123456784",
        "shipping_method": "Ground",
        "shipping_provider": "ups",
        "tracking_carrier": "",
        "comments": "",
        "items": [{"order_product_id": 25, "product_id": 77, "quantity": 1}],
    }
]


def package(**fields: Any) -> PushPackage:
    values: dict[str, Any] = {
        "shipment_id": 41,
        "order_external_id": "218",
        "order_refs": {"order_address_id": 129},
        "lines": (PushLine(external_line_id="25", quantity=2),),
        "carrier_code": "ups",
        "carrier_name": "UPS",
        "service": "Ground",
        "tracking_number": "1Z999AA10123456785",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456785",
        "ship_date": datetime(2019, 3, 13, tzinfo=UTC),
    }
    values.update(fields)
    return PushPackage(**values)


def test_an_awaiting_fulfillment_order_maps_to_an_open_paid_order() -> None:
    # Given an order awaiting fulfilment with one item already shipped through UPS
    # When it is mapped
    order = mapping.order_from(ORDER, PRODUCTS, ADDRESSES, SHIPMENTS)

    # Then ids, state, money and dates are ours
    assert (order.external_id, order.number) == ("218", "218")
    assert (order.state, order.paid, order.merchant_fulfilled) == ("open", True, True)
    assert order.placed_at == datetime(2019, 3, 5, 21, 40, 11, tzinfo=UTC)
    assert order.updated_at == datetime(2019, 3, 11, 15, 17, 25, tzinfo=UTC)
    assert order.email == "janedoe@example.com"
    assert order.currency == "USD"
    assert order.shipping_price == Decimal("11.09")
    assert order.tax_total == Decimal("5.31")
    assert order.discount_total == Decimal("3.50")
    assert order.total == Decimal("69.84")
    assert order.shipping_method == "Flat Rate"
    # And only the parcels to send become lines (no digital product, no bundle part)
    assert [(x.external_line_id, x.sku, x.quantity) for x in order.lines] == [
        ("25", "FOG-TWL-BEIGE", 3),
        ("26", "OTL", 1),
    ]
    assert order.lines[1].unit_price == Decimal("20.6793")
    assert order.lines[1].title == "Orbit Terrarium - Large"
    # And the address is in our keys, the country as ISO alpha-2
    assert order.shipping_address == {
        "name": "Trish Smith",
        "company": "Acme Pty Ltd",
        "line1": "666 Sussex St",
        "line2": "Unit 4",
        "city": "Austin",
        "region": "Texas",
        "postal_code": "78751",
        "country": "US",
        "phone": "",
    }
    assert order.billing_address is not None
    assert order.billing_address["name"] == "Jane Doe"
    assert order.phone == "555-123-4567"  # the shipping address has none
    # And what BigCommerce already shipped is known, with the push's address ref
    assert [(s.external_id, s.carrier, s.tracking_number, s.lines) for s in order.shipments] == [
        ("4", "ups", "1Z999AA10123456784", (("25", 1),))
    ]
    assert order.refs == {"order_address_id": 129}


def test_tax_inclusive_stores_use_prices_with_tax() -> None:
    order = mapping.order_from({**ORDER, "is_tax_inclusive_pricing": True}, PRODUCTS, ADDRESSES)
    assert order.lines[0].unit_price == Decimal("15.16")
    assert order.shipping_price == Decimal("12.00")


@pytest.mark.parametrize(
    ("status_id", "state", "paid"),
    [
        (0, "open", False),  # incomplete
        (1, "open", False),  # pending
        (2, "shipped", True),
        (3, "open", True),  # partially shipped
        (4, "open", False),  # refunded in full: nothing owed to ship
        (5, "cancelled", False),
        (6, "cancelled", False),  # declined
        (7, "open", False),  # awaiting payment
        (8, "open", True),  # awaiting pickup
        (9, "open", True),  # awaiting shipment
        (10, "shipped", True),  # completed
        (11, "open", True),  # awaiting fulfillment
        (12, "open", False),  # manual verification required
        (13, "open", False),  # disputed
        (14, "open", True),  # partially refunded
    ],
)
def test_each_of_the_fifteen_statuses(status_id: int, state: str, paid: bool) -> None:
    order = mapping.order_from({**ORDER, "status_id": status_id}, PRODUCTS, ADDRESSES)
    assert (order.state, order.paid) == (state, paid)


def test_an_order_without_address_or_billing_is_left_incomplete() -> None:
    raw = {**ORDER, "billing_address": None, "shipping_address_count": 0}
    order = mapping.order_from(raw, PRODUCTS[2:3], [])
    assert order.lines == ()
    assert set(order.shipping_address.values()) == {""}
    assert order.billing_address is None
    assert order.email == ""
    assert order.refs == {}


def test_several_shipping_addresses_keep_each_lines_address() -> None:
    second = {**ADDRESSES[0], "id": 130, "first_name": "Bob"}
    products = [PRODUCTS[0], {**PRODUCTS[1], "order_address_id": 130}]
    refs = mapping.order_from(ORDER, products, [ADDRESSES[0], second]).refs
    assert refs == {"order_address_id": 129, "line_address_ids": {"25": 129, "26": 130}}
    # A package ships against the address of its lines...
    body = mapping.shipment_body(
        package(order_refs=refs, lines=(PushLine(external_line_id="26", quantity=1),))
    )
    assert body["order_address_id"] == 130
    # ...and cannot mix two addresses.
    mixed = (
        PushLine(external_line_id="25", quantity=1),
        PushLine(external_line_id="26", quantity=1),
    )
    with pytest.raises(PermanentError):
        mapping.shipment_body(package(order_refs=refs, lines=mixed))


def test_dates() -> None:
    assert mapping.parse_date("Wed, 05 Dec 2018 20:16:55 +0000") == datetime(
        2018, 12, 5, 20, 16, 55, tzinfo=UTC
    )
    assert mapping.parse_date("2017-04-20T11:32:00-04:00") == datetime(
        2017, 4, 20, 15, 32, tzinfo=UTC
    )
    assert mapping.parse_date("") is None
    # Whole seconds, rounded down, so the filter still includes that second.
    moment = datetime(2024, 5, 1, 9, 30, 15, 999_000, tzinfo=UTC)
    assert mapping.format_date(moment) == "Wed, 01 May 2024 09:30:15 +0000"


def test_a_known_carrier_uses_its_provider_code() -> None:
    body = mapping.shipment_body(package())
    assert body == {
        "order_address_id": 129,
        "tracking_number": "1Z999AA10123456785",
        "shipping_provider": "ups",
        "tracking_carrier": "ups",
        "shipping_method": "Ground",
        "comments": "Colis shipment 41",
        "items": [{"order_product_id": 25, "quantity": 2}],
    }


def test_another_carrier_uses_the_custom_form_with_its_name_and_link() -> None:
    body = mapping.shipment_body(
        package(
            carrier_code="",
            carrier_name="Colissimo",
            service="Expert",
            tracking_number="6A12345678901",
            tracking_url="https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
        )
    )
    assert body["shipping_provider"] == ""
    assert body["tracking_carrier"] == ""
    assert body["shipping_method"] == "Colissimo Expert"
    assert body["tracking_link"].endswith("code=6A12345678901")


def test_pushed_bodies_satisfy_the_contract() -> None:
    spec = spec_load("bigcommerce/orders.v2.oas2.yml", "/stores/{store_hash}/v2")
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    for body in (mapping.shipment_body(package()), mapping.shipment_body(package(carrier_code=""))):
        spec.check_request(
            "POST", "/stores/abc/v2/orders/218/shipments", {}, headers, json.dumps(body).encode()
        )


def test_packages_that_cannot_be_told_are_refused_before_sending() -> None:
    with pytest.raises(PermanentError):
        mapping.shipment_body(package(order_refs={}))
    with pytest.raises(PermanentError):
        mapping.shipment_body(package(tracking_number="9" * 51))


def test_a_shipment_is_recognised_by_tracking_number_or_reference() -> None:
    made = {"id": 9, "tracking_number": "1Z999AA10123456785", "comments": ""}
    assert mapping.shipment_matches(made, package())
    assert not mapping.shipment_matches({**made, "tracking_number": "OTHER"}, package())
    untracked = package(tracking_number="")
    assert mapping.shipment_matches({"id": 9, "comments": "Colis shipment 41"}, untracked)
    assert not mapping.shipment_matches({"id": 9, "tracking_number": ""}, untracked)
