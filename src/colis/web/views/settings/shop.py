"""Settings: the shop (name, sender, language, currency, returns)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.errors import DomainError
from colis.core.shop import LOCALES, STRATEGIES, ShopData, shop_get, shop_update
from colis.returns.status import ReturnReason
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, integer, page, refused, text

TEMPLATE = "app/settings/shop.html"
URL = "/app/settings/shop/"
REASON_NAMES = {
    "damaged": _("Damaged"),
    "defective": _("Defective"),
    "wrong_item": _("Wrong item"),
    "not_as_described": _("Not as described"),
    "size_or_fit": _("Size or fit"),
    "no_longer_needed": _("No longer needed"),
    "other": _("Other"),
}
LOCALE_NAMES = {"en": "English", "fr": "Français"}
STRATEGY_NAMES = {"priority": _("Location priority"), "most_stock": _("Most stock")}


def _choices(values: dict[str, Any]) -> dict[str, Any]:
    chosen = set(values.get("return_auto_approve_reasons") or [])
    return {
        "reasons": [(r, REASON_NAMES.get(r, r), r in chosen) for r in ReturnReason.values],
        "locales": [(code, LOCALE_NAMES.get(code, code)) for code in LOCALES],
        "strategies": [(code, STRATEGY_NAMES.get(code, code)) for code in STRATEGIES],
    }


def _values(request: HttpRequest) -> dict[str, Any]:
    """What the form sent, as the shop service takes it (a number left blank or not a number
    is passed on as given, so the service names the field)."""
    days = request.POST.get("return_window_days", "")
    retention = request.POST.get("retention_days", "").strip()
    return {
        "name": text(request, "name", 300),
        "email_sender_name": text(request, "email_sender_name", 300),
        "email_sender_address": text(request, "email_sender_address", 300).strip(),
        "email_reply_to": text(request, "email_reply_to", 300).strip(),
        "locale": text(request, "locale", 20),
        "currency": text(request, "currency", 10).strip().upper(),
        "routing_strategy": text(request, "routing_strategy", 30),
        "notify_without_tracking": checked(request, "notify_without_tracking"),
        "return_window_days": integer(days) if integer(days) is not None else days[:20],
        "return_auto_approve_reasons": sorted(
            set(request.POST.getlist("return_auto_approve_reasons")[:20])
        ),
        "return_instructions": text(request, "return_instructions", 6000),
        "retention_days": (integer(retention) if integer(retention) is not None else retention)
        if retention
        else None,
    }


def _shown(shop: Any) -> dict[str, Any]:
    return {
        key: getattr(shop, key)
        for key in (
            "name", "email_sender_name", "email_sender_address", "email_reply_to", "locale",
            "currency", "routing_strategy", "notify_without_tracking", "return_window_days",
            "return_auto_approve_reasons", "return_instructions", "retention_days",
        )
    }  # fmt: skip


@ui_view(write=SETTINGS_WRITE)
def shop_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        values = _values(request)
        try:
            shop_update(data=ShopData(**values), actor=request.actor)  # type: ignore[attr-defined]
        except DomainError as exc:
            return refused(request, TEMPLATE, {"shop": values, **_choices(values)}, exc)
        return done(URL, "saved")
    values = _shown(shop_get())
    return page(request, TEMPLATE, {"shop": values, **_choices(values)})
