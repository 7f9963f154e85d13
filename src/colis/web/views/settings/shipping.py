"""Settings: the carrier registry (with each carrier's code on every channel) and the package
presets."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.errors import DomainError, NotFound
from colis.shipping.models import Carrier, PackagePreset
from colis.shipping.selectors import carrier_get_by_code, carrier_list, package_get, package_list
from colis.shipping.services import (
    CHANNELS,
    CarrierData,
    PackageData,
    carrier_create,
    carrier_update,
    package_create,
    package_update,
)
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, integer, page, refused, text

CARRIERS = "/app/settings/carriers/"
PACKAGES = "/app/settings/packages/"
CARRIER_FORM = "app/settings/carrier.html"
PACKAGE_FORM = "app/settings/package.html"


# --- carriers -----------------------------------------------------------------------------------


def _carrier_form(request: HttpRequest, *, new: bool) -> dict[str, Any]:
    refs = text(request, "data_courier_codes", 2000).replace("\n", ",").split(",")
    form: dict[str, Any] = {
        "name": text(request, "name", 200),
        "tracking_url_template": text(request, "tracking_url_template", 600),
        "data_courier_codes": [r.strip() for r in refs if r.strip()],
        "channel_codes": {c: text(request, f"channel_{c}", 200).strip() for c in CHANNELS},
        "active": checked(request, "active"),
    }
    if new:
        form["code"] = text(request, "code", 100)
    return form


def _carrier_context(form: dict[str, Any], *, new: bool, **extra: Any) -> dict[str, Any]:
    codes = form.get("channel_codes") or {}
    return {
        "section": "carriers",
        "carrier": form,
        "new": new,
        "channels": [(c, codes.get(c, "")) for c in CHANNELS],
        "refs": ", ".join(form.get("data_courier_codes") or []),
        **extra,
    }


@ui_view(write=SETTINGS_WRITE)
def carriers_view(request: HttpRequest) -> HttpResponse:
    rows = [(c, [(ch, (c.channel_codes or {}).get(ch, "")) for ch in CHANNELS])
            for c in carrier_list()]  # fmt: skip
    return page(
        request, "app/settings/carriers.html",
        {"section": "carriers", "carriers": rows, "channels": CHANNELS},
    )  # fmt: skip


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def carrier_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        blank = {"active": True, "channel_codes": {}, "data_courier_codes": []}
        return page(request, CARRIER_FORM, _carrier_context(blank, new=True))
    form = _carrier_form(request, new=True)
    try:
        carrier_create(data=CarrierData(**form), actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, CARRIER_FORM, _carrier_context(form, new=True), exc)
    return done(CARRIERS, "added")


def _carrier(code: str) -> Carrier:
    try:
        return carrier_get_by_code(code=code)
    except NotFound:
        raise Http404 from None


@ui_view(write=SETTINGS_WRITE)
def carrier_edit(request: HttpRequest, code: str) -> HttpResponse:
    carrier = _carrier(code)
    if request.method == "GET":
        shown = {
            "code": carrier.code, "name": carrier.name,
            "tracking_url_template": carrier.tracking_url_template,
            "data_courier_codes": carrier.data_courier_codes,
            "channel_codes": carrier.channel_codes, "active": carrier.active,
        }  # fmt: skip
        return page(request, CARRIER_FORM, _carrier_context(shown, new=False))
    form = _carrier_form(request, new=False)
    try:
        carrier_update(code=carrier.code, data=CarrierData(**form), actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        shown = {**form, "code": carrier.code}
        return refused(request, CARRIER_FORM, _carrier_context(shown, new=False), exc)
    return done(CARRIERS, "saved")


# --- package presets ----------------------------------------------------------------------------


def _number(request: HttpRequest, name: str) -> Any:
    """A whole number, or what was typed so the service names the field."""
    raw = text(request, name, 20).strip()
    value = integer(raw)
    return value if value is not None else raw


def _package_form(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": text(request, "name", 200),
        "length_mm": _number(request, "length_mm"),
        "width_mm": _number(request, "width_mm"),
        "height_mm": _number(request, "height_mm"),
        "weight_grams": _number(request, "weight_grams") or 0,
        "is_default": checked(request, "is_default"),
        "active": checked(request, "active"),
    }


@ui_view(write=SETTINGS_WRITE)
def packages_view(request: HttpRequest) -> HttpResponse:
    """GET: the presets. POST: add one."""
    template = "app/settings/packages.html"
    context: dict[str, Any] = {"section": "packages", "packages": list(package_list())}
    if request.method == "GET":
        return page(request, template, {**context, "form": {"active": True}})
    form = _package_form(request)
    try:
        package_create(data=PackageData(**form), actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, template, {**context, "form": form}, exc)
    return done(PACKAGES, "added")


def _package(package_id: int) -> PackagePreset:
    try:
        return package_get(package_id=package_id)
    except NotFound:
        raise Http404 from None


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def package_edit(request: HttpRequest, package_id: int) -> HttpResponse:
    preset = _package(package_id)
    context: dict[str, Any] = {"section": "packages", "preset": preset}
    if request.method == "GET":
        return page(request, PACKAGE_FORM, {**context, "form": preset.__dict__})
    form = _package_form(request)
    try:
        package_update(package_id=preset.pk, data=PackageData(**form), actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, PACKAGE_FORM, {**context, "form": form}, exc)
    return done(PACKAGES, "saved")


urlpatterns = [
    path("carriers/", carriers_view, name="settings-carriers"),
    path("carriers/new/", carrier_new, name="settings-carrier-new"),
    path("carriers/<slug:code>/", carrier_edit, name="settings-carrier"),
    path("packages/", packages_view, name="settings-packages"),
    path("packages/<int:package_id>/", package_edit, name="settings-package"),
]
