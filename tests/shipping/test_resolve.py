"""What the fulfillment engine gets from shipping: carrier + checked tracking, and packages."""

from __future__ import annotations

import pytest

from colis.core.errors import NotFound, ValidationError
from colis.shipping.models import Carrier, PackagePreset
from colis.shipping.services import (
    CarrierData,
    PackageData,
    carrier_update,
    package_create,
    package_resolve,
    tracking_resolve,
)
from colis.shipping.tracking import tracking_check
from tests.factories import ACTOR

pytestmark = pytest.mark.django_db

UPS_OK = "1Z5R89390357567127"
UPS_OK_2 = "1Z879E930346834440"
UPS_BAD = "1Z5R89390357567128"


def _resolve(**kwargs):
    kwargs.setdefault("carrier", None)
    kwargs.setdefault("numbers", [])
    kwargs.setdefault("urls", None)
    kwargs.setdefault("force", False)
    return tracking_resolve(**kwargs)


def _refused(code, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _resolve(**kwargs)
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


# --- tracking_check -----------------------------------------------------------------------------


def test_tracking_check_against_the_registry():
    assert tracking_check(UPS_OK, "ups") is True
    assert tracking_check(UPS_BAD, "ups") is False
    assert tracking_check(UPS_OK, "fedex") is False
    assert tracking_check("6A12345678901", "colissimo") is None
    assert tracking_check("whatever", "other") is None
    assert tracking_check("420 22153 9101026837331000039521", "usps") is True
    assert tracking_check("RB123456785US", "usps") is True  # S10, issued in the US
    assert tracking_check("RB123456785GB", "usps") is False
    assert tracking_check("3318810025", "dhl_express") is True
    assert tracking_check("3318810025", "dhl_ecommerce") is False
    assert tracking_check("GM2951173225174494", "dhl_ecommerce") is True
    assert tracking_check("TBA000000000000", "amazon_logistics") is True
    assert tracking_check("0073938000549297", "canada_post") is True
    with pytest.raises(NotFound):
        tracking_check(UPS_OK, "nope")


# --- carrier ------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["ups", "UPS", " ups ", "Ups"])
def test_carrier_by_code_or_name_in_any_case(given):
    out = _resolve(carrier=given, numbers=[UPS_OK])

    assert (out.carrier_code, out.carrier_name) == ("ups", "UPS")


def test_carrier_by_display_name():
    out = _resolve(carrier="la poste / COLISSIMO", numbers=["6A12345678901"])

    assert out.carrier_code == "colissimo"
    assert out.carrier_name == "La Poste / Colissimo"
    assert out.urls == ("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",)


def test_unknown_carrier_is_refused_naming_carrier():
    error = _refused("unknown_carrier", carrier="Pigeon Post", numbers=[UPS_OK])

    assert set(error.fields) == {"carrier"}


def test_an_inactive_carrier_is_refused():
    carrier_update(code="gls", data=CarrierData(active=False), actor=ACTOR)

    error = _refused("inactive_carrier", carrier="gls", numbers=["123"])

    assert set(error.fields) == {"carrier"}


def test_carrier_is_detected_from_the_first_number():
    out = _resolve(numbers=["1z5r 8939 0357 5671 27", UPS_OK_2])

    assert out.carrier_code == "ups"
    assert out.numbers == (UPS_OK, UPS_OK_2)
    assert out.urls == tuple(f"https://www.ups.com/track?tracknum={n}" for n in out.numbers)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("1Z410E7W0392751591", "ups"),
        ("9400111206206406260787", "usps"),
        ("986578788855", "fedex"),
        ("3318810025", "dhl_express"),
        ("GM2951173225174494", "dhl_ecommerce"),
        ("TBA010000000000", "amazon_logistics"),
        ("0073938000549297", "canada_post"),
        ("C11031500001879", "ontrac"),
        ("LX17635036", "ontrac"),
        ("RB123456785US", "usps"),
    ],
)
def test_detection_maps_the_data_courier_to_our_carrier(number, code):
    assert _resolve(numbers=[number]).carrier_code == code


def test_without_a_carrier_an_undetectable_number_is_refused():
    error = _refused("carrier_required", numbers=["6A12345678901"])

    assert set(error.fields) == {"carrier"}


def test_without_a_carrier_or_a_number_a_carrier_is_required():
    _refused("carrier_required", numbers=[])


def test_a_number_that_fits_two_carriers_is_not_guessed():
    # a 12-digit Purolator number is also a valid FedEx Express number
    error = _refused("carrier_required", numbers=["287809468872"])

    assert "fedex" in error.fields["carrier"] and "purolator" in error.fields["carrier"]
    assert _resolve(carrier="purolator", numbers=["287809468872"]).carrier_code == "purolator"


def test_detection_ignores_inactive_carriers():
    carrier_update(code="ups", data=CarrierData(active=False), actor=ACTOR)

    _refused("carrier_required", numbers=[UPS_OK])


def test_other_takes_the_free_carrier_name_and_any_number():
    out = _resolve(carrier="other", carrier_name=" Pigeon Post ", numbers=["abc 123"])

    assert (out.carrier_code, out.carrier_name, out.numbers, out.urls) == (
        "other",
        "Pigeon Post",
        ("ABC123",),
        (),
    )
    assert _resolve(carrier="other", numbers=["X1"]).carrier_name == "Other"


def test_the_free_name_is_kept_only_for_other():
    assert _resolve(carrier="ups", carrier_name="Brown", numbers=[UPS_OK]).carrier_name == "UPS"


# --- numbers ------------------------------------------------------------------------------------


def test_a_bad_check_digit_is_refused_naming_the_number():
    error = _refused("invalid_tracking_number", carrier="ups", numbers=[UPS_OK, UPS_BAD])

    assert error.fields == {
        "tracking_numbers[1]": (
            f"{UPS_BAD} does not look like a UPS tracking number (format or check digit)."
        )
    }


def test_force_keeps_a_number_that_does_not_fit():
    out = _resolve(carrier="ups", numbers=[UPS_BAD], force=True)

    assert out.numbers == (UPS_BAD,)
    assert out.urls == (f"https://www.ups.com/track?tracknum={UPS_BAD}",)


def test_a_number_of_another_carrier_is_refused():
    _refused("invalid_tracking_number", carrier="fedex", numbers=[UPS_OK])


def test_no_numbers_is_a_shipment_without_tracking_yet():
    out = _resolve(carrier="ups", numbers=[])

    assert (out.numbers, out.urls) == ((), ())


@pytest.mark.parametrize(
    ("numbers", "field"),
    [
        (["   "], "tracking_numbers[0]"),
        ([UPS_OK, "X" * 101], "tracking_numbers[1]"),
        ([UPS_OK, UPS_OK.lower()], "tracking_numbers[1]"),
        ([f"{UPS_OK}\x00"], "tracking_numbers[0]"),
        ([f"N{i}" for i in range(21)], "tracking_numbers"),
    ],
)
def test_malformed_numbers_are_refused_even_with_force(numbers, field):
    with pytest.raises(ValidationError) as caught:
        _resolve(carrier="other", numbers=numbers, force=True)

    assert caught.value.code == "invalid_tracking_number"
    assert set(caught.value.fields) == {field}


def test_twenty_numbers_are_fine():
    out = _resolve(carrier="other", numbers=[f"N{i}" for i in range(20)])

    assert len(out.numbers) == 20


# --- URLs ---------------------------------------------------------------------------------------


def test_given_urls_are_kept_and_the_missing_ones_built():
    out = _resolve(carrier="ups", numbers=[UPS_OK, UPS_OK_2], urls=["https://t.example/1"])

    assert out.urls == ("https://t.example/1", f"https://www.ups.com/track?tracknum={UPS_OK_2}")


def test_urls_fall_back_to_the_data_when_the_template_is_blank():
    carrier_update(code="ups", data=CarrierData(tracking_url_template=""), actor=ACTOR)

    out = _resolve(carrier="ups", numbers=[UPS_OK])

    assert out.urls == (f"https://wwwapps.ups.com/WebTracking/track?track=yes&trackNums={UPS_OK}",)


def test_other_keeps_given_urls_only():
    out = _resolve(carrier="other", numbers=["A1", "B2"], urls=["http://t.example/a1"])

    assert out.urls == ("http://t.example/a1",)


@pytest.mark.parametrize(
    ("urls", "field"),
    [
        (["ftp://t.example/1"], "tracking_urls[0]"),
        (["https://t.example/1", "not a url"], "tracking_urls[1]"),
        (["javascript:alert(1)"], "tracking_urls[0]"),
        (["https://t.example/" + "x" * 2000], "tracking_urls[0]"),
        (["https://a.example", "https://b.example", "https://c.example"], "tracking_urls"),
    ],
)
def test_bad_urls_are_refused(urls, field):
    error = _refused("invalid_tracking_url", carrier="ups", numbers=[UPS_OK, UPS_OK_2], urls=urls)

    assert set(error.fields) == {field}


# --- packages -----------------------------------------------------------------------------------


def _preset(name="Small box", default=False, **dims):
    values = {"length_mm": 300, "width_mm": 200, "height_mm": 100, "weight_grams": 150}
    values.update(dims)
    return package_create(data=PackageData(name=name, is_default=default, **values), actor=ACTOR)


def _package(**kwargs):
    kwargs.setdefault("preset", None)
    return package_resolve(**kwargs)


def test_a_preset_by_name_or_id():
    preset = _preset()
    expected = {
        "preset": "Small box",
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "weight_grams": 150,
    }

    assert _package(preset="small BOX") == expected
    assert _package(preset=str(preset.pk)) == expected


def test_an_explicit_weight_overrides_the_preset_weight():
    _preset()

    out = _package(preset="Small box", weight_grams=1250)

    assert out["weight_grams"] == 1250
    assert out["length_mm"] == 300


def test_nothing_given_takes_the_default_preset():
    _preset("Small box")
    _preset("Big box", default=True, length_mm=600)

    assert _package()["preset"] == "Big box"
    assert _package(weight_grams=900) == {
        "preset": "Big box",
        "length_mm": 600,
        "width_mm": 200,
        "height_mm": 100,
        "weight_grams": 900,
    }


def test_nothing_given_and_no_default_is_no_package():
    _preset()

    assert _package() == {}
    assert _package(weight_grams=400) == {"preset": None, "weight_grams": 400}


def test_explicit_dimensions_without_a_preset():
    _preset(default=True)

    out = _package(length_mm=10, width_mm=20, height_mm=30, weight_grams=40)

    assert out == {
        "preset": None,
        "length_mm": 10,
        "width_mm": 20,
        "height_mm": 30,
        "weight_grams": 40,
    }


def test_some_dimensions_without_a_preset_are_refused():
    with pytest.raises(ValidationError) as caught:
        _package(length_mm=10)

    assert caught.value.code == "invalid_package"
    assert set(caught.value.fields) == {"package.width_mm", "package.height_mm"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"length_mm": 0, "width_mm": 1, "height_mm": 1}, "package.length_mm"),
        ({"length_mm": 1, "width_mm": -5, "height_mm": 1}, "package.width_mm"),
        ({"length_mm": 1, "width_mm": 1, "height_mm": 10_001}, "package.height_mm"),
        ({"length_mm": 1, "width_mm": 1, "height_mm": 1, "weight_grams": 1_000_001}, None),
        ({"preset": "Small box", "weight_grams": -1}, "package.weight_grams"),
        ({"length_mm": 1.5, "width_mm": 1, "height_mm": 1}, "package.length_mm"),
    ],
)
def test_out_of_range_packages_are_refused(kwargs, field):
    _preset()

    with pytest.raises(ValidationError) as caught:
        _package(**kwargs)

    assert caught.value.code == "invalid_package"
    assert set(caught.value.fields) == {field or "package.weight_grams"}


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValidationError) as caught:
        _package(preset="Crate")

    assert caught.value.code == "unknown_package_preset"
    assert set(caught.value.fields) == {"package.preset"}


def test_an_inactive_preset_is_refused():
    preset = _preset()
    PackagePreset.objects.filter(pk=preset.pk).update(active=False)

    with pytest.raises(ValidationError) as caught:
        _package(preset="Small box")

    assert caught.value.code == "package_preset_inactive"
    assert set(caught.value.fields) == {"package.preset"}


def test_resolve_reads_the_registry_once_per_call(django_assert_max_num_queries):
    Carrier.objects.get(code="ups")

    with django_assert_max_num_queries(2):
        _resolve(carrier="ups", numbers=[UPS_OK, UPS_OK_2])


def test_a_blank_url_is_built_and_the_given_one_after_it_kept(db):
    resolved = tracking_resolve(
        carrier="ups",
        numbers=["1Z5R89390357567127", "1Z879E930346834440"],
        urls=["", "https://example.com/track/2"],
        force=False,
    )
    assert "1Z5R89390357567127" in resolved.urls[0]
    assert resolved.urls[1] == "https://example.com/track/2"
