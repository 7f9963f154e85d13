"""The order page, its writes, fulfill items, and the packing slip (under /app/orders/)."""

from __future__ import annotations

from django.urls import path

from colis.web.views.order_page import actions, fulfill, page

urlpatterns = [
    path("carrier-detect/", fulfill.detect, name="app-carrier-detect"),
    path("<int:order_id>/", page.order_view, name="app-order"),
    path("<int:order_id>/packing-slip.pdf", page.packing_slip, name="app-order-slip"),
    path("<int:order_id>/status/", actions.status_set, name="app-order-status"),
    path("<int:order_id>/address/", actions.address_set, name="app-order-address"),
    path("<int:order_id>/notes/", actions.note_add, name="app-order-note"),
    path("<int:order_id>/returns/", actions.return_add, name="app-order-return"),
    path("<int:order_id>/sync/<int:record_id>/retry/", actions.sync_retry, name="app-order-sync"),
    path("<int:order_id>/fo/<int:fo_id>/hold/", actions.fo_hold, name="app-fo-hold"),
    path("<int:order_id>/fo/<int:fo_id>/release/", actions.fo_release, name="app-fo-release"),
    path("<int:order_id>/fo/<int:fo_id>/move/", actions.fo_move, name="app-fo-move"),
    path("<int:order_id>/fo/<int:fo_id>/split/", actions.fo_split, name="app-fo-split"),
    path("<int:order_id>/fulfill/<int:fo_id>/", fulfill.fulfill, name="app-fulfill"),
]
