"""The carrier registry through the HTTP API."""

from __future__ import annotations

import pytest

from colis.core.models import Event
from colis.shipping.models import Carrier

pytestmark = pytest.mark.django_db

URL = "/api/v1/carriers"
SHAPE = {"code", "name", "tracking_url_template", "channel_codes", "active", "has_formats"}


def _body(**extra):
    body = {
        "code": "evri",
        "name": "Evri",
        "tracking_url_template": "https://www.evri.com/track/parcel/{number}",
        "channel_codes": {"shopify": "Evri"},
    }
    body.update(extra)
    return body


def test_the_list_holds_the_seeded_carriers_other_last(api):
    response = api.get(URL, limit=250)

    assert response.status_code == 200, response.content
    items = response.json()["items"]
    assert set(items[0]) >= SHAPE
    codes = [c["code"] for c in items]
    assert codes[-1] == "other"
    assert {"ups", "usps", "fedex", "dhl_express", "colissimo", "canada_post"} <= set(codes)
    ups = next(c for c in items if c["code"] == "ups")
    assert ups["has_formats"] is True
    assert ups["channel_codes"]["bigcommerce"] == "ups"
    assert next(c for c in items if c["code"] == "colissimo")["has_formats"] is False


def test_the_list_pages_with_a_cursor(api):
    first = api.get(URL, limit=5).json()
    second = api.get(URL, limit=5, cursor=first["next_cursor"]).json()

    assert len(first["items"]) == 5 and first["next_cursor"]
    assert not {c["code"] for c in first["items"]} & {c["code"] for c in second["items"]}


def test_read_by_code(api):
    response = api.get(f"{URL}/UPS")

    assert response.status_code == 200
    assert response.json()["code"] == "ups"
    assert api.get(f"{URL}/nope").json()["code"] == "carrier_not_found"


def test_create_answers_the_shape_and_records_an_event(api):
    response = api.post(URL, _body(code="Evri"))

    assert response.status_code == 201, response.content
    out = response.json()
    assert out["code"] == "evri"
    assert out["has_formats"] is False
    carrier = Carrier.objects.get(code="evri")
    assert carrier.channel_codes == {"shopify": "Evri"}
    (event,) = Event.objects.filter(subject_type="carrier", kind="carrier_created")
    assert event.subject_id == carrier.pk


def test_a_carrier_may_claim_formats_of_the_data(api):
    response = api.post(URL, _body(code="yodel", name="Yodel", data_courier_codes=["yodel"]))

    assert response.status_code == 201, response.content
    assert response.json()["has_formats"] is True
    detect = api.get(f"{URL}/detect", number="JJD0002257639032011").json()
    assert detect["carrier"] == "yodel"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(code="bad code!"), "code"),
        (_body(name="  "), "name"),
        (_body(tracking_url_template="https://t.example/"), "tracking_url_template"),
        (_body(tracking_url_template="ftp://t.example/{number}"), "tracking_url_template"),
        (_body(data_courier_codes=["pigeon"]), "data_courier_codes"),
        (_body(channel_codes={"etsy": "X"}), "channel_codes.etsy"),
    ],
)
def test_invalid_carriers_are_refused_naming_the_field(api, body, field):
    response = api.post(URL, body)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_carrier"
    assert set(response.json()["fields"]) == {field}
    assert not Carrier.objects.filter(code=body["code"].lower()).exists()


def test_a_schema_violation_is_a_422_with_fields(api):
    response = api.post(URL, {"code": "x" * 51, "name": "X"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "code" in response.json()["fields"]


@pytest.mark.parametrize(
    ("body", "code"),
    [(_body(code="ups"), "carrier_code_taken"), (_body(name="fedex"), "carrier_name_taken")],
)
def test_taken_codes_and_names_conflict(api, body, code):
    response = api.post(URL, body)

    assert response.status_code == 409
    assert response.json()["code"] == code


def test_update_changes_fields_and_records_which(api):
    response = api.patch(
        f"{URL}/gls", {"name": "GLS Group", "channel_codes": {"shopify": "GLS", "ebay": "GLS"}}
    )

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "GLS Group"
    assert Carrier.objects.get(code="gls").channel_codes == {"shopify": "GLS", "ebay": "GLS"}
    (event,) = Event.objects.filter(subject_type="carrier", kind="carrier_updated")
    assert event.data == {"code": "gls", "fields": ["channel_codes", "name"]}


def test_the_code_cannot_change(api):
    response = api.patch(f"{URL}/gls", {"code": "gls2"})

    assert response.status_code == 422
    assert response.json()["code"] == "carrier_code_immutable"
    assert response.json()["fields"] == {"code": "Cannot change."}
    assert Carrier.objects.filter(code="gls").exists()


def test_other_cannot_be_deactivated_but_others_can(api):
    refused = api.patch(f"{URL}/other", {"active": False})
    done = api.patch(f"{URL}/dpd", {"active": False})

    assert refused.status_code == 409
    assert refused.json()["code"] == "carrier_other_required"
    assert Carrier.objects.get(code="other").active
    assert done.status_code == 200 and done.json()["active"] is False
    assert [c["code"] for c in api.get(URL, active=False).json()["items"]] == ["dpd"]


def test_update_of_an_unknown_carrier_is_404(api):
    assert api.patch(f"{URL}/nope", {"name": "X"}).status_code == 404


@pytest.mark.parametrize("role", ["readonly", "staff"])
def test_roles_without_settings_write_cannot_write(make_api, role):
    client = make_api(role)

    created = client.post(URL, _body())
    updated = client.patch(f"{URL}/ups", {"name": "Brown"})

    assert (created.status_code, updated.status_code) == (403, 403)
    assert created.json()["code"] == "forbidden_role"
    assert not Carrier.objects.filter(code="evri").exists()
    assert Carrier.objects.get(code="ups").name == "UPS"
    assert client.get(URL).status_code == 200


def test_the_list_needs_a_token(anon):
    assert anon.get(URL).status_code == 401


def test_the_list_costs_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = api.get(URL, limit=250)

    assert len(response.json()["items"]) >= 16


# --- detect -------------------------------------------------------------------------------------


def test_detect_names_the_carrier_and_its_tracking_url(api):
    response = api.get(f"{URL}/detect", number="1Z410E7W0392751591")

    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["carrier"], out["valid"]) == ("ups", True)
    assert out["tracking_url"] == "https://www.ups.com/track?tracknum=1Z410E7W0392751591"


def test_detect_a_number_no_format_fits(api):
    out = api.get(f"{URL}/detect", number="1Z5R89390357567128").json()

    assert (out["carrier"], out["valid"], out["tracking_url"]) == (None, False, None)


def test_detect_against_a_given_carrier(api):
    good = api.get(f"{URL}/detect", number="1Z5R89390357567127", carrier="UPS").json()
    bad = api.get(f"{URL}/detect", number="1Z5R89390357567127", carrier="fedex").json()
    free = api.get(f"{URL}/detect", number="6A12345678901", carrier="colissimo").json()

    assert (good["carrier"], good["valid"]) == ("ups", True)
    assert (bad["carrier"], bad["valid"]) == ("fedex", False)
    assert (free["valid"], free["tracking_url"]) == (
        True,
        "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
    )


def test_detect_a_number_that_fits_two_carriers_names_neither(api):
    out = api.get(f"{URL}/detect", number="287809468872").json()

    assert out["carrier"] is None
    assert out["valid"] is True
    assert set(out["candidates"]) == {"fedex", "purolator"}


def test_detect_without_data_says_valid_and_detects_nothing(api, settings, tmp_path):
    settings.COLIS_TRACKING_DATA_DIR = str(tmp_path)

    out = api.get(f"{URL}/detect", number="1Z5R89390357567127").json()

    assert (out["carrier"], out["valid"]) == (None, True)
    assert api.get(f"{URL}/ups").json()["has_formats"] is False


@pytest.mark.parametrize("number", ["", "   ", "X" * 101])
def test_detect_refuses_a_blank_or_long_number(api, number):
    response = api.get(f"{URL}/detect", number=number)

    assert response.status_code == 422
    assert "number" in response.json()["fields"]


def test_detect_against_an_unknown_carrier_is_404(api):
    response = api.get(f"{URL}/detect", number="1Z5R89390357567127", carrier="pigeon")

    assert response.status_code == 404
    assert response.json()["code"] == "carrier_not_found"
