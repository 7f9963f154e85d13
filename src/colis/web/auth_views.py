"""Signing in and out of the merchant UI, changing one's password and language.

Repeated failures lock the sign-in: 5 tries per email and 20 per client address every 15
minutes, counted in the database (every web process shares the count) whether or not the
email exists, so the answer never tells which emails have accounts."""

from __future__ import annotations

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from colis.accounts.models import User
from colis.accounts.roles import READ
from colis.core.timeline import event_record
from colis.web.access import ui_view
from colis.web.ratelimit import Limit, limit_take
from colis.web.returns_portal import client_address

PER_EMAIL = Limit(name="login-email", burst=5, per=900)
PER_ADDRESS = Limit(name="login-address", burst=20, per=900)
HOME = "/app/"


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or HOME
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HOME
    return target if target.startswith("/app/") else HOME


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if request.user.is_authenticated:
            return HttpResponseRedirect(_next(request))
        return render(request, "app/login.html", {"next": _next(request)})
    email = request.POST.get("email", "").strip().lower()[:254]
    password = request.POST.get("password", "")[:1000]
    wait = max(limit_take(PER_ADDRESS, client_address(request)), limit_take(PER_EMAIL, email))
    if wait:
        minutes = max(1, round(wait / 60))
        error = _("Too many attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
        return render(
            request, "app/login.html", {"error": error, "email": email, "next": _next(request)},
            status=429,
        )  # fmt: skip
    user = authenticate(request, username=email, password=password) if email else None
    if user is None:
        error = _("That email and password do not match an active account.")
        return render(
            request, "app/login.html", {"error": error, "email": email, "next": _next(request)},
            status=401,
        )  # fmt: skip
    login(request, user)
    return HttpResponseRedirect(_next(request))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/app/login/")


@never_cache
@ui_view(write=READ)
def password_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "GET":
        return render(request, "app/password.html", {})
    errors: dict[str, str] = {}
    if not user.check_password(request.POST.get("current", "")):
        errors["current"] = _("This is not your current password.")
    new = request.POST.get("new", "")
    if new != request.POST.get("confirm", ""):
        errors["confirm"] = _("The two new passwords differ.")
    if not errors:
        try:
            validate_password(new, user)
        except DjangoValidationError as exc:
            errors["new"] = " ".join(exc.messages)
    if errors:
        return render(request, "app/password.html", {"errors": errors}, status=422)
    user.set_password(new)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)
    event_record(
        subject_type="user", subject_id=user.pk, kind="password_changed",
        actor=request.actor,  # type: ignore[attr-defined]
    )  # fmt: skip
    return render(request, "app/password.html", {"saved": True})


@require_POST
@ui_view(write=READ)
def language_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    language = request.POST.get("language", "")
    if language in ("en", "fr"):
        user.language = language
        user.save(update_fields=["language"])
    return HttpResponseRedirect(_next(request))
