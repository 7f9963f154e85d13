"""The dashboard: the day's work at a glance."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from colis.web.access import ui_view


@ui_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "app/dashboard.html", {})


urlpatterns = [path("", dashboard, name="app-dashboard")]
