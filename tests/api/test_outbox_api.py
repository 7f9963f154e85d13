"""GET /api/v1/outbox and POST /api/v1/outbox/{id}/retry: seeing and retrying failed effects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from colis.core.models import Event, OutboxMessage, OutboxStatus

pytestmark = pytest.mark.django_db

OUTBOX = "/api/v1/outbox"


def message(key: str, status: str, **extra) -> OutboxMessage:
    """An outbox row as the worker leaves it (given state, no delivery attempted here)."""
    now = timezone.now()
    values = {
        "kind": "email",
        "idempotency_key": key,
        "payload": {"to": "buyer@example.com"},
        "status": status,
        "attempts": 12 if status == OutboxStatus.FAILED else 0,
        "next_attempt_at": now - timedelta(hours=1),
        "created_at": now - timedelta(hours=2),
        "last_error": "SMTP 554" if status == OutboxStatus.FAILED else "",
    }
    values.update(extra)
    return OutboxMessage.objects.create(**values)


def test_failed_messages_are_listed_with_their_error(make_api):
    # given one message in each state
    failed = message("m-failed", OutboxStatus.FAILED, order_id=7)
    message("m-pending", OutboxStatus.PENDING)
    message("m-delivered", OutboxStatus.DELIVERED)
    # when a readonly user asks for the failed ones
    response = make_api("readonly").get(OUTBOX, status="failed")
    # then only that one is listed, with why it failed
    assert response.status_code == 200
    items = response.json()["items"]
    assert [m["id"] for m in items] == [failed.pk]
    assert items[0]["status"] == "failed"
    assert items[0]["last_error"] == "SMTP 554"
    assert items[0]["order_id"] == 7
    assert items[0]["idempotency_key"] == "m-failed"
    assert response.json()["next_cursor"] is None


def test_the_outbox_pages_newest_first(api):
    rows = [message(f"m-{i}", OutboxStatus.FAILED) for i in range(5)]
    seen, cursor = [], None
    while True:
        page = api.get(OUTBOX, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [m.pk for m in reversed(rows)]


def test_kind_filters_the_outbox(api):
    email = message("m-1", OutboxStatus.FAILED)
    message("m-2", OutboxStatus.FAILED, kind="webhook")
    assert [m["id"] for m in api.get(OUTBOX, kind="email").json()["items"]] == [email.pk]


@pytest.mark.parametrize(("param", "value"), [("status", "lost"), ("limit", "0"), ("cursor", "?")])
def test_a_bad_filter_is_422(api, param, value):
    response = api.get(OUTBOX, **{param: value})
    assert response.status_code == 422
    assert param in response.json()["fields"]


def test_retrying_a_failed_message_puts_it_back_in_the_queue(make_api):
    # given a failed message about an order
    failed = message("m-1", OutboxStatus.FAILED, order_id=42)
    tasks_before = DBTaskResult.objects.count()
    # when a manager retries it
    response = make_api("manager").post(f"{OUTBOX}/{failed.pk}/retry")
    # then it is pending again, due now, with its attempts reset and a task queued
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"
    failed.refresh_from_db()
    assert failed.status == OutboxStatus.PENDING
    assert failed.attempts == 0
    assert failed.next_attempt_at <= timezone.now()
    assert DBTaskResult.objects.count() == tasks_before + 1
    # and the order's timeline says who retried it
    event = Event.objects.get(kind="outbox_retried")
    assert (event.order_id, event.subject_id, event.actor_kind) == (42, failed.pk, "user")


@pytest.mark.parametrize(
    "status", [OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.DELIVERED]
)
def test_retrying_a_message_that_has_not_failed_is_409(api, status):
    row = message("m-1", status)
    response = api.post(f"{OUTBOX}/{row.pk}/retry")
    assert response.status_code == 409
    assert response.json()["code"] == "outbox_not_failed"
    row.refresh_from_db()
    assert row.status == status
    assert not Event.objects.filter(kind="outbox_retried").exists()


def test_retrying_an_unknown_message_is_404(api):
    response = api.post(f"{OUTBOX}/999999/retry")
    assert response.status_code == 404
    assert response.json()["code"] == "outbox_message_not_found"


def test_staff_may_not_retry(make_api):
    failed = message("m-1", OutboxStatus.FAILED)
    response = make_api("staff").post(f"{OUTBOX}/{failed.pk}/retry")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_role"
    failed.refresh_from_db()
    assert failed.status == OutboxStatus.FAILED
