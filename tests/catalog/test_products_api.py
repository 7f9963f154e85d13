"""Products through the HTTP API: create, read, change, list; who may write; what is refused."""

from __future__ import annotations

import pytest

from colis.catalog.models import Product
from colis.core.models import Event
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products"
CONTRACT_FIELDS = (
    "id",
    "sku",
    "title",
    "barcode",
    "weight_grams",
    "dimensions_mm",
    "hs_code",
    "country_of_origin",
    "active",
)


def _body(**extra):
    body = {
        "sku": "TEE-BLK-M",
        "title": "T-shirt, black, M",
        "barcode": "3760123456789",
        "weight_grams": 180,
        "dimensions_mm": {"length": 300, "width": 200, "height": 20},
        "hs_code": "6109.10",
        "country_of_origin": "PT",
    }
    body.update(extra)
    return body


def _events(product_id, kind):
    return list(Event.objects.filter(subject_type="product", subject_id=product_id, kind=kind))


# --- create -------------------------------------------------------------------------------------


def test_create_answers_201_with_the_contract_shape_and_records_an_event(api):
    # when
    response = api.post(URL, _body())

    # then: the answer has every contract field
    assert response.status_code == 201, response.content
    out = response.json()
    assert set(CONTRACT_FIELDS) <= set(out)
    assert out["sku"] == "TEE-BLK-M"
    assert out["title"] == "T-shirt, black, M"
    assert out["barcode"] == "3760123456789"
    assert out["weight_grams"] == 180
    assert out["dimensions_mm"] == {"length": 300, "width": 200, "height": 20}
    assert out["hs_code"] == "6109.10"
    assert out["country_of_origin"] == "PT"
    assert out["active"] is True

    # and the row is stored as answered
    product = Product.objects.get(pk=out["id"])
    assert (product.sku, product.sku_key) == ("TEE-BLK-M", "TEE-BLK-M")
    assert (product.length_mm, product.width_mm, product.height_mm) == (300, 200, 20)
    assert product.weight_grams == 180

    # and the timeline says who created it
    (event,) = _events(product.pk, "product_created")
    assert event.data == {"sku": "TEE-BLK-M"}
    assert event.actor_kind == "user"


def test_read_returns_what_create_answered(api):
    created = api.post(URL, _body()).json()

    response = api.get(f"{URL}/{created['id']}")

    assert response.status_code == 200
    read = response.json()
    for field in CONTRACT_FIELDS:
        assert read[field] == created[field], field


def test_minimal_product_has_empty_optional_fields(api):
    response = api.post(URL, {"sku": "MIN-1", "title": "Minimal"})

    assert response.status_code == 201, response.content
    out = response.json()
    assert out["barcode"] == ""
    assert out["weight_grams"] is None
    assert out["dimensions_mm"] == {"length": None, "width": None, "height": None}
    assert out["hs_code"] == ""
    assert out["country_of_origin"] == ""


def test_weight_in_another_unit_is_reported_in_grams(api):
    response = api.post(URL, _body(weight_grams=None, weight="1.5", weight_unit="kg"))

    assert response.status_code == 201, response.content
    assert response.json()["weight_grams"] == 1500


def test_sku_is_trimmed_and_keeps_its_case(api):
    response = api.post(URL, _body(sku="  tee-Blk-m \t"))

    assert response.status_code == 201, response.content
    assert response.json()["sku"] == "tee-Blk-m"
    product = Product.objects.get(pk=response.json()["id"])
    assert product.sku == "tee-Blk-m"
    assert product.sku_key == "TEE-BLK-M"


@pytest.mark.parametrize("other_spelling", ["tee-blk-m", "TEE-BLK-M", "  Tee-Blk-M  "])
def test_sku_is_unique_whatever_its_case(api, other_spelling):
    # given
    first = api.post(URL, _body(sku="Tee-Blk-M"))
    assert first.status_code == 201
    events_before = Event.objects.filter(subject_type="product").count()

    # when
    response = api.post(URL, _body(sku=other_spelling, title="Duplicate"))

    # then
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "sku_taken"
    assert "sku" in response.json()["fields"]
    assert Product.objects.count() == 1
    assert Product.objects.get().title == "T-shirt, black, M"
    assert Event.objects.filter(subject_type="product").count() == events_before


@pytest.mark.parametrize("sku", ["", "   ", "A\nB"])
def test_blank_or_multiline_sku_is_refused(api, sku):
    response = api.post(URL, _body(sku=sku))

    assert response.status_code == 422
    assert "sku" in response.json()["fields"]
    assert not Product.objects.exists()
    assert not Event.objects.filter(kind="product_created").exists()


def test_missing_title_is_refused_naming_the_field(api):
    response = api.post(URL, {"sku": "NO-TITLE"})

    assert response.status_code == 422
    assert "title" in response.json()["fields"]
    assert not Product.objects.exists()


@pytest.mark.parametrize("hs_code", ["ABC", "61", "61091", "6109.10.10.10.10", "6109-10"])
def test_bad_hs_code_is_refused_naming_the_field(api, hs_code):
    response = api.post(URL, _body(hs_code=hs_code))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_product"
    assert "hs_code" in body["fields"]
    assert not Product.objects.exists()
    assert not Event.objects.filter(subject_type="product").exists()


@pytest.mark.parametrize("hs_code", ["610910", "6109.10", "6109.10.00", "6109100010"])
def test_hs_codes_of_six_to_ten_digits_are_accepted(api, hs_code):
    response = api.post(URL, _body(hs_code=hs_code))

    assert response.status_code == 201, response.content
    assert response.json()["hs_code"] == hs_code


def test_four_digit_hs_code_is_refused(api):
    response = api.post(URL, _body(hs_code="6109"))

    assert response.status_code == 422
    assert "hs_code" in response.json()["fields"]


@pytest.mark.parametrize("country", ["XX", "ZZ", "1", "F"])
def test_unknown_country_of_origin_is_refused_naming_the_field(api, country):
    response = api.post(URL, _body(country_of_origin=country))

    assert response.status_code == 422, response.content
    assert "country_of_origin" in response.json()["fields"]
    assert not Product.objects.exists()


def test_country_longer_than_two_letters_is_refused_naming_the_field(api):
    response = api.post(URL, _body(country_of_origin="PRT"))

    assert response.status_code == 422
    assert "country_of_origin" in response.json()["fields"]


def test_country_of_origin_is_upper_cased(api):
    response = api.post(URL, _body(country_of_origin="pt"))

    assert response.status_code == 201
    assert response.json()["country_of_origin"] == "PT"


def test_negative_dimension_is_refused_naming_the_axis(api):
    response = api.post(URL, _body(dimensions_mm={"length": -1, "width": 1, "height": 1}))

    assert response.status_code == 422
    assert "dimensions_mm.length" in response.json()["fields"]
    assert not Product.objects.exists()


# --- update -------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields_and_records_them(api):
    # given
    created = api.post(URL, _body()).json()

    # when
    response = api.patch(
        f"{URL}/{created['id']}",
        {"title": "T-shirt, black, medium", "dimensions_mm": {"height": 25}, "active": False},
    )

    # then
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["title"] == "T-shirt, black, medium"
    assert out["dimensions_mm"] == {"length": 300, "width": 200, "height": 25}
    assert out["active"] is False
    assert out["sku"] == "TEE-BLK-M"
    assert out["hs_code"] == "6109.10"
    product = Product.objects.get(pk=created["id"])
    assert (product.title, product.height_mm, product.active) == (
        "T-shirt, black, medium",
        25,
        False,
    )
    (event,) = _events(product.pk, "product_updated")
    assert set(event.data) == {"title", "height_mm", "active"}


def test_patch_with_the_same_values_records_no_event(api):
    created = api.post(URL, _body()).json()

    response = api.patch(f"{URL}/{created['id']}", {"title": created["title"]})

    assert response.status_code == 200
    assert _events(created["id"], "product_updated") == []


def test_patch_to_another_products_sku_in_another_case_is_refused(api):
    # given
    ProductFactory(sku="MUG-01")
    created = api.post(URL, _body()).json()

    # when
    response = api.patch(f"{URL}/{created['id']}", {"sku": "mug-01"})

    # then
    assert response.status_code == 409
    assert response.json()["code"] == "sku_taken"
    assert Product.objects.get(pk=created["id"]).sku == "TEE-BLK-M"
    assert _events(created["id"], "product_updated") == []


def test_patch_may_change_the_case_of_its_own_sku(api):
    created = api.post(URL, _body()).json()

    response = api.patch(f"{URL}/{created['id']}", {"sku": "tee-blk-m"})

    assert response.status_code == 200, response.content
    assert Product.objects.get(pk=created["id"]).sku == "tee-blk-m"


def test_patch_with_a_bad_hs_code_changes_nothing(api):
    created = api.post(URL, _body()).json()

    response = api.patch(f"{URL}/{created['id']}", {"hs_code": "12", "title": "New"})

    assert response.status_code == 422
    assert "hs_code" in response.json()["fields"]
    product = Product.objects.get(pk=created["id"])
    assert (product.title, product.hs_code) == ("T-shirt, black, M", "6109.10")


def test_unknown_product_is_404_on_read_and_patch(api):
    missing = 999_999

    read = api.get(f"{URL}/{missing}")
    patch = api.patch(f"{URL}/{missing}", {"title": "Ghost"})

    assert read.status_code == 404
    assert read.json()["code"] == "product_not_found"
    assert patch.status_code == 404
    assert patch.json()["code"] == "product_not_found"
    assert not Event.objects.filter(subject_type="product").exists()


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_below_manager_cannot_create_products(make_api, role):
    client = make_api(role)

    response = client.post(URL, _body())

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_role"
    assert not Product.objects.exists()
    assert not Event.objects.filter(subject_type="product").exists()


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_below_manager_cannot_patch_products(make_api, role):
    product = ProductFactory(title="Before")

    response = make_api(role).patch(f"{URL}/{product.pk}", {"title": "After"})

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.title == "Before"


def test_manager_may_create_and_readonly_may_read(make_api):
    created = make_api("manager").post(URL, _body())
    assert created.status_code == 201

    read = make_api("readonly").get(f"{URL}/{created.json()['id']}")

    assert read.status_code == 200
    assert read.json()["sku"] == "TEE-BLK-M"


def test_no_token_is_401(anon):
    assert anon.get(URL).status_code == 401
    assert anon.post(URL, _body()).status_code == 401
    assert not Product.objects.exists()


# --- list ---------------------------------------------------------------------------------------


def test_list_walks_every_product_once_with_cursors(api):
    # given
    ids = [ProductFactory().pk for _ in range(7)]

    # when
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = api.get(URL, **params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # then
    assert seen == sorted(ids)
    assert pages == 3


def test_list_of_exactly_one_page_has_no_next_cursor(api):
    for _ in range(3):
        ProductFactory()

    page = api.get(URL, limit=3).json()

    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


def test_list_filters_by_sku_title_and_active(api):
    mug = ProductFactory(sku="Mug-01", title="Coffee mug")
    ProductFactory(sku="TEE-01", title="T-shirt", active=False)

    by_sku = api.get(URL, q="MUG-01").json()["items"]
    by_title = api.get(URL, q="coffee").json()["items"]
    inactive = api.get(URL, active="false").json()["items"]

    assert [p["id"] for p in by_sku] == [mug.pk]
    assert [p["id"] for p in by_title] == [mug.pk]
    assert [p["sku"] for p in inactive] == ["TEE-01"]


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 251}])
def test_list_refuses_bad_cursor_or_limit(api, params):
    response = api.get(URL, **params)

    assert response.status_code == 422
    assert set(response.json()["fields"]) & {"cursor", "limit"}
