"""Settings: webhook subscriptions, their delivery log, and sending a delivery again."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.errors import DomainError, NotFound
from colis.web.access import ui_view
from colis.web.views.settings.common import checked, done, page, refused, text
from colis.webhooks.models import EVENTS, WebhookSubscription
from colis.webhooks.selectors import delivery_list, subscription_get, subscription_list
from colis.webhooks.services import (
    SubscriptionData,
    delivery_redeliver,
    subscription_create,
    subscription_update,
)

LIST = "app/settings/webhooks.html"
DETAIL = "app/settings/webhook.html"
URL = "/app/settings/webhooks/"
LOG_SIZE = 50


def _form(request: HttpRequest) -> dict[str, Any]:
    return {
        "url": text(request, "url", 600).strip(),
        "events": [e for e in request.POST.getlist("events")[:100] if e],
        "allow_private": checked(request, "allow_private"),
    }


def _list(**extra: Any) -> dict[str, Any]:
    return {
        "section": "webhooks",
        "webhooks": list(subscription_list()),
        "events": EVENTS,
        "form": {"events": []},
        **extra,
    }


@ui_view(write=SETTINGS_WRITE)
def webhooks_view(request: HttpRequest) -> HttpResponse:
    """GET: the subscriptions. POST: subscribe a URL; its signing secret is shown once."""
    if request.method == "GET":
        return page(request, LIST, _list())
    form = _form(request)
    try:
        sub = subscription_create(data=SubscriptionData(**form), actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, LIST, _list(form=form), exc)
    response = page(request, LIST, _list(created=sub))
    response["Cache-Control"] = "no-store"
    return response


def _sub(subscription_id: int) -> WebhookSubscription:
    try:
        return subscription_get(subscription_id=subscription_id)
    except NotFound:
        raise Http404 from None


def _detail(sub: WebhookSubscription, form: dict[str, Any] | None = None) -> dict[str, Any]:
    shown = form or {
        "url": sub.url, "events": sub.events, "allow_private": sub.allow_private,
        "active": sub.active,
    }  # fmt: skip
    return {
        "section": "webhooks",
        "webhook": sub,
        "form": shown,
        "events": EVENTS,
        "deliveries": list(delivery_list(subscription_id=sub.pk)[:LOG_SIZE]),
    }


@ui_view(write=SETTINGS_WRITE)
def webhook_view(request: HttpRequest, webhook_id: int) -> HttpResponse:
    sub = _sub(webhook_id)
    if request.method == "GET":
        return page(request, DETAIL, _detail(sub))
    form = {**_form(request), "active": checked(request, "active")}
    try:
        subscription_update(
            subscription_id=sub.pk,
            data=SubscriptionData(**form),
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, DETAIL, _detail(sub, form), exc)
    return done(f"{URL}{sub.pk}/", "saved")


@ui_view(write=SETTINGS_WRITE)
def delivery_again(request: HttpRequest, webhook_id: int, delivery_id: int) -> HttpResponse:
    sub = _sub(webhook_id)
    if request.method != "POST":
        raise Http404
    try:
        delivery_redeliver(delivery_id=delivery_id, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, DETAIL, _detail(sub), exc)
    return done(f"{URL}{sub.pk}/", "retried")


urlpatterns = [
    path("webhooks/", webhooks_view, name="settings-webhooks"),
    path("webhooks/<int:webhook_id>/", webhook_view, name="settings-webhook"),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/again/",
        delivery_again,
        name="settings-webhook-redeliver",
    ),
]
