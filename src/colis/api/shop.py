"""HTTP API for the shop's settings and its logo."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.pagination import NO_CONTENT
from colis.core.errors import NotFound, ValidationError
from colis.core.models import Shop
from colis.core.shop import ShopData, shop_get, shop_update
from colis.core.shop_logo import (
    LogoInfo,
    shop_logo_delete,
    shop_logo_get,
    shop_logo_info,
    shop_logo_set,
)
from colis.returns.status import ReturnReason

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
    return_window_days: int | None = Field(None, ge=0, le=3650)
    return_auto_approve_reasons: list[ReturnReason] | None = Field(None, max_length=10)
    return_instructions: str | None = Field(None, max_length=5000)
    # Days buyer personal data of orders from no channel is kept once done; null keeps it.
    retention_days: int | None = Field(None, ge=1, le=3650)


def logo_out(info: LogoInfo | None) -> dict[str, Any]:
    if info is None:
        return {"set": False, "content_type": None, "width": None, "height": None}
    return {
        "set": True,
        "content_type": info.content_type,
        "width": info.width,
        "height": info.height,
    }


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
        "return_window_days": shop.return_window_days,
        "return_auto_approve_reasons": list(shop.return_auto_approve_reasons or []),
        "return_instructions": shop.return_instructions,
        "retention_days": shop.retention_days,
        "logo": logo_out(shop_logo_info()),
    }


@router.get("", summary="The shop's settings")
def shop_read(request: HttpRequest) -> Any:
    require(request, READ)
    return shop_out(shop_get())


@router.patch("", summary="Change the shop's settings")
def shop_change(request: HttpRequest, body: ShopPatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if body.return_auto_approve_reasons is not None:
        given["return_auto_approve_reasons"] = sorted(
            {r.value for r in body.return_auto_approve_reasons}
        )
    if "retention_days" in body.model_fields_set:  # an explicit null means "keep"
        given["retention_days"] = body.retention_days
    return shop_out(shop_update(data=ShopData(**given), actor=who))


IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
_LOGO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}
_IMAGE = {
    "responses": {
        200: {
            "description": "The logo as it was sent",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES},
        }
    }
}


def _logo_file(request: HttpRequest) -> bytes:
    """The image from the body (image/png, image/jpeg) or from the multipart field `file`.
    Django parses multipart forms of POST requests only, so this one is parsed here."""
    content_type = (request.content_type or "").lower()
    if content_type == "multipart/form-data":
        try:
            _, files = request.parse_file_upload(request.META, io.BytesIO(request.body))
        except MultiPartParserError:
            files = {}
        upload = files.get("file")
        if upload is None:
            raise ValidationError(
                "Send the logo as the multipart field `file`.",
                code="invalid_logo",
                fields={"file": "Required."},
            )
        return upload.read()
    if request.body and content_type not in IMAGE_TYPES:
        raise ValidationError(
            f"Send the logo as image/png, image/jpeg or multipart field `file`, "
            f"not {content_type or 'no type'!r}.",
            code="invalid_logo",
            fields={"Content-Type": "image/png, image/jpeg or multipart/form-data."},
        )
    return request.body


@router.get("/logo", openapi_extra=_IMAGE, summary="The shop's logo (404 when none is set)")
def shop_logo_read(request: HttpRequest) -> Any:
    require(request, READ)
    logo = shop_logo_get()
    if logo is None:
        raise NotFound("The shop has no logo.", code="logo_not_set")
    response = HttpResponse(bytes(logo.data), content_type=logo.content_type)
    response["Cache-Control"] = "no-cache"
    return response


@router.put(
    "/logo",
    openapi_extra=_LOGO_BODY,
    summary="Set the logo printed on packing slips (PNG or JPEG, at most 1 MB)",
)
def shop_logo_change(request: HttpRequest) -> Any:
    who = require(request, SETTINGS_WRITE)
    logo = shop_logo_set(data=_logo_file(request), actor=who)
    return logo_out(LogoInfo(content_type=logo.content_type, width=logo.width, height=logo.height))


@router.delete("/logo", response=NO_CONTENT, summary="Remove the shop's logo")
def shop_logo_remove(request: HttpRequest) -> Any:
    who = require(request, SETTINGS_WRITE)
    shop_logo_delete(actor=who)
    return Status(204, None)
