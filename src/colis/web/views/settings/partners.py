"""Settings: fulfillment services (3PLs) and dropship suppliers, their tokens and portal links."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.addresses import ADDRESS_FIELDS
from colis.core.errors import DomainError, NotFound
from colis.partners.models import FulfillmentService, NotifyMethod, OnReject, ServiceKind
from colis.partners.selectors import service_get, service_list
from colis.partners.services import (
    ServiceData,
    service_create,
    service_portal_link,
    service_token_issue,
    service_update,
)
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, page, refused, text
from colis.web.views.settings.locations import countries

URL = "/app/settings/partners/"
LIST = "app/settings/partners.html"
DETAIL = "app/settings/partner.html"
KINDS = {"3pl": _("Fulfillment service (3PL)"), "dropship": _("Dropship supplier")}
NOTIFY = {
    "email": _("By email"),
    "webhook": _("By signed webhook"),
    "portal": _("Nothing sent: they use their portal or the API"),
}
ON_REJECT = {"reroute": _("Route the order elsewhere"), "hold": _("Put the order on hold")}


def _choices() -> dict[str, Any]:
    return {
        "kinds": [(k, KINDS.get(k, k)) for k in ServiceKind.values],
        "notify_methods": [(k, NOTIFY.get(k, k)) for k in NotifyMethod.values],
        "on_rejects": [(k, ON_REJECT.get(k, k)) for k in OnReject.values],
    }


def _form(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": text(request, "name", 300),
        "kind": text(request, "kind", 20),
        "email": text(request, "email", 300).strip(),
        "notify_method": text(request, "notify_method", 20),
        "webhook_url": text(request, "webhook_url", 600).strip(),
        "webhook_allow_private": checked(request, "webhook_allow_private"),
        "manages_own_stock": checked(request, "manages_own_stock"),
        "on_reject": text(request, "on_reject", 20),
    }


def _list(**extra: Any) -> dict[str, Any]:
    return {
        "section": "partners",
        "services": list(service_list()),
        "form": {
            "kind": "3pl",
            "notify_method": "email",
            "on_reject": "reroute",
            "manages_own_stock": True,
        },  # fmt: skip
        "address": {},
        "countries": countries(get_language() or "en"),
        **_choices(),
        **extra,
    }


@ui_view(write=SETTINGS_WRITE)
def partners_view(request: HttpRequest) -> HttpResponse:
    """GET: the services. POST: add one (with the address of the location it gets)."""
    if request.method == "GET":
        return page(request, LIST, _list())
    form = _form(request)
    address = {f: text(request, f"address_{f}", 300).strip() for f in ADDRESS_FIELDS}
    try:
        service = service_create(
            data=ServiceData(**form),
            address=address,
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, LIST, _list(form=form, address=address), exc)
    if service.webhook_secret:
        return _secret_shown(request, service, "webhook", service.webhook_secret)
    return done(f"{URL}{service.pk}/", "added")


def _service(service_id: int) -> FulfillmentService:
    try:
        return service_get(service_id=service_id)
    except NotFound:
        raise Http404 from None


def _detail(service: FulfillmentService, form: dict[str, Any] | None = None, **extra: Any):
    return {
        "section": "partners",
        "service": service,
        "form": form or service.__dict__,
        **_choices(),
        **extra,
    }


@ui_view(write=SETTINGS_WRITE)
def partner_view(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    if request.method == "GET":
        return page(request, DETAIL, _detail(service))
    form = {**_form(request), "active": checked(request, "active")}
    had_secret = bool(service.webhook_secret)
    try:
        service = service_update(
            service_id=service.pk,
            data=ServiceData(**form),
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, DETAIL, _detail(service, form), exc)
    if service.webhook_secret and not had_secret:
        return _secret_shown(request, service, "webhook", service.webhook_secret)
    return done(f"{URL}{service.pk}/", "saved")


def _secret_shown(
    request: HttpRequest, service: FulfillmentService, label: str, secret: str
) -> HttpResponse:
    """The page with a secret shown once (never cached)."""
    response = page(request, DETAIL, _detail(service, secret_label=label, secret=secret))
    response["Cache-Control"] = "no-store"
    return response


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def partner_token(request: HttpRequest, service_id: int) -> HttpResponse:
    """A scoped API token for the service, shown once."""
    service = _service(service_id)
    if request.method != "POST":
        raise Http404
    _token, raw = service_token_issue(service_id=service.pk, actor=request.actor)  # type: ignore[attr-defined]
    return _secret_shown(request, service, "token", raw)


@ui_view(write=SETTINGS_WRITE, read=SETTINGS_WRITE)
def partner_portal(request: HttpRequest, service_id: int) -> HttpResponse:
    """A signed link to the service's portal, valid 30 days."""
    service = _service(service_id)
    if request.method != "POST":
        raise Http404
    link = request.build_absolute_uri(service_portal_link(service_id=service.pk))
    return _secret_shown(request, service, "portal", link)


urlpatterns = [
    path("partners/", partners_view, name="settings-partners"),
    path("partners/<int:service_id>/", partner_view, name="settings-partner"),
    path("partners/<int:service_id>/token/", partner_token, name="settings-partner-token"),
    path("partners/<int:service_id>/portal/", partner_portal, name="settings-partner-portal"),
]
