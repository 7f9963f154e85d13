"""POST /api/v1/bulk/{action} and GET /api/v1/jobs/{id}: dry runs, real runs, jobs, errors."""

from __future__ import annotations

import pytest

from colis.core.jobs import job_run
from colis.core.models import Event, Job
from colis.fulfillment.models import Shipment
from colis.orders.bulk_actions import SYNC_LIMIT, BulkStep
from colis.orders.models import Order
from tests.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
BULK = "/api/v1/bulk"
UPS_OK = ["1Z5R89390357567127", "1Z879E930346834440"]


@pytest.fixture
def make_orders(api, stocked):
    stocked("BAR-A", qty=1000)

    def make(count, **extra):
        response = api.post(
            f"{ORDERS}/bulk", {"orders": [order_body([("BAR-A", 1)], **extra)] * count}
        )
        assert response.status_code == 200, response.content
        return [r["order"]["id"] for r in response.json()["results"]]

    return make


def test_a_dry_run_answers_per_order_and_changes_nothing(api, make_orders):
    # given two open orders, one of them cancelled
    ids = make_orders(2)
    api.post(f"{ORDERS}/{ids[1]}/cancel")
    events = Event.objects.count()
    # when the hold is tried
    response = api.post(f"{BULK}/hold", {"order_ids": ids, "reason": "other", "dry_run": True})
    # then each order says what would happen, or why not
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True
    first, second = body["results"]
    assert first["order_id"] == ids[0] and first["ok"] is True and first["number"]
    assert first["would"]["reason"] == "other" and "did" not in first
    assert second["ok"] is False
    assert second["skipped"]["code"] == "order_cancelled" and second["skipped"]["message"]
    assert body["summary"] == {
        "total": 2,
        "ok": 1,
        "skipped": 1,
        "skipped_by_code": {"order_cancelled": 1},
    }
    assert Event.objects.count() == events


def test_the_real_run_does_what_the_dry_run_said(api, make_orders):
    ids = make_orders(3)
    api.post(f"{ORDERS}/{ids[2]}/cancel")
    body = {"order_ids": ids, "status": "awaiting_shipment"}
    dry = api.post(f"{BULK}/set-status", {**body, "dry_run": True}).json()
    real = api.post(f"{BULK}/set-status", body).json()
    assert [(r["ok"], r.get("skipped", {}).get("code")) for r in dry["results"]] == [
        (r["ok"], r.get("skipped", {}).get("code")) for r in real["results"]
    ]
    assert real["results"][0]["did"]["status"] == {
        "from": "awaiting_fulfillment",
        "to": "awaiting_shipment",
    }
    statuses = dict(Order.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [statuses[i] for i in ids] == [9, 9, 5]


def test_fulfill_with_tracking_per_order(api, make_orders):
    ids = make_orders(2)
    response = api.post(
        f"{BULK}/fulfill",
        {
            "orders": [
                {"order_id": ids[0], "carrier": "ups", "tracking_numbers": [UPS_OK[0]]},
                {"order_id": ids[1], "carrier": "ups", "tracking_numbers": [UPS_OK[1]]},
            ],
            "notify_customer": False,
        },
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert all(r["ok"] for r in results)
    assert results[0]["did"]["shipments"][0]["shipment_id"]
    shipped = dict(Shipment.objects.values_list("order_id", "tracking_numbers"))
    assert shipped == {ids[0]: [UPS_OK[0]], ids[1]: [UPS_OK[1]]}
    assert not Shipment.objects.filter(notify_customer=True).exists()


def test_a_filter_picks_the_orders(api, make_orders):
    paid = make_orders(2)
    make_orders(1, financial_status="pending")
    response = api.post(
        f"{BULK}/print",
        {"filter": {"status": "awaiting_fulfillment"}, "mark_awaiting_shipment": True},
    )
    assert response.status_code == 200, response.content
    assert [r["order_id"] for r in response.json()["results"]] == paid
    assert Event.objects.filter(kind="documents_printed").count() == 2


def test_a_large_batch_runs_as_a_job_with_progress_and_results(api, make_orders):
    # given more orders than run within a request
    ids = make_orders(SYNC_LIMIT + 1)
    # when they are all held
    response = api.post(f"{BULK}/hold", {"order_ids": ids, "reason": "other"})
    # then a job is queued
    assert response.status_code == 202, response.content
    job = response.json()["job"]
    assert job["status"] == "queued"
    assert job["progress"] == {"done": 0, "total": SYNC_LIMIT + 1}
    # and once the worker ran it, it shows its progress and its results page by page
    job_run(job_id=job["id"], worker_id="w1", step_for=BulkStep)
    shown = api.get(f"/api/v1/jobs/{job['id']}", limit=150).json()
    assert shown["status"] == "succeeded"
    assert shown["progress"] == {"done": SYNC_LIMIT + 1, "total": SYNC_LIMIT + 1}
    assert shown["summary"] == {"ok": SYNC_LIMIT + 1, "skipped": 0, "skipped_by_code": {}}
    assert len(shown["results"]) == 150 and shown["next_cursor"]
    rest = api.get(f"/api/v1/jobs/{job['id']}", cursor=shown["next_cursor"], limit=150).json()
    assert [r["order_id"] for r in shown["results"] + rest["results"]] == ids
    assert rest["next_cursor"] is None
    listed = api.get("/api/v1/jobs").json()["items"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_async_runs_even_a_small_batch_as_a_job(api, make_orders):
    ids = make_orders(2)
    response = api.post(f"{BULK}/cancel", {"order_ids": ids, "async": True, "dry_run": True})
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.params["dry_run"] is True and job.kind == "bulk.cancel"
    cancelled = api.post(f"/api/v1/jobs/{job.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post(f"/api/v1/jobs/{job.pk}/cancel").json()["code"] == "job_finished"


def test_an_unknown_job_is_404(api):
    response = api.get("/api/v1/jobs/999999")
    assert response.status_code == 404 and response.json()["code"] == "job_not_found"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("hold", {"order_ids": [1]}, "reason"),
        ("hold", {"order_ids": [1], "reason": "because"}, "reason"),
        ("set-status", {"order_ids": [1], "status": "teleported"}, "status"),
        ("release", {}, "order_ids"),
        ("release", {"order_ids": [1], "filter": {}}, "order_ids"),
        ("release", {"order_ids": []}, "order_ids"),
        ("release", {"order_ids": [0]}, "order_ids[0]"),
        ("release", {"filter": {"status": "nope"}}, "filter.status"),
        ("release", {"filter": {"location": "x"}}, "filter.location"),
        ("print", {"order_ids": [1], "document": "poster"}, "document"),
        ("fulfill", {"order_ids": [1], "carrier": "pigeon-post"}, "carrier"),
        ("fulfill", {"orders": [{"order_id": 1}, {"carrier": "ups"}]}, "orders[1].order_id"),
        ("fulfill", {"orders": [{"order_id": 1}, {"order_id": 1}]}, "orders[1].order_id"),
        ("fulfill", {"orders": [{"order_id": 1}], "order_ids": [1]}, "orders"),
    ],
)
def test_validation_errors_name_the_field(api, path, body, field):
    response = api.post(f"{BULK}/{path}", body)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"], response.json()


@pytest.mark.parametrize("path", ["fulfill", "hold", "release", "set-status", "cancel", "print"])
def test_readonly_cannot_run_bulk_actions_even_dry(make_api, make_orders, path):
    ids = make_orders(1)
    readonly = make_api("readonly")
    body = {"order_ids": ids, "dry_run": True, "reason": "other", "status": "shipped"}
    response = readonly.post(f"{BULK}/{path}", body)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_role"


def test_readonly_can_follow_a_job_but_not_cancel_it(api, make_api, make_orders):
    ids = make_orders(1)
    job = api.post(f"{BULK}/release", {"order_ids": ids, "async": True}).json()["job"]
    readonly = make_api("readonly")
    assert readonly.get(f"/api/v1/jobs/{job['id']}").status_code == 200
    assert readonly.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 403
    assert Job.objects.get(pk=job["id"]).status == "queued"
