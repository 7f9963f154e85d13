"""Fulfill items through the form: partial then full shipments, refusals that create nothing,
the carrier told from a typed number, and the scan-to-verify markup."""

from __future__ import annotations

import pytest
from django.test import Client

from colis.catalog.models import Product
from colis.fulfillment.models import Shipment
from colis.orders.models import Order
from tests.factories import UserFactory, order_body

UPS_OK = "1Z5R89390357567127"
UPS_OK_2 = "1Z410E7W0392751591"
UPS_BAD = "1Z5R89390357567128"


@pytest.fixture
def order(api, shop):
    Product.objects.filter(sku="BAR-A").update(barcode="3700000000017")
    response = api.post("/api/v1/orders", order_body([("BAR-A", 3), ("BAR-B", 1)]))
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role="staff"))
    return client


def fo_lines(order):
    fo = order["fulfillment_orders"][0]
    return fo["id"], {ln["sku"]: ln["id"] for ln in fo["lines"]}


def url(order):
    return f"/app/orders/{order['id']}/fulfill/{order['fulfillment_orders'][0]['id']}/"


def test_the_form_offers_everything_remaining_with_scan_data(staff, order):
    _, lines = fo_lines(order)
    html = staff.get(url(order)).content.decode()
    assert f'name="qty_{lines["BAR-A"]}"' in html and 'value="3"' in html
    assert 'data-barcode="3700000000017"' in html and 'data-sku="BAR-A"' in html
    assert 'id="scan"' in html and "colis/order.js" in html
    assert 'name="notify_customer" checked' in html
    assert 'hx-get="/app/orders/carrier-detect/"' in html


def test_a_partial_then_the_full_shipment_through_the_form(staff, order):
    _, lines = fo_lines(order)
    first = staff.post(url(order), {
        f"qty_{lines['BAR-A']}": "1", f"qty_{lines['BAR-B']}": "0",
        "carrier": "ups", "service": "Ground", "tracking_numbers": UPS_OK,
        "length_mm": "300", "width_mm": "200", "height_mm": "100", "weight_grams": "900",
        "notes": "fragile", "notify_customer": "on", "print_after": "on",
    })  # fmt: skip
    assert first.status_code == 302, first.content.decode()[:2000]
    assert first["Location"] == f"/app/orders/{order['id']}/?done=shipped&print=1"
    assert Order.objects.get(pk=order["id"]).status == 3  # partially shipped
    shipment = Shipment.objects.get(order_id=order["id"])
    assert shipment.carrier == "ups" and shipment.tracking_numbers == [UPS_OK]
    assert shipment.package["weight_grams"] == 900 and shipment.notify_customer
    page = staff.get(first["Location"]).content.decode()
    assert "Partially Shipped" in page and UPS_OK in page and "packing-slip.pdf" in page
    # the rest: the carrier is told from the number
    second = staff.post(url(order), {
        f"qty_{lines['BAR-A']}": "2", f"qty_{lines['BAR-B']}": "1",
        "carrier": "", "tracking_numbers": UPS_OK_2,
    })  # fmt: skip
    assert second.status_code == 302, second.content.decode()[:2000]
    assert Order.objects.get(pk=order["id"]).status == 2  # shipped
    last = Shipment.objects.filter(order_id=order["id"]).order_by("-pk").first()
    assert last.carrier == "ups" and not last.notify_customer


def test_a_wrong_tracking_number_shows_the_error_and_creates_nothing(staff, order):
    response = staff.post(url(order), {
        f"qty_{fo_lines(order)[1]['BAR-A']}": "1", "carrier": "ups",
        "tracking_numbers": UPS_BAD, "notify_customer": "on",
    })  # fmt: skip
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="tracking-error"' in html and "does not look like" in html
    assert 'name="force"' in html  # may keep it anyway
    assert UPS_BAD in html  # what was typed stays
    assert not Shipment.objects.exists()
    assert Order.objects.get(pk=order["id"]).status == 11


def test_bad_quantities_are_refused_per_field(staff, order):
    _, lines = fo_lines(order)
    too_many = staff.post(
        url(order), {f"qty_{lines['BAR-A']}": "9", "carrier": "other", "tracking_numbers": "X1"}
    )
    assert too_many.status_code == 422
    assert f'id="qty_{lines["BAR-A"]}-error"' in too_many.content.decode()
    nothing = staff.post(url(order), {f"qty_{lines['BAR-A']}": "0", "carrier": "other"})
    assert nothing.status_code == 422 and "at least one item" in nothing.content.decode()
    word = staff.post(url(order), {f"qty_{lines['BAR-A']}": "two", "carrier": "other"})
    assert word.status_code == 422
    assert not Shipment.objects.exists()


def test_the_carrier_is_detected_as_the_number_is_typed(staff, db):
    found = staff.get("/app/orders/carrier-detect/", {"tracking_numbers": UPS_OK})
    assert found.status_code == 200
    assert 'data-carrier="ups"' in found.content.decode()
    assert "UPS" in found.content.decode()
    unknown = staff.get("/app/orders/carrier-detect/", {"tracking_numbers": "??"})
    assert 'data-carrier=""' in unknown.content.decode()
    assert Client().get("/app/orders/carrier-detect/").status_code == 302  # signed in only


def test_readonly_sees_no_form(order):
    client = Client()
    client.force_login(UserFactory(role="readonly"))
    html = client.get(url(order)).content.decode()
    assert 'id="fulfill-form"' not in html
    assert client.post(url(order), {"carrier": "other"}).status_code == 403


def test_the_screens_speak_french(order):
    client = Client()
    client.force_login(UserFactory(role="staff", language="fr"))
    html = client.get(url(order)).content.decode()
    assert "Expédier des articles" in html and "Scanner pour vérifier" in html
    assert "Envoyer maintenant les détails de l'expédition au client" in html
    page = client.get(f"/app/orders/{order['id']}/").content.decode()
    assert "Historique" in page and "Ordre d'expédition" in page
    assert "À préparer" in page
    assert "Retours plus anciens" not in client.get("/app/returns/").content.decode()
    assert "Numéro de retour ou de commande" in client.get("/app/returns/").content.decode()
