"""Returns (RMAs) under /app/returns/: the list with filters, one return and its actions."""

from __future__ import annotations

from django.urls import path

from colis.web.views.returns import actions, pages

urlpatterns = [
    path("", pages.return_list, name="app-returns"),
    path("<int:return_id>/", pages.return_view, name="app-return"),
    path("<int:return_id>/refund/", actions.refund, name="app-return-refund"),
    path("<int:return_id>/<slug:action>/", actions.return_action, name="app-return-action"),
]
