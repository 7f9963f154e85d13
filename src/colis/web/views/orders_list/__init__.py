"""The orders list: tabs, filters, search, keyset paging, and bulk actions with a dry run."""

from __future__ import annotations

from django.urls import path

from colis.web.views.orders_list import bulk, listing

urlpatterns = [
    path("", listing.orders_list, name="app-orders"),
    path("export.csv", listing.orders_export, name="app-orders-export"),
    path("bulk/", bulk.orders_bulk, name="app-orders-bulk"),
    path("jobs/<int:job_id>/", bulk.bulk_job, name="app-orders-job"),
    path("jobs/<int:job_id>/run/", bulk.bulk_job_run, name="app-orders-job-run"),
]
