"""Who may see and do what in the merchant UI: one decorator per view, the same roles and
permissions as the API (accounts.roles)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from colis.accounts.roles import READ, role_allows
from colis.core.actor import Actor

View = Callable[..., HttpResponse]


def user_actor(request: HttpRequest) -> Actor:
    user = request.user
    return Actor(kind="user", id=user.pk, label=user.email, role=user.role)  # type: ignore[union-attr]


def forbidden(request: HttpRequest, permission: str) -> HttpResponse:
    return render(request, "app/forbidden.html", {"permission": permission}, status=403)


def ui_view(*, write: str | None = None, read: str = READ) -> Callable[[View], View]:
    """Sign-in required; `read` to see the page (GET/HEAD), `write` to post to it. Sets
    `request.actor`."""

    def wrap(view: View) -> View:
        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated or not user.is_active:
                return redirect_to_login(request.get_full_path())
            needed = read if request.method in ("GET", "HEAD") else (write or "")
            if not needed or not role_allows(user.role, needed):  # type: ignore[union-attr]
                return forbidden(request, needed or "read-only page")
            request.actor = user_actor(request)  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return inner

    return wrap
