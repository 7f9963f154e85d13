"""Settings: outgoing messages (emails, webhooks, channel updates) that failed, with retry."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from colis.accounts.roles import OUTBOX_MANAGE
from colis.core.errors import DomainError
from colis.core.models import OutboxStatus
from colis.core.outbox import outbox_retry
from colis.core.selectors import outbox_list
from colis.web.access import ui_view
from colis.web.views.settings.common import done, integer, page, refused

TEMPLATE = "app/settings/outbox.html"
URL = "/app/settings/outbox/"
PAGE_SIZE = 50


def _context(request: HttpRequest) -> dict[str, object]:
    before = integer(request.GET.get("before"))
    qs = outbox_list(status=OutboxStatus.FAILED)
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {
        "section": "outbox",
        "messages_failed": rows,
        "next_url": f"?before={rows[-1].pk}" if more else "",
        "first_url": "?" if before is not None else "",
    }


@ui_view(read=OUTBOX_MANAGE, write=OUTBOX_MANAGE)
def outbox_view(request: HttpRequest) -> HttpResponse:
    return page(request, TEMPLATE, _context(request))


@ui_view(read=OUTBOX_MANAGE, write=OUTBOX_MANAGE)
def outbox_retry_view(request: HttpRequest, message_id: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    try:
        outbox_retry(message_id=message_id, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, TEMPLATE, _context(request), exc)
    return done(URL, "retried")


urlpatterns = [
    path("outbox/", outbox_view, name="settings-outbox"),
    path("outbox/<int:message_id>/retry/", outbox_retry_view, name="settings-outbox-retry"),
]
