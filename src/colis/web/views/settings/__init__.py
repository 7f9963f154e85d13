"""Settings screens under /app/settings/: one module per screen, their paths here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from colis.web.access import ui_view
from colis.web.views.settings import (
    channels,
    emails,
    inventory,
    locations,
    outbox,
    partners,
    products,
    shipping,
    shop,
    statuses,
    users,
    webhooks,
)
from colis.web.views.settings.common import page


@ui_view()
def index(request: HttpRequest) -> HttpResponse:
    return page(request, "app/settings/index.html", {"section": "index"})


urlpatterns = [
    path("", index, name="settings-index"),
    path("shop/", shop.shop_view, name="settings-shop"),
    *locations.urlpatterns,
    *products.urlpatterns,
    *inventory.urlpatterns,
    *statuses.urlpatterns,
    *emails.urlpatterns,
    *outbox.urlpatterns,
    *users.urlpatterns,
    *webhooks.urlpatterns,
    *shipping.urlpatterns,
    *partners.urlpatterns,
    *channels.urlpatterns,
]
