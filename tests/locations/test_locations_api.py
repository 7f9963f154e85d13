"""Locations through the HTTP API: create, validate, prioritise, deactivate, delete."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.inventory.models import InventoryLevel
from colis.inventory.services import inventory_adjust
from colis.locations.models import Location
from tests.factories import ACTOR, ADDRESS_FR, ADDRESS_US, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/locations"


def _body(name="Main warehouse", **extra):
    body = {"name": name, "address": dict(ADDRESS_US), "phone": "+1 212-736-3100"}
    body.update(extra)
    return body


def _create(api, name, **extra):
    response = api.post(URL, _body(name, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def _events(location_id, kind):
    return list(Event.objects.filter(subject_type="location", subject_id=location_id, kind=kind))


def _priorities():
    return list(Location.objects.order_by("priority").values_list("pk", "priority"))


# --- create -------------------------------------------------------------------------------------


def test_create_answers_the_contract_shape_normalises_and_records_an_event(api):
    # when
    response = api.post(URL, _body(phone="(212) 736-3100"))

    # then
    assert response.status_code == 201, response.content
    out = response.json()
    assert {
        "id",
        "name",
        "address",
        "phone",
        "fulfills_online_orders",
        "active",
        "is_default",
        "priority",
        "allow_negative_stock",
    } <= set(out)
    assert out["name"] == "Main warehouse"
    assert out["phone"] == "+12127363100"
    assert out["address"]["postal_code"] == "10118"
    assert out["address"]["country"] == "US"
    assert out["address"]["phone"] == "+12127363100"
    assert (out["fulfills_online_orders"], out["active"], out["allow_negative_stock"]) == (
        True,
        True,
        False,
    )
    location = Location.objects.get(pk=out["id"])
    assert location.phone == "+12127363100"
    assert location.address["city"] == "New York"
    (event,) = _events(location.pk, "location_created")
    assert event.data == {"name": "Main warehouse"}
    assert event.actor_kind == "user"


def test_the_first_location_becomes_the_default(api):
    out = _create(api, "First")

    assert out["is_default"] is True
    assert out["priority"] == 1
    assert Location.objects.get(pk=out["id"]).is_default


def test_a_new_location_goes_to_the_bottom_and_is_not_default(api):
    first = _create(api, "First")
    second = _create(api, "Second")
    third = _create(api, "Third")

    assert (second["priority"], third["priority"]) == (2, 3)
    assert not second["is_default"] and not third["is_default"]
    assert list(Location.objects.filter(is_default=True).values_list("pk", flat=True)) == [
        first["id"]
    ]
    listed = api.get(URL).json()["items"]
    assert [loc["name"] for loc in listed] == ["First", "Second", "Third"]


def test_a_new_location_may_take_over_the_default(api):
    first = _create(api, "First")

    second = _create(api, "Second", is_default=True)

    assert second["is_default"] is True
    assert second["priority"] == 2
    assert not Location.objects.get(pk=first["id"]).is_default
    assert Location.objects.filter(is_default=True).count() == 1


def test_lowercase_country_is_accepted_and_upper_cased(api):
    out = _create(api, "Paris", address=dict(ADDRESS_FR, country="fr"), phone="")

    assert out["address"]["country"] == "FR"


def test_bad_us_postal_code_is_refused_naming_address_postal_code(api):
    response = api.post(URL, _body(address=dict(ADDRESS_US, postal_code="ABCDE")))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_address"
    assert "address.postal_code" in body["fields"]
    assert not Location.objects.exists()
    assert not Event.objects.filter(subject_type="location").exists()


@pytest.mark.parametrize("country", ["ZZ", "U1", "", "USA"])
def test_bad_country_is_refused_naming_address_country(api, country):
    response = api.post(URL, _body(address=dict(ADDRESS_US, country=country)))

    assert response.status_code == 422, response.content
    assert "address.country" in response.json()["fields"]
    assert not Location.objects.exists()


def test_a_us_address_without_city_is_refused_naming_address_city(api):
    response = api.post(URL, _body(address=dict(ADDRESS_US, city="")))

    assert response.status_code == 422
    assert "address.city" in response.json()["fields"]


def test_bad_location_phone_is_refused_naming_phone(api):
    response = api.post(URL, _body(phone="12"))

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_phone"
    assert "phone" in response.json()["fields"]
    assert not Location.objects.exists()


def test_bad_address_phone_is_refused_naming_address_phone(api):
    response = api.post(URL, _body(address=dict(ADDRESS_US, phone="+1 000")))

    assert response.status_code == 422, response.content
    assert "address.phone" in response.json()["fields"]
    assert not Location.objects.exists()


def test_blank_name_is_refused(api):
    response = api.post(URL, _body(name="   "))

    assert response.status_code == 422
    assert "name" in response.json()["fields"]
    assert not Location.objects.exists()


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_below_manager_cannot_create_locations(make_api, role):
    response = make_api(role).post(URL, _body())

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_role"
    assert not Location.objects.exists()


# --- priority -----------------------------------------------------------------------------------


def test_priority_list_reorders_every_location(api):
    # given
    a, b, c = (_create(api, name)["id"] for name in ("A", "B", "C"))

    # when
    response = api.post(f"{URL}/priority", {"location_ids": [c, a, b]})

    # then
    assert response.status_code == 200, response.content
    assert [loc["id"] for loc in response.json()["items"]] == [c, a, b]
    assert _priorities() == [(c, 1), (a, 2), (b, 3)]
    assert [loc["id"] for loc in api.get(URL).json()["items"]] == [c, a, b]
    (event,) = Event.objects.filter(kind="location_priorities_set")
    assert event.data == {"location_ids": [c, a, b]}


def test_the_default_keeps_its_flag_when_reordered(api):
    a, b = (_create(api, name)["id"] for name in ("A", "B"))

    api.post(f"{URL}/priority", {"location_ids": [b, a]})

    assert Location.objects.get(pk=a).is_default
    assert Location.objects.get(pk=a).priority == 2


@pytest.mark.parametrize(
    "shape",
    ["missing", "unknown", "duplicate", "empty"],
)
def test_a_priority_list_that_is_not_every_location_once_is_refused(api, shape):
    # given
    a, b, c = (_create(api, name)["id"] for name in ("A", "B", "C"))
    before = _priorities()
    ids = {
        "missing": [c, a],
        "unknown": [c, a, b, 999_999],
        "duplicate": [c, a, b, a],
        "empty": [],
    }[shape]

    # when
    response = api.post(f"{URL}/priority", {"location_ids": ids})

    # then
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_priority"
    assert "location_ids" in response.json()["fields"]
    assert _priorities() == before
    assert not Event.objects.filter(kind="location_priorities_set").exists()


def test_priority_error_names_the_missing_and_unknown_ids(api):
    a, b = (_create(api, name)["id"] for name in ("A", "B"))

    response = api.post(f"{URL}/priority", {"location_ids": [a, 999_999]})

    assert response.json()["fields"]["location_ids"] == {"unknown": [999_999], "missing": [b]}


# --- update and deactivate ----------------------------------------------------------------------


def test_patch_changes_the_given_fields_and_records_them(api):
    _create(api, "Main")
    other = _create(api, "Overflow")

    response = api.patch(
        f"{URL}/{other['id']}", {"name": "Overflow 2", "fulfills_online_orders": False}
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Overflow 2"
    location = Location.objects.get(pk=other["id"])
    assert (location.name, location.fulfills_online_orders) == ("Overflow 2", False)
    (event,) = _events(location.pk, "location_updated")
    assert event.data == {"fields": ["fulfills_online_orders", "name"]}


def test_patch_with_a_bad_postal_code_changes_nothing(api):
    out = _create(api, "Main")

    response = api.patch(
        f"{URL}/{out['id']}", {"name": "Renamed", "address": dict(ADDRESS_US, postal_code="1")}
    )

    assert response.status_code == 422
    assert "address.postal_code" in response.json()["fields"]
    assert Location.objects.get(pk=out["id"]).name == "Main"
    assert _events(out["id"], "location_updated") == []


def test_a_location_is_deactivated_with_active_false(api):
    _create(api, "Main")
    other = _create(api, "Overflow")

    response = api.patch(f"{URL}/{other['id']}", {"active": False})

    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert not Location.objects.get(pk=other["id"]).active
    (event,) = _events(other["id"], "location_updated")
    assert event.data == {"fields": ["active"]}
    active = api.get(URL, active="true").json()["items"]
    assert other["id"] not in [loc["id"] for loc in active]


def test_the_default_location_cannot_be_deactivated(api):
    default = _create(api, "Main")

    response = api.patch(f"{URL}/{default['id']}", {"active": False})

    assert response.status_code == 409
    assert response.json()["code"] == "default_location_inactive"
    assert Location.objects.get(pk=default["id"]).active
    assert _events(default["id"], "location_updated") == []


def test_the_default_moves_when_another_location_is_made_default(api):
    first = _create(api, "Main")
    second = _create(api, "Overflow")

    response = api.patch(f"{URL}/{second['id']}", {"is_default": True})

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert list(Location.objects.filter(is_default=True).values_list("pk", flat=True)) == [
        second["id"]
    ]
    assert not Location.objects.get(pk=first["id"]).is_default


def test_an_inactive_location_cannot_become_the_default(api):
    first = _create(api, "Main")
    second = _create(api, "Overflow", active=False)

    response = api.patch(f"{URL}/{second['id']}", {"is_default": True})

    assert response.status_code == 409
    assert Location.objects.get(pk=first["id"]).is_default
    assert not Location.objects.get(pk=second["id"]).is_default


def test_the_default_flag_cannot_simply_be_removed(api):
    default = _create(api, "Main")
    _create(api, "Overflow")

    response = api.patch(f"{URL}/{default['id']}", {"is_default": False})

    assert response.status_code == 409
    assert response.json()["code"] == "default_location_required"
    assert Location.objects.get(pk=default["id"]).is_default


def test_a_new_inactive_location_cannot_take_over_the_default(api):
    first = _create(api, "Main")

    response = api.post(URL, _body("Closed", active=False, is_default=True))

    assert response.status_code == 409
    assert Location.objects.get(pk=first["id"]).is_default
    assert not Location.objects.filter(name="Closed").exists()
    created = Event.objects.filter(subject_type="location", kind="location_created")
    assert list(created.values_list("subject_id", flat=True)) == [first["id"]]


def test_list_walks_locations_by_priority_with_cursors(api):
    ids = [_create(api, f"L{i}")["id"] for i in range(5)]
    api.post(f"{URL}/priority", {"location_ids": list(reversed(ids))})

    seen, cursor = [], None
    while True:
        page = api.get(URL, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [loc["id"] for loc in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))


def test_unknown_location_is_404(api):
    assert api.get(f"{URL}/999999").status_code == 404
    assert api.patch(f"{URL}/999999", {"name": "x"}).status_code == 404
    assert api.delete(f"{URL}/999999").status_code == 404


# --- delete -------------------------------------------------------------------------------------


def test_an_empty_location_is_deleted_and_priorities_close_up(api):
    # given
    a, b, c = (_create(api, name)["id"] for name in ("A", "B", "C"))

    # when
    response = api.delete(f"{URL}/{b}")

    # then
    assert response.status_code == 204, response.content
    assert not Location.objects.filter(pk=b).exists()
    assert _priorities() == [(a, 1), (c, 2)]
    (event,) = _events(b, "location_deleted")
    assert event.data == {"name": "B"}


def test_the_default_location_cannot_be_deleted(api):
    default = _create(api, "Main")

    response = api.delete(f"{URL}/{default['id']}")

    assert response.status_code == 409
    assert response.json()["code"] == "location_is_default"
    assert Location.objects.filter(pk=default["id"]).exists()
    assert _events(default["id"], "location_deleted") == []


def test_a_location_holding_stock_cannot_be_deleted(api):
    # given
    _create(api, "Main")
    other = _create(api, "Overflow")
    product = ProductFactory()
    inventory_adjust(
        product_id=product.pk, location_id=other["id"], reason="received", delta=3, actor=ACTOR
    )

    # when
    response = api.delete(f"{URL}/{other['id']}")

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "location_in_use"
    assert "stock" in response.json()["fields"]
    assert Location.objects.filter(pk=other["id"]).exists()
    assert InventoryLevel.objects.get(location_id=other["id"]).on_hand == 3
    assert _events(other["id"], "location_deleted") == []


def test_a_location_with_an_open_inbound_receipt_cannot_be_deleted(api):
    _create(api, "Main")
    other = _create(api, "Overflow")
    product = ProductFactory()
    receipt = api.post(
        "/api/v1/inventory/receipts",
        {"location_id": other["id"], "lines": [{"sku": product.sku, "quantity": 5}]},
    )
    assert receipt.status_code == 201, receipt.content

    response = api.delete(f"{URL}/{other['id']}")

    assert response.status_code == 409
    assert response.json()["code"] == "location_in_use"
    assert "receipts" in response.json()["fields"]
    assert Location.objects.filter(pk=other["id"]).exists()


@pytest.mark.parametrize("end", ["origin", "destination"])
def test_a_location_with_a_transfer_in_transit_cannot_be_deleted(api, end):
    # given: stock in transit from one non-default location to another
    _create(api, "Main")
    origin = _create(api, "Origin")["id"]
    destination = _create(api, "Destination")["id"]
    product = ProductFactory()
    inventory_adjust(
        product_id=product.pk, location_id=origin, reason="received", delta=4, actor=ACTOR
    )
    transfer = api.post(
        "/api/v1/inventory/transfers",
        {
            "origin_id": origin,
            "destination_id": destination,
            "lines": [{"sku": product.sku, "quantity": 4}],
        },
    )
    assert transfer.status_code == 201, transfer.content
    target = origin if end == "origin" else destination

    # when: neither end holds stock now, yet the transfer is open
    response = api.delete(f"{URL}/{target}")

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "location_in_use"
    assert "transfers" in response.json()["fields"]
    assert Location.objects.filter(pk=target).exists()


@pytest.mark.parametrize("history", ["stock_came_and_went", "receipt_cancelled"])
def test_a_location_with_only_history_is_answered_cleanly_not_with_a_500(api, history):
    # given: nothing is held or expected at the location now, but it has a past
    _create(api, "Main")
    other = _create(api, "Overflow")
    product = ProductFactory()
    if history == "stock_came_and_went":
        for delta in (5, -5):
            inventory_adjust(
                product_id=product.pk,
                location_id=other["id"],
                reason="correction",
                delta=delta,
                actor=ACTOR,
            )
    else:
        receipt = api.post(
            "/api/v1/inventory/receipts",
            {"location_id": other["id"], "lines": [{"sku": product.sku, "quantity": 5}]},
        ).json()
        assert api.post(f"/api/v1/inventory/receipts/{receipt['id']}/cancel").status_code == 200

    # when
    response = api.delete(f"{URL}/{other['id']}")

    # then: a clear answer, either deleted or a 409 telling to deactivate it instead
    assert response.status_code in (204, 409), response.status_code
