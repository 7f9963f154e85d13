"""Settings (owners only): users, their roles, and API tokens."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import USERS_MANAGE, Role
from colis.accounts.selectors import token_list, user_list
from colis.accounts.services import token_issue, token_revoke, user_create, user_update
from colis.core.errors import DomainError
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, integer, page, refused, text

TEMPLATE = "app/settings/users.html"
URL = "/app/settings/users/"
ROLE_NAMES = {
    "owner": _("Owner: everything, users included"),
    "manager": _("Manager: settings, refunds, catalog"),
    "staff": _("Staff: orders and stock"),
    "readonly": _("Read only"),
}


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    users = list(user_list())
    tokens = list(token_list(actor=request.actor).select_related("user"))  # type: ignore[attr-defined]
    return {
        "section": "users",
        "users": users,
        "tokens": tokens,
        "roles": [(r, ROLE_NAMES.get(r, r)) for r in Role.values],
        "new": {"role": "staff"},
        "me": request.user.pk,
        **extra,
    }


def _refused(request: HttpRequest, exc: DomainError, **extra: Any) -> HttpResponse:
    return refused(request, TEMPLATE, _context(request, **extra), exc)


@ui_view(read=USERS_MANAGE, write=USERS_MANAGE)
def users_view(request: HttpRequest) -> HttpResponse:
    """GET: users and tokens. POST: add a user."""
    if request.method == "GET":
        return page(request, TEMPLATE, _context(request))
    new = {
        "email": text(request, "email", 300),
        "name": text(request, "name", 200),
        "role": text(request, "role", 20),
    }
    password = request.POST.get("password", "")[:1000]
    try:
        user_create(**new, password=password or None, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return _refused(request, exc, new=new)
    return done(URL, "added")


@ui_view(read=USERS_MANAGE, write=USERS_MANAGE)
def user_change(request: HttpRequest, user_id: int) -> HttpResponse:
    """A user's role, and switching the account off or on."""
    if request.method != "POST":
        raise Http404
    active = request.POST.get("is_active")
    try:
        user_update(
            user_id=user_id,
            role=text(request, "role", 20) or None,
            is_active=None if active is None else checked(request, "is_active"),
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return _refused(request, exc, failed=user_id)
    return done(URL, "saved")


@ui_view(read=USERS_MANAGE, write=USERS_MANAGE)
def token_new(request: HttpRequest) -> HttpResponse:
    """Issue a token: shown once, on this page, and never again."""
    if request.method != "POST":
        raise Http404
    try:
        issued = token_issue(
            user_id=integer(request.POST.get("user_id")),
            name=text(request, "token_name", 100),
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return _refused(request, exc)
    response = page(request, TEMPLATE, _context(request, issued=issued))
    response["Cache-Control"] = "no-store"
    return response


@ui_view(read=USERS_MANAGE, write=USERS_MANAGE)
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    try:
        token_revoke(token_id=token_id, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return _refused(request, exc)
    return done(URL, "revoked")


urlpatterns = [
    path("users/", users_view, name="settings-users"),
    path("users/<int:user_id>/", user_change, name="settings-user"),
    path("tokens/", token_new, name="settings-token-new"),
    path("tokens/<int:token_id>/revoke/", token_revoke_view, name="settings-token-revoke"),
]
