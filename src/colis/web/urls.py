"""The merchant UI's paths, under /app/. Each screen's module holds its own `urlpatterns`."""

from __future__ import annotations

from django.urls import include, path

from colis.web import auth_views

urlpatterns = [
    path("login/", auth_views.login_view, name="app-login"),
    path("logout/", auth_views.logout_view, name="app-logout"),
    path("password/", auth_views.password_view, name="app-password"),
    path("language/", auth_views.language_view, name="app-language"),
    path("", include("colis.web.views.dashboard")),
    path("orders/", include("colis.web.views.orders_list")),
    path("orders/", include("colis.web.views.order_page")),
    path("returns/", include("colis.web.views.returns")),
    path("settings/", include("colis.web.views.settings")),
    path("tracking-import/", include("colis.web.views.tracking_import")),
]
