"""Merchant templates: list, read, edit (validated), preview, reset, switch off.

A template is checked when saved: it must parse (a syntax error names its line), stay under the
size bound, and render against sample data within the sandbox's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from liquid.exceptions import LiquidError

from colis.core.actor import Actor
from colis.core.errors import NotFound, ValidationError
from colis.core.timeline import event_record
from colis.notifications.context import return_context
from colis.notifications.defaults import DEFAULTS, LOCALES
from colis.notifications.models import EmailTemplate
from colis.notifications.render import RenderedEmail, parts_render

PARTS = ("subject", "text", "html")
MAX_SOURCE = 20_000

# A return as a queued return email carries it (see notifications.context.return_context).
SAMPLE_RETURN: dict[str, Any] = {
    "number": "1042-R1",
    "state": "approved",
    "rejection_reason": "The tee has been worn.",
    "instructions": "Pack the items in their original packaging.\n"
    "Drop the parcel at any post office within 14 days.",
    "lines": [{"sku": "TEE-BLK-M", "title": "Organic cotton tee, black, M", "quantity": 1,
               "quantity_received": 1, "reason": "size_or_fit"}],
    "address": {"name": "Atelier Colis returns", "company": "", "line1": "4 quai des Chartrons",
                "line2": "", "city": "Bordeaux", "region": "", "postal_code": "33000",
                "country": "FR", "phone": ""},
}  # fmt: skip

SAMPLE_CONTEXT: dict[str, Any] = {
    "shop": {"name": "Atelier Colis"},
    "order": {
        "number": "1042",
        "buyer_name": "Jeanne Martin",
        "email": "jeanne@example.com",
        "shipping_method": "Colissimo",
        "cancel_reason": "",
        "currency": "EUR", "subtotal": "€58.00", "shipping_price": "€4.90",
        "tax_total": "€0.00", "discount_total": "€0.00", "total": "€62.90",
        "shipping_address": {
            "name": "Jeanne Martin", "company": "", "line1": "12 rue de la Paix", "line2": "",
            "city": "Paris", "region": "", "postal_code": "75002", "country": "FR",
        },
    },
    "items": [{"sku": "TEE-BLK-M", "title": "Organic cotton tee, black, M", "quantity": 2,
               "price": "€29.00", "line_total": "€58.00"}],
    "shipment": {"carrier": "colissimo", "carrier_name": "La Poste / Colissimo", "service": "",
                 "ship_date": "2026-11-27"},
    "tracking": [{"number": "6A12345678901", "url": "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"}],
    "hold": {"reason": "incorrect_address"},
    "refund": {"amount": "€29.00", "reason": "Damaged in transit"},
    "return": return_context(SAMPLE_RETURN, "en"),
}  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateView:
    name: str
    enabled: bool
    locales: dict[str, dict[str, Any]]


def _check_name(name: str) -> None:
    if name not in DEFAULTS:
        raise NotFound("No such email template.", code="template_not_found")


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError(
            f"A locale is one of {', '.join(LOCALES)}.",
            code="invalid_locale",
            fields={"locale": "Unknown locale."},
        )


def template_parts(
    name: str, locale: str, row: EmailTemplate | None
) -> tuple[dict[str, str], bool]:
    """The parts in use for this locale and whether they are the merchant's."""
    custom = (row.parts or {}).get(locale) if row else None
    if custom:
        return {p: custom.get(p, DEFAULTS[name][locale][p]) for p in PARTS}, True
    return dict(DEFAULTS[name][locale]), False


def template_get(*, name: str) -> TemplateView:
    _check_name(name)
    row = EmailTemplate.objects.filter(name=name).first()
    locales = {}
    for locale in LOCALES:
        parts, custom = template_parts(name, locale, row)
        locales[locale] = {**parts, "customized": custom}
    return TemplateView(name=name, enabled=row.enabled if row else True, locales=locales)


def template_list() -> list[TemplateView]:
    return [template_get(name=name) for name in DEFAULTS]


def _validate(parts: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    for part, source in parts.items():
        if len(source) > MAX_SOURCE:
            errors[part] = f"At most {MAX_SOURCE:,} characters."
    if not errors:
        try:
            parts_render(parts, SAMPLE_CONTEXT)
        except LiquidError as exc:
            part = getattr(exc, "part", "text")
            errors[part] = _describe(exc, parts.get(part, ""))
    if errors:
        raise ValidationError("The template is not valid.", code="invalid_template", fields=errors)


def _describe(exc: LiquidError, source: str) -> str:
    token = getattr(exc, "token", None)
    index = getattr(token, "start_index", None)
    first = (str(exc).splitlines() or ["template error"])[0]
    if isinstance(index, int):
        return f"line {source.count(chr(10), 0, index) + 1}: {first}"
    return first


def template_update(
    *,
    name: str,
    locale: str | None = None,
    parts: dict[str, str] | None = None,
    enabled: bool | None = None,
    actor: Actor,
) -> TemplateView:
    """Save the merchant's version of some parts for one locale, and/or switch the email on or
    off. Raises NotFound, ValidationError (`invalid_template` naming the part and line)."""
    _check_name(name)
    parts = {k: v for k, v in (parts or {}).items() if v is not None}
    if parts:
        if locale is None:
            raise ValidationError(
                "Say which locale these parts are for.",
                code="invalid_locale",
                fields={"locale": "Required with subject, text or html."},
            )
        _check_locale(locale)
    with transaction.atomic():
        row, _ = EmailTemplate.objects.select_for_update().get_or_create(name=name)
        if parts:
            current, _ = template_parts(name, locale, row)  # type: ignore[arg-type]
            merged = {**current, **parts}
            _validate(merged)
            row.parts = {**(row.parts or {}), locale: merged}
        if enabled is not None:
            row.enabled = enabled
        row.save()
        event_record(
            subject_type="email_template",
            subject_id=row.pk,
            kind="email_template_updated",
            actor=actor,
            data={"name": name, "locale": locale, "parts": sorted(parts), "enabled": enabled},
        )
    return template_get(name=name)


def template_reset(*, name: str, locale: str | None, actor: Actor) -> TemplateView:
    """Back to the default, for one locale or all."""
    _check_name(name)
    if locale is not None:
        _check_locale(locale)
    with transaction.atomic():
        row = EmailTemplate.objects.select_for_update().filter(name=name).first()
        if row is not None:
            row.parts = {k: v for k, v in (row.parts or {}).items() if locale and k != locale}
            row.save()
            event_record(
                subject_type="email_template",
                subject_id=row.pk,
                kind="email_template_reset",
                actor=actor,
                data={"name": name, "locale": locale},
            )
    return template_get(name=name)


def template_preview(
    *,
    name: str,
    locale: str,
    draft: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
) -> RenderedEmail:
    """Render the template in use (or an unsaved draft of it) with an order's data or the
    sample. Raises NotFound, ValidationError (`invalid_template`)."""
    _check_name(name)
    _check_locale(locale)
    parts, _ = template_parts(name, locale, EmailTemplate.objects.filter(name=name).first())
    parts.update({k: v for k, v in (draft or {}).items() if v is not None})
    try:
        return parts_render(parts, context or SAMPLE_CONTEXT)
    except LiquidError as exc:
        part = getattr(exc, "part", "text")
        raise ValidationError(
            "The template is not valid.",
            code="invalid_template",
            fields={part: _describe(exc, parts.get(part, ""))},
        ) from None
