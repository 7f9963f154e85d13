"""Inbound receipts and transfers between locations, through the HTTP API."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.inventory.models import InboundReceipt, StockMovement, Transfer
from tests.factories import LocationFactory, ProductFactory
from tests.inventory.helpers import assert_ledger_matches, level_of, on_hand

pytestmark = pytest.mark.django_db

RECEIPTS = "/api/v1/inventory/receipts"
TRANSFERS = "/api/v1/inventory/transfers"


def _events(subject_type, subject_id):
    return list(
        Event.objects.filter(subject_type=subject_type, subject_id=subject_id)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def _movements(reference):
    return list(
        StockMovement.objects.filter(reference=reference)
        .order_by("pk")
        .values_list("location_id_snapshot", "product_id_snapshot", "delta_on_hand", "reason")
    )


# --- receipts -----------------------------------------------------------------------------------


@pytest.fixture
def receipt(api, location):
    """A receipt at the default location expecting 10 mugs and 4 tees."""
    mug, tee = ProductFactory(sku="Mug-01"), ProductFactory(sku="TEE-01")
    response = api.post(
        RECEIPTS,
        {
            "location_id": location.pk,
            "supplier": "Acme",
            "reference": "PO-77",
            "expected_at": "2026-12-01",
            "lines": [{"sku": "mug-01", "quantity": 10}, {"sku": "TEE-01", "quantity": 4}],
        },
    )
    assert response.status_code == 201, response.content
    return {"out": response.json(), "mug": mug, "tee": tee}


def test_a_receipt_is_created_open_with_no_stock_yet(receipt, location):
    # then: the answer
    out = receipt["out"]
    assert out["status"] == "open"
    assert out["location_id"] == location.pk
    assert (out["supplier"], out["reference"], out["expected_at"]) == (
        "Acme",
        "PO-77",
        "2026-12-01",
    )
    assert out["lines"] == [
        {"sku": "Mug-01", "expected": 10, "received": 0},
        {"sku": "TEE-01", "expected": 4, "received": 0},
    ]
    # and the database: a receipt, no stock, one event
    assert InboundReceipt.objects.get(pk=out["id"]).status == "open"
    assert on_hand(receipt["mug"].pk, location.pk) == 0
    assert not StockMovement.objects.exists()
    assert _events("receipt", out["id"]) == ["receipt_created"]


def test_receiving_part_then_the_rest_closes_the_receipt(api, receipt, location):
    rid, mug, tee = receipt["out"]["id"], receipt["mug"], receipt["tee"]

    # when: part of the mugs arrive
    partial = api.post(f"{RECEIPTS}/{rid}/receive", {"lines": [{"sku": "MUG-01", "quantity": 6}]})

    # then
    assert partial.status_code == 200, partial.content
    assert partial.json()["status"] == "partially_received"
    assert partial.json()["lines"][0] == {"sku": "Mug-01", "expected": 10, "received": 6}
    assert on_hand(mug.pk, location.pk) == 6
    assert _movements(f"receipt:{rid}") == [(location.pk, mug.pk, 6, "received")]

    # when: the rest arrives
    rest = api.post(
        f"{RECEIPTS}/{rid}/receive",
        {"lines": [{"sku": "Mug-01", "quantity": 4}, {"sku": "TEE-01", "quantity": 4}]},
    )

    # then
    assert rest.status_code == 200, rest.content
    assert rest.json()["status"] == "received"
    assert InboundReceipt.objects.get(pk=rid).status == "received"
    assert (on_hand(mug.pk, location.pk), on_hand(tee.pk, location.pk)) == (10, 4)
    assert _movements(f"receipt:{rid}") == [
        (location.pk, mug.pk, 6, "received"),
        (location.pk, mug.pk, 4, "received"),
        (location.pk, tee.pk, 4, "received"),
    ]
    assert _events("receipt", rid) == ["receipt_created", "receipt_received", "receipt_received"]
    received = Event.objects.filter(subject_type="receipt", kind="receipt_received").last()
    assert received.data["status"] == "received"
    for product in (mug, tee):
        assert_ledger_matches(level_of(product.pk, location.pk))


def test_receiving_more_than_is_still_expected_is_refused_and_changes_nothing(
    api, receipt, location
):
    # given: 6 of 10 mugs already received
    rid, mug = receipt["out"]["id"], receipt["mug"]
    api.post(f"{RECEIPTS}/{rid}/receive", {"lines": [{"sku": "Mug-01", "quantity": 6}]})

    # when: 5 more mugs (only 4 expected) together with tees that would fit
    response = api.post(
        f"{RECEIPTS}/{rid}/receive",
        {"lines": [{"sku": "TEE-01", "quantity": 4}, {"sku": "Mug-01", "quantity": 5}]},
    )

    # then
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "over_receipt"
    assert "lines[1].quantity" in response.json()["fields"]
    assert (on_hand(mug.pk, location.pk), on_hand(receipt["tee"].pk, location.pk)) == (6, 0)
    assert InboundReceipt.objects.get(pk=rid).status == "partially_received"
    assert len(_movements(f"receipt:{rid}")) == 1
    assert _events("receipt", rid) == ["receipt_created", "receipt_received"]


def test_receiving_a_product_not_on_the_receipt_is_refused(api, receipt, location):
    stranger = ProductFactory(sku="CAP-01")
    rid = receipt["out"]["id"]

    response = api.post(f"{RECEIPTS}/{rid}/receive", {"lines": [{"sku": "CAP-01", "quantity": 1}]})

    assert response.status_code == 422
    assert "lines[0].sku" in response.json()["fields"]
    assert on_hand(stranger.pk, location.pk) == 0


@pytest.mark.parametrize("closed_by", ["received", "cancelled"])
def test_a_closed_receipt_cannot_be_received(api, receipt, location, closed_by):
    # given
    rid = receipt["out"]["id"]
    if closed_by == "received":
        api.post(
            f"{RECEIPTS}/{rid}/receive",
            {"lines": [{"sku": "Mug-01", "quantity": 10}, {"sku": "TEE-01", "quantity": 4}]},
        )
    else:
        assert api.post(f"{RECEIPTS}/{rid}/cancel").json()["status"] == "cancelled"
    rows_before = StockMovement.objects.count()
    events_before = _events("receipt", rid)

    # when
    response = api.post(f"{RECEIPTS}/{rid}/receive", {"lines": [{"sku": "Mug-01", "quantity": 1}]})

    # then
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "receipt_closed"
    assert InboundReceipt.objects.get(pk=rid).status == closed_by
    assert StockMovement.objects.count() == rows_before
    assert _events("receipt", rid) == events_before


def test_a_receipt_with_an_unknown_sku_is_not_created(api, location):
    response = api.post(
        RECEIPTS,
        {"location_id": location.pk, "lines": [{"sku": "NOPE", "quantity": 1}]},
    )

    assert response.status_code == 422
    assert "lines[0].sku" in response.json()["fields"]
    assert not InboundReceipt.objects.exists()


def test_a_receipt_at_an_unknown_location_is_not_created(api, location):
    product = ProductFactory()

    response = api.post(
        RECEIPTS, {"location_id": 999_999, "lines": [{"sku": product.sku, "quantity": 1}]}
    )

    assert response.status_code == 404
    assert not InboundReceipt.objects.exists()


def test_a_receipt_with_a_zero_quantity_line_is_not_created(api, location):
    product = ProductFactory()

    response = api.post(
        RECEIPTS, {"location_id": location.pk, "lines": [{"sku": product.sku, "quantity": 0}]}
    )

    assert response.status_code == 422
    assert "lines[0].quantity" in response.json()["fields"]
    assert not InboundReceipt.objects.exists()


# --- transfers ----------------------------------------------------------------------------------


@pytest.fixture
def two_places(location, stocked):
    """10 mugs at the default location, a second location with none."""
    other = LocationFactory()
    mug = stocked(sku="Mug-01", qty=10)
    return location, other, mug


def _send(api, origin, destination, quantity, sku="Mug-01"):
    return api.post(
        TRANSFERS,
        {
            "origin_id": origin.pk,
            "destination_id": destination.pk,
            "reference": "T-1",
            "lines": [{"sku": sku, "quantity": quantity}],
        },
    )


def test_stock_leaves_the_origin_when_a_transfer_is_created(api, two_places):
    origin, destination, mug = two_places

    response = _send(api, origin, destination, 4)

    assert response.status_code == 201, response.content
    out = response.json()
    assert out["status"] == "in_transit"
    assert out["lines"] == [{"sku": "Mug-01", "quantity": 4}]
    assert (on_hand(mug.pk, origin.pk), on_hand(mug.pk, destination.pk)) == (6, 0)
    assert _movements(f"transfer:{out['id']}") == [(origin.pk, mug.pk, -4, "transfer")]
    assert _events("transfer", out["id"]) == ["transfer_created"]
    assert_ledger_matches(level_of(mug.pk, origin.pk))


def test_stock_arrives_at_the_destination_when_the_transfer_is_received(api, two_places):
    # given
    origin, destination, mug = two_places
    tid = _send(api, origin, destination, 4).json()["id"]

    # when
    response = api.post(f"{TRANSFERS}/{tid}/receive")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "received"
    assert response.json()["received_at"] is not None
    transfer = Transfer.objects.get(pk=tid)
    assert transfer.status == "received"
    assert transfer.received_at is not None
    assert (on_hand(mug.pk, origin.pk), on_hand(mug.pk, destination.pk)) == (6, 4)
    assert _movements(f"transfer:{tid}") == [
        (origin.pk, mug.pk, -4, "transfer"),
        (destination.pk, mug.pk, 4, "transfer"),
    ]
    assert _events("transfer", tid) == ["transfer_created", "transfer_received"]
    for place in (origin, destination):
        assert_ledger_matches(level_of(mug.pk, place.pk))


def test_cancelling_a_transfer_returns_the_stock_to_the_origin(api, two_places):
    # given
    origin, destination, mug = two_places
    tid = _send(api, origin, destination, 4).json()["id"]

    # when
    response = api.post(f"{TRANSFERS}/{tid}/cancel")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert (on_hand(mug.pk, origin.pk), on_hand(mug.pk, destination.pk)) == (10, 0)
    assert _movements(f"transfer:{tid}") == [
        (origin.pk, mug.pk, -4, "transfer"),
        (origin.pk, mug.pk, 4, "transfer"),
    ]
    assert _events("transfer", tid) == ["transfer_created", "transfer_cancelled"]
    assert_ledger_matches(level_of(mug.pk, origin.pk))


@pytest.mark.parametrize(
    "first, then", [("receive", "receive"), ("receive", "cancel"), ("cancel", "receive")]
)
def test_a_closed_transfer_cannot_be_closed_again(api, two_places, first, then):
    origin, destination, mug = two_places
    tid = _send(api, origin, destination, 4).json()["id"]
    api.post(f"{TRANSFERS}/{tid}/{first}")
    rows_before = StockMovement.objects.count()

    response = api.post(f"{TRANSFERS}/{tid}/{then}")

    assert response.status_code == 409
    assert response.json()["code"] == "transfer_closed"
    assert StockMovement.objects.count() == rows_before
    expected = (6, 4) if first == "receive" else (10, 0)
    assert (on_hand(mug.pk, origin.pk), on_hand(mug.pk, destination.pk)) == expected


def test_transferring_more_than_is_available_is_refused_and_changes_nothing(api, two_places):
    # given
    origin, destination, mug = two_places
    rows_before = StockMovement.objects.count()

    # when
    response = _send(api, origin, destination, 11)

    # then
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "insufficient_stock"
    assert f"Mug-01@{origin.pk}" in response.json()["fields"]
    assert not Transfer.objects.exists()
    assert (on_hand(mug.pk, origin.pk), on_hand(mug.pk, destination.pk)) == (10, 0)
    assert StockMovement.objects.count() == rows_before
    assert not Event.objects.filter(subject_type="transfer").exists()


def test_a_transfer_to_the_same_location_is_refused(api, two_places):
    origin, _, mug = two_places

    response = _send(api, origin, origin, 1)

    assert response.status_code == 422
    assert "destination_id" in response.json()["fields"]
    assert not Transfer.objects.exists()
    assert on_hand(mug.pk, origin.pk) == 10
