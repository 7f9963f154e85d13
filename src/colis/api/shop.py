"""HTTP API for the shop's settings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.core.models import Shop
from colis.core.shop import ShopData, shop_get, shop_update

router = Router(tags=["shop"])


class ShopPatch(Schema):
    name: str | None = Field(None, max_length=200)
    locale: str | None = Field(None, max_length=10)
    currency: str | None = Field(None, max_length=3)
    routing_strategy: str | None = Field(None, max_length=20)
    email_sender_name: str | None = Field(None, max_length=200)
    email_sender_address: str | None = Field(None, max_length=254)
    email_reply_to: str | None = Field(None, max_length=254)
    notify_without_tracking: bool | None = None


def shop_out(shop: Shop) -> dict[str, Any]:
    return {
        "name": shop.name,
        "locale": shop.locale,
        "currency": shop.currency,
        "routing_strategy": shop.routing_strategy,
        "email_sender_name": shop.email_sender_name,
        "email_sender_address": shop.email_sender_address,
        "email_reply_to": shop.email_reply_to,
        "notify_without_tracking": shop.notify_without_tracking,
    }


@router.get("", summary="The shop's settings")
def shop_read(request: HttpRequest) -> Any:
    require(request, READ)
    return shop_out(shop_get())


@router.patch("", summary="Change the shop's settings")
def shop_change(request: HttpRequest, body: ShopPatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return shop_out(shop_update(data=ShopData(**given), actor=who))
