"""Settings: the buyer emails: switch on or off, edit per language with a live preview, reset."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.errors import DomainError, NotFound
from colis.notifications.defaults import LOCALES
from colis.notifications.templates import (
    MAX_SOURCE,
    PARTS,
    TemplateView,
    template_get,
    template_list,
    template_preview,
    template_reset,
    template_update,
)
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, field_errors, page, refused

LIST = "app/settings/emails.html"
EDIT = "app/settings/email.html"
TITLES = {
    "order_confirmation": _("Order confirmation"),
    "shipping_confirmation": _("Shipping confirmation"),
    "shipping_update": _("Shipping update"),
    "delivered": _("Delivered"),
    "order_cancelled": _("Order cancelled"),
    "fulfillment_on_hold": _("Order on hold"),
    "refund": _("Refund"),
    "return_requested": _("Return requested"),
    "return_approved": _("Return approved"),
    "return_rejected": _("Return rejected"),
    "return_received": _("Return received"),
}
LOCALE_NAMES = {"en": "English", "fr": "Français"}


def _url(name: str, locale: str | None = None) -> str:
    return f"/app/settings/emails/{name}/" + (f"?locale={locale}" if locale else "")


def _view(name: str) -> TemplateView:
    try:
        return template_get(name=name)
    except NotFound:
        raise Http404 from None


@ui_view(write=SETTINGS_WRITE)
def emails_view(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "name": v.name,
            "title": TITLES.get(v.name, v.name),
            "enabled": v.enabled,
            "customized": [LOCALE_NAMES.get(loc, loc) for loc, p in v.locales.items()
                           if p.get("customized")],
        }
        for v in template_list()
    ]  # fmt: skip
    return page(request, LIST, {"section": "emails", "emails": rows})


@ui_view(write=SETTINGS_WRITE)
def email_switch(request: HttpRequest, name: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    _view(name)
    enabled = checked(request, "enabled")
    template_update(name=name, enabled=enabled, actor=request.actor)  # type: ignore[attr-defined]
    to = request.POST.get("next") == "edit"
    return done(_url(name) if to else "/app/settings/emails/", "enabled" if enabled else "disabled")


def _locale(request: HttpRequest) -> str:
    locale = request.GET.get("locale") or request.POST.get("locale") or LOCALES[0]
    return locale if locale in LOCALES else LOCALES[0]


def _edit(view: TemplateView, locale: str, parts: dict[str, str], **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "section": "emails",
        "email": view,
        "title": TITLES.get(view.name, view.name),
        "locale": locale,
        "locales": [(loc, LOCALE_NAMES.get(loc, loc)) for loc in LOCALES],
        "customized": bool(view.locales[locale].get("customized")),
        "parts": parts,
        "max_source": MAX_SOURCE,
        **extra,
    }
    if "preview" not in context:
        context.update(_preview(view.name, locale, parts))
    return context


def _preview(name: str, locale: str, draft: dict[str, str]) -> dict[str, Any]:
    try:
        rendered = template_preview(name=name, locale=locale, draft=draft)
    except DomainError as exc:
        return {"preview": None, "preview_error": exc.message, "preview_errors": field_errors(exc)}
    return {"preview": rendered}


@ui_view(write=SETTINGS_WRITE)
def email_edit(request: HttpRequest, name: str) -> HttpResponse:
    view = _view(name)
    locale = _locale(request)
    if request.method == "GET":
        parts = {p: view.locales[locale][p] for p in PARTS}
        return page(request, EDIT, _edit(view, locale, parts))
    parts = {p: request.POST.get(p, "")[: MAX_SOURCE + 1] for p in PARTS}
    try:
        template_update(name=name, locale=locale, parts=parts, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, EDIT, _edit(view, locale, parts), exc)
    return done(_url(name, locale), "saved")


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def email_preview(request: HttpRequest, name: str) -> HttpResponse:
    """The draft being typed, rendered with sample data (htmx swaps it into the edit page)."""
    if request.method != "POST":
        raise Http404
    _view(name)
    draft = {p: request.POST.get(p, "")[: MAX_SOURCE + 1] for p in PARTS}
    context = _preview(name, _locale(request), draft)
    return render(request, "app/settings/_email_preview.html", context)


@ui_view(write=SETTINGS_WRITE)
def email_reset(request: HttpRequest, name: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    _view(name)
    locale = _locale(request)
    template_reset(name=name, locale=locale, actor=request.actor)  # type: ignore[attr-defined]
    return done(_url(name, locale), "reset")


urlpatterns = [
    path("emails/", emails_view, name="settings-emails"),
    path("emails/<slug:name>/", email_edit, name="settings-email"),
    path("emails/<slug:name>/switch/", email_switch, name="settings-email-switch"),
    path("emails/<slug:name>/preview/", email_preview, name="settings-email-preview"),
    path("emails/<slug:name>/reset/", email_reset, name="settings-email-reset"),
]
