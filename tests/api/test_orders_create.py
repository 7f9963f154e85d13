"""POST /api/v1/orders: the shape of a new order, and every bad input refused whole."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.orders.models import Order, OrderLine
from tests.conftest import order_counts
from tests.factories import ADDRESS_FR, ADDRESS_US, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def test_a_paid_order_comes_back_201_in_the_contract_shape(api, shop):
    # when an integrator posts a paid order for two SKUs
    response = api.post(ORDERS, order_body([("BAR-A", 2), ("BAR-B", 1)]))
    # then it is created and rendered as the contract says
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "awaiting_fulfillment"
    assert order["status_id"] == 11
    assert order["status_label"] == "Awaiting Fulfillment"
    assert order["fulfillment_status"] == "unfulfilled"
    [fo] = order["fulfillment_orders"]
    assert fo["status"] == "open" and fo["request_status"] == "unsubmitted" and fo["holds"] == []
    assert {ln["sku"]: (ln["quantity"], ln["remaining"]) for ln in fo["lines"]} == {
        "BAR-A": (2, 2),
        "BAR-B": (1, 1),
    }
    assert {ln["line_id"] for ln in fo["lines"]} == {ln["id"] for ln in order["lines"]}
    assert order["shipments"] == []
    assert order["number"] and order["id"]
    assert order["email"] == "buyer@example.com"
    assert order["currency"] == "EUR"
    assert order["subtotal"] == "37.50"
    assert set(order["shipping_address"]) >= {
        "name",
        "company",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "country",
        "phone",
    }
    assert [
        {k: ln[k] for k in ("sku", "quantity", "quantity_fulfilled", "quantity_cancelled")}
        for ln in order["lines"]
    ] == [
        {"sku": "BAR-A", "quantity": 2, "quantity_fulfilled": 0, "quantity_cancelled": 0},
        {"sku": "BAR-B", "quantity": 1, "quantity_fulfilled": 0, "quantity_cancelled": 0},
    ]
    # and the database holds the same, with its timeline event
    stored = Order.objects.get(pk=order["id"])
    assert stored.number == order["number"]
    assert [ln["id"] for ln in order["lines"]] == list(
        stored.lines.order_by("position").values_list("pk", flat=True)
    )
    assert list(Event.objects.filter(order_id=stored.pk).values_list("kind", flat=True)) == [
        "order_created"
    ]
    # and reading it back gives the same body
    assert api.get(f"{ORDERS}/{order['id']}").json() == order


def test_a_pending_order_awaits_payment(api, shop):
    response = api.post(ORDERS, order_body([("BAR-A", 1)], financial_status="pending"))
    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["status_id"], order["status_label"]) == (
        "awaiting_payment",
        7,
        "Awaiting Payment",
    )


def test_numbers_are_generated_unique_and_a_supplied_one_is_kept(api, shop):
    generated = [api.post(ORDERS, order_body([("BAR-A", 1)])).json()["number"] for _ in range(3)]
    assert len(set(generated)) == 3
    kept = api.post(ORDERS, order_body([("BAR-A", 1)], number="WEB-42"))
    assert kept.status_code == 201
    assert kept.json()["number"] == "WEB-42"
    assert Order.objects.filter(number="WEB-42").count() == 1


def test_a_supplied_number_that_is_taken_is_422_naming_number(api, shop):
    api.post(ORDERS, order_body([("BAR-A", 1)], number="WEB-42"))
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1)], number="WEB-42", email="x@example.com"))
    assert response.status_code == 422
    assert "number" in response.json()["fields"]
    assert order_counts() == before


def test_an_unknown_sku_is_422_and_nothing_is_stored(api, shop):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1), ("NO-SUCH-SKU", 1)]))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_order"
    assert set(body["fields"]) == {"lines[1].sku"}
    assert order_counts() == before


def test_an_unknown_sku_in_the_first_line_names_lines_0_sku(api, shop):
    before = order_counts()
    response = api.post(ORDERS, order_body([("NO-SUCH-SKU", 1)]))
    assert response.status_code == 422
    assert "lines[0].sku" in response.json()["fields"]
    assert order_counts() == before


@pytest.mark.parametrize("quantity", [0, -1, -100])
def test_a_quantity_below_one_is_422_naming_the_line(api, shop, quantity):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1), ("BAR-B", quantity)]))
    assert response.status_code == 422
    body = response.json()
    assert body["code"]
    assert "lines[1].quantity" in body["fields"]
    assert order_counts() == before


@pytest.mark.parametrize("currency", ["EURO", "XYZ", "", "12€"])
def test_a_bad_currency_is_422_naming_currency(api, shop, currency):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1)], currency=currency))
    assert response.status_code == 422
    assert "currency" in response.json()["fields"]
    assert order_counts() == before


def test_a_lowercase_currency_is_accepted_as_its_code(api, shop):
    response = api.post(ORDERS, order_body([("BAR-A", 1)], currency="usd"))
    assert response.status_code == 201
    assert response.json()["currency"] == "USD"


@pytest.mark.parametrize("country", ["ZZ", "F1", "", "XX"])
def test_a_bad_country_is_422_naming_shipping_address_country(api, shop, country):
    before = order_counts()
    body = order_body([("BAR-A", 1)], shipping_address={**ADDRESS_FR, "country": country})
    response = api.post(ORDERS, body)
    assert response.status_code == 422
    assert "shipping_address.country" in response.json()["fields"]
    assert order_counts() == before


@pytest.mark.parametrize(
    "address",
    [
        {**ADDRESS_FR, "postal_code": "ABCDE"},
        {**ADDRESS_FR, "postal_code": "7500"},
        {**ADDRESS_US, "postal_code": "1011"},
    ],
)
def test_a_bad_postal_code_is_422_naming_it(api, shop, address):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1)], shipping_address=address))
    assert response.status_code == 422
    assert "shipping_address.postal_code" in response.json()["fields"]
    assert order_counts() == before


def test_a_bad_billing_address_is_named_as_billing(api, shop):
    body = order_body([("BAR-A", 1)], billing_address={**ADDRESS_FR, "country": "ZZ"})
    response = api.post(ORDERS, body)
    assert response.status_code == 422
    assert "billing_address.country" in response.json()["fields"]


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "two words@example.com"])
def test_a_bad_email_is_422_naming_email(api, shop, email):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1)], email=email))
    assert response.status_code == 422
    assert "email" in response.json()["fields"]
    assert order_counts() == before


def test_a_bad_phone_is_422_naming_phone(api, shop):
    response = api.post(ORDERS, order_body([("BAR-A", 1)], phone="12"))
    assert response.status_code == 422
    assert "phone" in response.json()["fields"]


def test_every_bad_field_is_reported_at_once(api, shop):
    body = order_body(
        [("NO-SUCH-SKU", 1)],
        email="nobody",
        currency="XYZ",
        shipping_address={**ADDRESS_FR, "postal_code": "ABCDE"},
    )
    fields = api.post(ORDERS, body).json()["fields"]
    assert {"email", "currency", "shipping_address.postal_code"} <= set(fields)


def test_501_lines_are_422_and_500_are_fine(api, shop):
    before = order_counts()
    response = api.post(ORDERS, order_body([("BAR-A", 1)] * 501))
    assert response.status_code == 422
    assert "lines" in response.json()["fields"]
    assert order_counts() == before
    ok = api.post(ORDERS, order_body([("BAR-A", 1)] * 500))
    assert ok.status_code == 201
    assert OrderLine.objects.filter(order_id=ok.json()["id"]).count() == 500


def test_an_order_without_lines_is_422(api, shop):
    response = api.post(ORDERS, order_body([]))
    assert response.status_code == 422
    assert "lines" in response.json()["fields"]


def test_a_body_over_the_size_limit_is_413(api, shop, settings):
    # given a small body limit
    settings.COLIS_MAX_BODY_BYTES = 512
    before = order_counts()
    # when a body larger than that arrives
    body = order_body([("BAR-A", 1)] * 20)
    response = api.post(ORDERS, body)
    # then it is refused before parsing, and nothing is stored
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert order_counts() == before
    # and a small one still passes
    assert api.post(ORDERS, order_body([("BAR-A", 1)])).status_code == 201


def test_a_body_that_is_not_json_is_a_4xx_not_a_500(api, shop):
    response = api.client.post(
        ORDERS,
        b"{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert 400 <= response.status_code < 500
    assert response.json()["code"]
