"""Settings: locations in priority order; add, edit, make default, reorder, deactivate."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pycountry
from babel import Locale
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import get_language

from colis.accounts.roles import LOCATIONS_WRITE
from colis.core.addresses import ADDRESS_FIELDS
from colis.core.errors import DomainError, NotFound
from colis.locations.models import Location
from colis.locations.selectors import location_get, location_list
from colis.locations.services import (
    LocationData,
    location_create,
    location_reorder,
    location_update,
)
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, page, refused, text

URL = "/app/settings/locations/"
LIST = "app/settings/locations.html"
FORM = "app/settings/location_form.html"


@lru_cache(maxsize=8)
def countries(language: str) -> list[tuple[str, str]]:
    """(code, name in the user's language), sorted by name."""
    try:
        names = Locale.parse(language.replace("-", "_")).territories
    except (ValueError, TypeError):
        names = {}
    out = [(c.alpha_2, names.get(c.alpha_2) or c.name) for c in pycountry.countries]
    return sorted(out, key=lambda pair: pair[1].casefold())


def _form_values(request: HttpRequest) -> dict[str, Any]:
    address = {f: text(request, f"address_{f}", 300).strip() for f in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    return {
        "name": text(request, "name", 300),
        "address": address,
        "phone": text(request, "phone", 60).strip(),
        "fulfills_online_orders": checked(request, "fulfills_online_orders"),
        "allow_negative_stock": checked(request, "allow_negative_stock"),
    }


def _form(request: HttpRequest, location: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "section": "locations",
        "location": location,
        "countries": countries(get_language() or "en"),
        **extra,
    }


@ui_view(write=LOCATIONS_WRITE)
def locations_view(request: HttpRequest) -> HttpResponse:
    rows = list(location_list())
    return page(request, LIST, {"section": "locations", "locations": rows, "count": len(rows)})


@ui_view(write=LOCATIONS_WRITE, read=LOCATIONS_WRITE)
def location_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        values = _form_values(request)
        try:
            location_create(data=LocationData(**values), actor=request.actor)  # type: ignore[attr-defined]
        except DomainError as exc:
            return refused(request, FORM, _form(request, values, new=True), exc)
        return done(URL, "added")
    blank = {
        "address": {"country": ""},
        "fulfills_online_orders": True,
        "allow_negative_stock": False,
    }
    return page(request, FORM, _form(request, blank, new=True))


def _location(location_id: int) -> Location:
    try:
        return location_get(location_id=location_id)
    except NotFound:
        raise Http404 from None


@ui_view(write=LOCATIONS_WRITE, read=LOCATIONS_WRITE)
def location_edit(request: HttpRequest, location_id: int) -> HttpResponse:
    location = _location(location_id)
    if request.method == "POST":
        values = _form_values(request)
        try:
            location_update(
                location_id=location.pk,
                data=LocationData(**values),
                actor=request.actor,  # type: ignore[attr-defined]
            )
        except DomainError as exc:
            shown = {**values, "id": location.pk, "is_default": location.is_default,
                     "active": location.active}  # fmt: skip
            return refused(request, FORM, _form(request, shown), exc)
        return done(URL, "saved")
    return page(request, FORM, _form(request, location.__dict__ | {"id": location.pk}))


@ui_view(write=LOCATIONS_WRITE)
def location_move(request: HttpRequest, location_id: int) -> HttpResponse:
    """Move one place up or down, or to the top: the whole order is set at once."""
    if request.method != "POST":
        raise Http404
    ids = list(location_list().values_list("pk", flat=True))
    if location_id not in ids:
        raise Http404
    at = ids.index(location_id)
    where = request.POST.get("direction", "")
    target = {"up": at - 1, "down": at + 1, "top": 0, "bottom": len(ids) - 1}.get(where, at)
    target = max(0, min(len(ids) - 1, target))
    ids.insert(target, ids.pop(at))
    return _reorder(request, ids)


def _reorder(request: HttpRequest, ids: list[int]) -> HttpResponse:
    try:
        location_reorder(location_ids=ids, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        rows = list(location_list())
        return refused(
            request, LIST, {"section": "locations", "locations": rows, "count": len(rows)}, exc
        )
    return done(URL, "moved")


@ui_view(write=LOCATIONS_WRITE)
def locations_priority(request: HttpRequest) -> HttpResponse:
    """The whole order at once (what dragging rows sends): `location_ids` in the new order."""
    if request.method != "POST":
        raise Http404
    raw = request.POST.get("location_ids", "")
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()][:10_000]
    return _reorder(request, ids)


def _flag(request: HttpRequest, location_id: int, data: LocationData, what: str) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    location = _location(location_id)
    try:
        location_update(location_id=location.pk, data=data, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        rows = list(location_list())
        return refused(
            request, LIST, {"section": "locations", "locations": rows, "count": len(rows)}, exc
        )
    return done(URL, what)


@ui_view(write=LOCATIONS_WRITE)
def location_default(request: HttpRequest, location_id: int) -> HttpResponse:
    return _flag(request, location_id, LocationData(is_default=True), "default")


@ui_view(write=LOCATIONS_WRITE)
def location_deactivate(request: HttpRequest, location_id: int) -> HttpResponse:
    return _flag(request, location_id, LocationData(active=False), "deactivated")


@ui_view(write=LOCATIONS_WRITE)
def location_activate(request: HttpRequest, location_id: int) -> HttpResponse:
    return _flag(request, location_id, LocationData(active=True), "activated")


urlpatterns = [
    path("locations/", locations_view, name="settings-locations"),
    path("locations/new/", location_new, name="settings-location-new"),
    path("locations/priority/", locations_priority, name="settings-locations-priority"),
    path("locations/<int:location_id>/", location_edit, name="settings-location"),
    path("locations/<int:location_id>/move/", location_move, name="settings-location-move"),
    path(
        "locations/<int:location_id>/default/", location_default, name="settings-location-default"
    ),
    path(
        "locations/<int:location_id>/deactivate/",
        location_deactivate,
        name="settings-location-deactivate",
    ),
    path(
        "locations/<int:location_id>/activate/",
        location_activate,
        name="settings-location-activate",
    ),
]
