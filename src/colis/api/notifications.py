"""HTTP API for the buyer email templates."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.core.errors import NotFound
from colis.core.models import Shop
from colis.fulfillment.models import Shipment
from colis.notifications.context import email_context
from colis.notifications.templates import (
    SAMPLE_CONTEXT,
    SAMPLE_RETURN,
    TemplateView,
    template_get,
    template_list,
    template_preview,
    template_reset,
    template_update,
)
from colis.orders.selectors import order_get

router = Router(tags=["notification templates"])


class TemplatePatch(Schema):
    enabled: bool | None = None
    locale: str | None = Field(None, max_length=10)
    subject: str | None = Field(None, max_length=20_000)
    text: str | None = Field(None, max_length=20_000)
    html: str | None = Field(None, max_length=20_000)


class PreviewIn(Schema):
    locale: str = Field("en", max_length=10)
    order_id: int | None = Field(None, ge=1)
    shipment_id: int | None = Field(None, ge=1)
    subject: str | None = Field(None, max_length=20_000)
    text: str | None = Field(None, max_length=20_000)
    html: str | None = Field(None, max_length=20_000)


class ResetIn(Schema):
    locale: str | None = Field(None, max_length=10)


def template_out(view: TemplateView) -> dict[str, Any]:
    return {"name": view.name, "enabled": view.enabled, "locales": view.locales}


@router.get("", summary="The buyer emails, with their state")
def templates_list(request: HttpRequest) -> Any:
    require(request, READ)
    return {"items": [template_out(v) for v in template_list()], "next_cursor": None}


@router.get("/{name}", summary="One buyer email, per locale")
def templates_read(request: HttpRequest, name: str) -> Any:
    require(request, READ)
    return template_out(template_get(name=name))


@router.patch("/{name}", summary="Edit a locale's subject, text or html; switch it on or off")
def templates_update(request: HttpRequest, name: str, body: TemplatePatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    parts = {"subject": body.subject, "text": body.text, "html": body.html}
    view = template_update(
        name=name, locale=body.locale, parts=parts, enabled=body.enabled, actor=who
    )
    return template_out(view)


@router.post("/{name}/preview", summary="Render with an order (or sample data), saved or draft")
def templates_preview(request: HttpRequest, name: str, body: PreviewIn) -> Any:
    require(request, SETTINGS_WRITE)
    context = None
    if body.order_id is not None:
        order = order_get(order_id=body.order_id)
        shipment = None
        if body.shipment_id is not None:
            shipment = Shipment.objects.filter(pk=body.shipment_id, order_id=order.pk).first()
            if shipment is None:
                raise NotFound("No such shipment on this order.", code="shipment_not_found")
        shop = Shop.objects.filter(pk=1).first() or Shop()
        # A hold, refund or return email previewed on a real order shows sample hold, refund
        # and return values (the return with the order's own lines).
        sample_return = {
            **SAMPLE_RETURN,
            "instructions": shop.return_instructions or SAMPLE_RETURN["instructions"],
            "lines": [
                {"sku": ln.sku, "title": ln.title, "quantity": 1, "quantity_received": 1,
                 "reason": "size_or_fit"}
                for ln in list(order.lines.all())[:3]
            ],
        }  # fmt: skip
        context = email_context(
            order=order,
            shipment=shipment,
            shop=shop,
            locale=body.locale or "en",
            extra={
                "hold": SAMPLE_CONTEXT["hold"],
                "refund": {"amount": order.total},
                "return": sample_return,
            },
        )
    draft = {"subject": body.subject, "text": body.text, "html": body.html}
    rendered = template_preview(name=name, locale=body.locale, draft=draft, context=context)
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}


@router.post("/{name}/reset", summary="Back to the default (one locale or all)")
def templates_reset(request: HttpRequest, name: str, body: ResetIn | None = None) -> Any:
    who = require(request, SETTINGS_WRITE)
    return template_out(template_reset(name=name, locale=body.locale if body else None, actor=who))
