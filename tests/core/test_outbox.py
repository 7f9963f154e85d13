"""The outbox: rows written with their cause, delivered once, retried, failed visibly."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import tests.core.outbox_handlers  # noqa: F401  (registers "test_append")
from colis.core.actor import Actor
from colis.core.errors import Conflict
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import (
    BACKOFF_CAP_SECONDS,
    Effect,
    backoff_delay,
    outbox_deliver,
    outbox_enqueue,
    outbox_enqueue_many,
    outbox_pump,
    outbox_recover,
    outbox_retry,
)

pytestmark = pytest.mark.django_db


def _enqueue(tmp_path, key="k1", **payload):
    return outbox_enqueue(
        kind="test_append",
        idempotency_key=key,
        payload={"path": str(tmp_path / "effects.txt"), **payload},
        order_id=42,
    )


def test_enqueue_is_part_of_the_callers_transaction(tmp_path):
    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue(tmp_path)
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_the_same_key_queues_one_effect(tmp_path):
    first = _enqueue(tmp_path)
    second = _enqueue(tmp_path)
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert DBTaskResult.objects.count() == 1


def test_delivery_runs_the_handler_once(tmp_path):
    message = _enqueue(tmp_path)
    assert outbox_deliver(message_id=message.pk) == "delivered"
    assert outbox_deliver(message_id=message.pk) == "skipped"
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert message.attempts == 1
    assert (tmp_path / "effects.txt").read_text().splitlines() == ["k1"]


def test_a_temporary_failure_is_retried_later_with_a_new_task(tmp_path):
    message = _enqueue(tmp_path, fail="temporary")
    before = timezone.now()
    assert outbox_deliver(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert "far side is down" in message.last_error
    assert message.next_attempt_at > before + timedelta(seconds=4)
    retry_task = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert retry_task.run_after >= message.next_attempt_at - timedelta(seconds=1)
    # Not due yet: another delivery attempt now does nothing.
    assert outbox_deliver(message_id=message.pk) == "skipped"


def test_a_permanent_failure_stops_and_shows_on_the_order_timeline(tmp_path):
    message = _enqueue(tmp_path, fail="permanent")
    assert outbox_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    event = Event.objects.get(kind="outbox_failed")
    assert event.order_id == 42
    assert "refused" in event.data["error"]


def test_too_many_temporary_failures_end_as_failed(tmp_path):
    message = _enqueue(tmp_path, fail="temporary")
    OutboxMessage.objects.filter(pk=message.pk).update(max_attempts=2)
    assert outbox_deliver(message_id=message.pk) == "retry"
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox_deliver(message_id=message.pk) == "failed"
    assert OutboxMessage.objects.get(pk=message.pk).status == OutboxStatus.FAILED


def test_retry_by_hand_requeues_a_failed_message(tmp_path):
    message = _enqueue(tmp_path, fail="permanent")
    outbox_deliver(message_id=message.pk)
    OutboxMessage.objects.filter(pk=message.pk).update(payload={"path": str(tmp_path / "e.txt")})
    outbox_retry(message_id=message.pk, actor=Actor.system("tests"))
    assert OutboxMessage.objects.get(pk=message.pk).status == OutboxStatus.PENDING
    assert outbox_deliver(message_id=message.pk) == "delivered"
    assert Event.objects.filter(kind="outbox_retried", order_id=42).count() == 1
    with pytest.raises(Conflict) as exc:
        outbox_retry(message_id=message.pk, actor=Actor.system("tests"))
    assert exc.value.code == "outbox_not_failed"


def test_a_message_left_in_flight_by_a_dead_worker_is_recovered(tmp_path):
    message = _enqueue(tmp_path)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.IN_FLIGHT,
        claimed_at=timezone.now() - timedelta(seconds=600),
        claimed_by="dead-worker",
    )
    tasks_before = DBTaskResult.objects.count()
    assert outbox_recover(lease_seconds=300) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert "dead-worker" in message.last_error
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert outbox_deliver(message_id=message.pk) == "delivered"


def test_a_fresh_claim_is_not_taken_away(tmp_path):
    message = _enqueue(tmp_path)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.IN_FLIGHT, claimed_at=timezone.now()
    )
    assert outbox_recover(lease_seconds=300) == 0


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    for attempts in range(1, 30):
        ceiling = min(BACKOFF_CAP_SECONDS, 10 * 2 ** (attempts - 1))
        delay = backoff_delay(attempts, rng=rng)
        assert ceiling / 2 <= delay <= ceiling
    delays = {round(backoff_delay(3, rng=rng), 3) for _ in range(20)}
    assert len(delays) > 10  # jittered, so retries of many messages spread out


def test_housekeeping_prunes_only_what_has_expired():
    from colis.core.models import IdempotencyRecord, WorkerHeartbeat
    from colis.core.worker import housekeeping_prune

    now = timezone.now()
    for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=1))):
        IdempotencyRecord.objects.create(
            scope="s", key=key, method="POST", path="/", request_hash="h", created_at=now - age
        )
    WorkerHeartbeat.objects.create(
        worker_id="gone", started_at=now - timedelta(days=1), seen_at=now - timedelta(hours=2)
    )
    WorkerHeartbeat.objects.create(worker_id="alive", started_at=now, seen_at=now)
    pruned = housekeeping_prune()
    assert pruned["idempotency"] == 1 and pruned["heartbeats"] == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive"]


def _die_holding(message, attempts: int) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.IN_FLIGHT,
        attempts=attempts,
        max_attempts=3,
        claimed_at=timezone.now() - timedelta(seconds=600),
        claimed_by="dead-worker",
    )
    outbox_recover(lease_seconds=300)
    message.refresh_from_db()


def test_a_message_that_kept_killing_its_worker_ends_failed(tmp_path):
    message = _enqueue(tmp_path)
    # Claimed on its last attempt by a worker that died: it may only have been waiting in the
    # batch, so it gets one more try...
    _die_holding(message, attempts=3)
    assert message.status == OutboxStatus.PENDING and message.attempts == 2
    assert not Event.objects.filter(kind="outbox_failed").exists()
    # ... and when that one is cut short too, it stops, visibly.
    _die_holding(message, attempts=3)
    assert message.status == OutboxStatus.FAILED
    assert Event.objects.filter(kind="outbox_failed", order_id=42).exists()


def test_untried_rows_of_a_dead_workers_batch_on_their_last_attempt_are_not_failed(tmp_path):
    rows = [_enqueue(tmp_path, key=f"b{i}") for i in range(5)]
    for row in rows:
        _die_holding(row, attempts=3)
    assert {r.status for r in rows} == {OutboxStatus.PENDING}
    assert outbox_pump(worker_id="w2") == 5
    assert (tmp_path / "effects.txt").read_text().splitlines() == [f"b{i}" for i in range(5)]


def test_an_outcome_is_recorded_only_by_the_claim_that_holds_the_row(tmp_path):
    message = _enqueue(tmp_path, fail="temporary")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.IN_FLIGHT, claimed_by="worker-b", claimed_at=timezone.now()
    )
    from colis.core.outbox import _record_failure

    stale_view = OutboxMessage.objects.get(pk=message.pk)
    stale_view.claimed_by = "worker-a"  # what worker A still believes
    _record_failure(stale_view, "late outcome from worker A", permanent=True)
    message.refresh_from_db()
    assert message.status == OutboxStatus.IN_FLIGHT and message.claimed_by == "worker-b"


def test_effects_queued_together_are_delivered_by_the_pump_once(tmp_path):
    path = str(tmp_path / "effects.txt")
    effects = [
        Effect(kind="test_append", idempotency_key=f"m{i}", payload={"path": path}, order_id=7)
        for i in range(3)
    ]
    with transaction.atomic():
        ids = outbox_enqueue_many(effects)
    assert len(ids) == 3 and not DBTaskResult.objects.exists()
    # the same keys again: nothing new
    assert outbox_enqueue_many(effects[:2]) == []
    assert outbox_pump(worker_id="w1") == 3
    assert outbox_pump(worker_id="w1") == 0
    assert (tmp_path / "effects.txt").read_text().splitlines() == ["m0", "m1", "m2"]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}


def test_a_kind_nobody_delivers_yet_is_kept_pending_not_failed():
    [pk] = outbox_enqueue_many(
        [Effect(kind="not_delivered_here", idempotency_key="p1", payload={}, order_id=7)]
    )
    assert outbox_pump(worker_id="w1") == 1
    message = OutboxMessage.objects.get(pk=pk)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert message.next_attempt_at > timezone.now() + timedelta(hours=23)
    assert "not_delivered_here" in message.last_error
    assert outbox_pump(worker_id="w1") == 0


def test_effects_queued_in_a_failed_transaction_are_gone(tmp_path):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue_many(
            [Effect(kind="test_append", idempotency_key="x", payload={"path": str(tmp_path)})]
        )
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
