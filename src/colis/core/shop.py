"""The shop's own settings (one row): name, language, currency, routing strategy, email
sender."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from colis.core.actor import Actor
from colis.core.cache import Snapshot
from colis.core.errors import ValidationError
from colis.core.models import Shop
from colis.core.money import is_currency
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record

LOCALES = ("en", "fr")
STRATEGIES = ("priority", "most_stock")


@dataclass(frozen=True, kw_only=True)
class ShopData(Given):
    name: str = UNSET
    locale: str = UNSET
    currency: str = UNSET
    routing_strategy: str = UNSET
    email_sender_name: str = UNSET
    email_sender_address: str = UNSET
    email_reply_to: str = UNSET
    notify_without_tracking: bool = UNSET
    return_window_days: int = UNSET
    return_auto_approve_reasons: list[str] = UNSET
    return_instructions: str = UNSET
    retention_days: int | None = UNSET


def _ascii_address(value: str) -> str | None:
    """The address as mail servers take it without SMTPUTF8 (an international domain in its
    xn-- form), or None when it is not a valid address or its local part is not ASCII."""
    value = value.strip()
    try:
        validate_email(value)
        local, _, domain = value.rpartition("@")
        domain = domain.encode("idna").decode("ascii")
    except (DjangoValidationError, UnicodeError):
        return None
    return f"{local}@{domain}" if local.isascii() else None


def shop_get() -> Shop:
    shop, _ = Shop.objects.get_or_create(pk=1)
    return shop


def _shop_load() -> Shop:
    return Shop.objects.filter(pk=1).first() or Shop(pk=1)


# The shop's settings as hot paths read them (routing, shipments): a copy at most two seconds old.
_SHOP = Snapshot(_shop_load)


def shop_snapshot() -> Shop:
    """The shop's settings, read at most once per two seconds per process. Do not change it."""
    return _SHOP.get()


def _has_line_break(value: str) -> bool:
    return "\n" in value or "\r" in value


def _return_settings_errors(values: dict[str, object]) -> dict[str, str]:
    from colis.returns.status import ReturnReason

    errors = {}
    days = values.get("return_window_days")
    if days is not None and (
        not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650
    ):
        errors["return_window_days"] = "Between 0 and 3650 days."
    reasons = values.get("return_auto_approve_reasons")
    if reasons is not None and (
        not isinstance(reasons, list) or any(r not in ReturnReason.values for r in reasons)
    ):
        errors["return_auto_approve_reasons"] = f"Reasons among {', '.join(ReturnReason.values)}."
    if len(str(values.get("return_instructions") or "")) > 5000:
        errors["return_instructions"] = "At most 5000 characters."
    return errors


def shop_update(*, data: ShopData, actor: Actor) -> Shop:
    """Change the shop's settings (routing reads its strategy again within two seconds).
    Raises ValidationError naming each field."""
    values = data.given()
    errors: dict[str, str] = {}
    if "name" in values and not (0 < len(values["name"].strip()) <= 200):
        errors["name"] = "Between 1 and 200 characters."
    if "locale" in values and values["locale"] not in LOCALES:
        errors["locale"] = f"One of {', '.join(LOCALES)}."
    if "currency" in values and not is_currency(values["currency"]):
        errors["currency"] = "An ISO 4217 currency code."
    if "routing_strategy" in values and values["routing_strategy"] not in STRATEGIES:
        errors["routing_strategy"] = f"One of {', '.join(STRATEGIES)}."
    if "email_sender_name" in values and (
        len(values["email_sender_name"]) > 200 or _has_line_break(values["email_sender_name"])
    ):
        errors["email_sender_name"] = "At most 200 characters, on one line."
    for key in ("email_sender_address", "email_reply_to"):
        if values.get(key):
            address = _ascii_address(values[key])
            if address is None:
                errors[key] = "An email address with an ASCII local part, or empty."
            else:
                values[key] = address
    days = values.get("retention_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= 3650):  # fmt: skip
        errors["retention_days"] = "Between 1 and 3650 days, or null."
    errors.update(_return_settings_errors(values))
    if errors:
        raise ValidationError(
            "The shop settings are not valid.", code="invalid_shop", fields=errors
        )
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get_or_create(pk=1)[0]
        for key, value in values.items():
            setattr(shop, key, value.strip() if isinstance(value, str) else value)
        shop.save()
        event_record(
            subject_type="shop", subject_id=1, kind="shop_updated", actor=actor, data=values
        )
        transaction.on_commit(_SHOP.forget)
    return shop
