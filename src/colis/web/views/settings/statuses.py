"""Settings: the shop's names for the fifteen order statuses."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from colis.accounts.roles import SETTINGS_WRITE
from colis.core.errors import DomainError
from colis.orders.selectors import status_labels
from colis.orders.services import status_label_set
from colis.orders.status import STATUS_NAMES, OrderStatus
from colis.web.access import ui_view
from colis.web.views.settings.common import done, page, refused, text

TEMPLATE = "app/settings/statuses.html"
URL = "/app/settings/statuses/"


def _rows(typed: dict[int, str] | None = None) -> list[dict[str, object]]:
    labels = status_labels()
    return [
        {
            "id": s.value,
            "name": STATUS_NAMES[s.value],
            "default": s.label,
            "label": (typed or {}).get(s.value, labels[s.value]),
        }
        for s in OrderStatus
    ]


@ui_view(write=SETTINGS_WRITE)
def statuses_view(request: HttpRequest) -> HttpResponse:
    return page(request, TEMPLATE, {"section": "statuses", "statuses": _rows()})


@ui_view(write=SETTINGS_WRITE)
def status_rename(request: HttpRequest, status_id: int) -> HttpResponse:
    if request.method != "POST" or status_id not in STATUS_NAMES:
        raise Http404
    label = text(request, "label", 200)
    try:
        status_label_set(status=status_id, label=label, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        context = {"section": "statuses", "statuses": _rows({status_id: label}),
                   "failed": status_id}  # fmt: skip
        return refused(request, TEMPLATE, context, exc)
    return done(URL, "saved")


urlpatterns = [
    path("statuses/", statuses_view, name="settings-statuses"),
    path("statuses/<int:status_id>/", status_rename, name="settings-status"),
]
