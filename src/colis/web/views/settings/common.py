"""What every settings screen shares: reading form values, showing domain errors by field."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from colis.core.errors import DomainError

# What a page says after a change it redirected back from (post/redirect/get): `?done=<key>`.
DONE = {
    "saved": _("Saved."),
    "added": _("Added."),
    "moved": _("Priority changed."),
    "default": _("This is now the default location."),
    "deactivated": _("Deactivated."),
    "activated": _("Activated."),
    "adjusted": _("Stock adjusted."),
    "receipt": _("Delivery expected: receive it below when it arrives."),
    "received": _("Stock received."),
    "cancelled": _("Cancelled."),
    "transfer": _("Transfer sent: the stock is in transit."),
    "enabled": _("Email switched on."),
    "disabled": _("Email switched off."),
    "reset": _("Back to the default text."),
    "retried": _("Queued again."),
    "revoked": _("Token revoked."),
    "import_queued": _("Import queued: new orders appear in a moment."),
    "checked": _("Checked again."),
}


def field_key(name: str) -> str:
    """A domain error's field path as a template can look it up: `address.line1` ->
    `address_line1`, `lines[0].sku` -> `lines_0_sku`."""
    out = "".join(ch if ch.isalnum() else "_" for ch in name)
    return "_".join(part for part in out.split("_") if part)


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list | tuple):
        out[field_key(prefix)] = ", ".join(str(v) for v in value)
    else:
        out[field_key(prefix)] = str(value)


def field_errors(exc: DomainError) -> dict[str, str]:
    """The error's fields by template key; nested details are joined into one message."""
    out: dict[str, str] = {}
    for key, value in exc.fields.items():
        _flatten(str(key), value, out)
    return out


def status_of(exc: DomainError) -> int:
    return exc.http_status if 400 <= exc.http_status < 500 else 422


def refused(
    request: HttpRequest, template: str, context: dict[str, Any], exc: DomainError
) -> HttpResponse:
    """The same page again with the error at the top and by each field, nothing changed."""
    context = {**context, "error": exc.message, "error_code": exc.code, "errors": field_errors(exc)}
    return render(request, template, context, status=status_of(exc))


def done(to: str, what: str) -> HttpResponse:
    """After a change: back to the page (post/redirect/get), which says what happened."""
    joiner = "&" if "?" in to else "?"
    return HttpResponseRedirect(f"{to}{joiner}{urlencode({'done': what})}")


def done_message(request: HttpRequest) -> str:
    what = request.GET.get("done", "")
    return str(DONE[what]) if what in DONE else ""


def checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name) in ("on", "true", "1", "yes")


def text(request: HttpRequest, name: str, limit: int = 5000) -> str:
    return request.POST.get(name, "")[:limit]


def integer(value: str | None) -> int | None:
    """An integer typed in a form, or None when it is empty or not a number."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {"done": done_message(request), "errors": {}, **context}
    return render(request, template, context, status=status)
