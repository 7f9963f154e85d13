"""The shop's own settings (one row): name, language, currency, routing strategy."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from colis.core.actor import Actor
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


def shop_get() -> Shop:
    shop, _ = Shop.objects.get_or_create(pk=1)
    return shop


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
    if errors:
        raise ValidationError(
            "The shop settings are not valid.", code="invalid_shop", fields=errors
        )
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get_or_create(pk=1)[0]
        for key, value in values.items():
            setattr(shop, key, value.strip() if key == "name" else value)
        shop.save()
        event_record(
            subject_type="shop", subject_id=1, kind="shop_updated", actor=actor, data=values
        )
    return shop
