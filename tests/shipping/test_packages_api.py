"""Package presets through the HTTP API."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.shipping.models import PackagePreset

pytestmark = pytest.mark.django_db

URL = "/api/v1/packages"


def _body(name="Small box", **extra):
    body = {"name": name, "length_mm": 300, "width_mm": 200, "height_mm": 100, "weight_grams": 150}
    body.update(extra)
    return body


def _create(api, name="Small box", **extra):
    response = api.post(URL, _body(name, **extra))
    assert response.status_code == 201, response.content
    return response.json()


def _defaults():
    return list(PackagePreset.objects.filter(is_default=True).values_list("name", flat=True))


def test_create_answers_the_shape_and_records_an_event(api):
    out = _create(api)

    assert out == {
        "id": out["id"],
        "name": "Small box",
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "weight_grams": 150,
        "is_default": False,
        "active": True,
    }
    (event,) = Event.objects.filter(subject_type="package_preset", kind="package_preset_created")
    assert event.subject_id == out["id"]
    assert api.get(f"{URL}/{out['id']}").json() == out


def test_a_new_default_takes_the_flag_from_the_old_one(api):
    small = _create(api, "Small box", is_default=True)

    big = _create(api, "Big box", is_default=True)

    assert big["is_default"] is True
    assert _defaults() == ["Big box"]
    assert api.get(f"{URL}/{small['id']}").json()["is_default"] is False


def test_patch_moves_the_default(api):
    small = _create(api, "Small box", is_default=True)
    big = _create(api, "Big box")

    response = api.patch(f"{URL}/{big['id']}", {"is_default": True})

    assert response.status_code == 200, response.content
    assert _defaults() == ["Big box"]
    assert PackagePreset.objects.get(pk=small["id"]).is_default is False
    event = Event.objects.filter(kind="package_preset_updated").get()
    assert event.data == {"fields": ["is_default"]}


def test_deactivating_the_default_leaves_no_default(api):
    small = _create(api, "Small box", is_default=True)

    response = api.patch(f"{URL}/{small['id']}", {"active": False})

    assert response.json()["is_default"] is False
    assert _defaults() == []


def test_an_inactive_preset_cannot_become_the_default(api):
    small = _create(api, "Small box", active=False)

    response = api.patch(f"{URL}/{small['id']}", {"is_default": True})

    assert response.status_code == 409
    assert response.json()["code"] == "package_preset_inactive"
    assert _defaults() == []


def test_the_database_holds_one_default_at_most(api):
    from django.db import IntegrityError, transaction

    _create(api, "Small box", is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        PackagePreset.objects.create(
            name="Rogue", length_mm=1, width_mm=1, height_mm=1, is_default=True
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(length_mm=0), "length_mm"),
        (_body(width_mm=10_001), "width_mm"),
        (_body(height_mm=-1), "height_mm"),
        (_body(weight_grams=1_000_001), "weight_grams"),
        (_body(name=" "), "name"),
    ],
)
def test_invalid_presets_are_refused_naming_the_field(api, body, field):
    response = api.post(URL, body)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_package_preset"
    assert set(response.json()["fields"]) == {field}
    assert not PackagePreset.objects.exists()


def test_a_missing_dimension_is_a_422_with_fields(api):
    response = api.post(URL, {"name": "Box", "length_mm": 1, "width_mm": 1})

    assert response.status_code == 422
    assert "height_mm" in response.json()["fields"]


def test_names_are_unique_ignoring_case(api):
    _create(api, "Small box")

    response = api.post(URL, _body("SMALL BOX"))

    assert response.status_code == 409
    assert response.json()["code"] == "package_preset_name_taken"


def test_list_filters_and_pages(api):
    ids = [_create(api, f"Box {i}", active=i != 2)["id"] for i in range(5)]

    first = api.get(URL, limit=2).json()
    rest = api.get(URL, limit=10, cursor=first["next_cursor"]).json()
    active = api.get(URL, active=True).json()

    assert [p["id"] for p in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    assert len(active["items"]) == 4


def test_unknown_presets_are_404(api):
    assert api.get(f"{URL}/999").json()["code"] == "package_preset_not_found"
    assert api.patch(f"{URL}/999", {"name": "X"}).status_code == 404


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_without_settings_write_cannot_write(api, make_api, role):
    box = _create(api)
    client = make_api(role)

    created = client.post(URL, _body("Other box"))
    updated = client.patch(f"{URL}/{box['id']}", {"is_default": True})

    assert (created.status_code, updated.status_code) == (403, 403)
    assert PackagePreset.objects.count() == 1
    assert _defaults() == []
    assert client.get(URL).status_code == 200
