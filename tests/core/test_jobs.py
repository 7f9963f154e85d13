"""Jobs on the worker: progress kept per order as it goes, a restart resumes without redoing a
finished order, a lost lease or a cancel stops the run cleanly."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from colis.core.errors import Conflict
from colis.core.jobs import (
    MAX_ATTEMPTS,
    ItemResult,
    job_cancel,
    job_create,
    job_kind_register,
    job_run,
    jobs_prune,
    jobs_recover,
)
from colis.core.models import Event, Job, JobItem, JobStatus
from colis.core.timeline import event_record
from colis.orders.bulk_actions import BulkStep, bulk_action_build, bulk_start
from tests.factories import ACTOR, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


@pytest.fixture
def orders(api, stocked):
    stocked("BAR-A", qty=100)
    ids = []
    for _ in range(6):
        response = api.post(ORDERS, order_body([("BAR-A", 1)]))
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


def _hold_job(order_ids, dry_run=False):
    action = bulk_action_build(name="hold", options={"reason": "other"}, dry_run=dry_run)
    return bulk_start(action=action, order_ids=order_ids, actor=ACTOR)


def _held_events(order_ids):
    return Counter(
        Event.objects.filter(order_id__in=order_ids, kind="fulfillment_order_held").values_list(
            "order_id", flat=True
        )
    )


def _worker_dies(job: Job) -> None:
    """What a dead worker leaves: the job running under a lease that has run out."""
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


def test_a_job_is_queued_on_the_worker_with_its_orders(orders):
    job = _hold_job(orders)
    assert (job.status, job.total, job.done, job.subject_ids) == ("queued", 6, 0, orders)
    task = DBTaskResult.objects.get(task_path="colis.orders.bulk_actions.bulk_job_task")
    assert task.args_kwargs["args"] == [job.pk]
    assert Event.objects.filter(subject_type="job", kind="job_created").count() == 1


def test_a_job_interrupted_half_way_finishes_without_redoing_finished_orders(orders):
    # given a job whose worker did half of it and died
    job = _hold_job(orders)
    assert job_run(job_id=job.pk, worker_id="w1", step_for=BulkStep, stop_after=3) is not None
    job.refresh_from_db()
    assert (job.status, job.done) == ("running", 3)
    assert sorted(_held_events(orders).values()) == [1, 1, 1]
    # while its lease holds, nobody else takes it
    assert job_run(job_id=job.pk, worker_id="w2", step_for=BulkStep) is None
    _worker_dies(job)
    # when the housekeeping finds it and a worker picks it up again
    assert jobs_recover() == 1
    assert DBTaskResult.objects.filter(args_kwargs__args=[job.pk]).count() == 2
    finished = job_run(job_id=job.pk, worker_id="w2", step_for=BulkStep)
    # then it finishes, and each order was held exactly once
    assert finished is not None and finished.status == JobStatus.SUCCEEDED
    assert (finished.done, finished.ok_count, finished.total, finished.attempts) == (6, 6, 6, 2)
    assert _held_events(orders) == dict.fromkeys(orders, 1)
    items = JobItem.objects.filter(job=job).order_by("position")
    assert [i.subject_id for i in items] == orders
    assert all(i.result["did"]["reason"] == "other" for i in items)
    assert Event.objects.filter(subject_id=job.pk, kind="job_finished").count() == 1


class _Killed(BaseException):
    """The worker process dying in the middle of an order (SIGKILL)."""


def test_a_worker_killed_inside_an_order_leaves_that_order_untouched(orders):
    # given a worker that dies after the third order's change, before it commits
    job = _hold_job(orders)

    class DiesOnThird(BulkStep):
        def run(self, subject_id):
            result = super().run(subject_id)
            if subject_id == orders[2]:
                raise _Killed
            return result

    with pytest.raises(_Killed):
        job_run(job_id=job.pk, worker_id="w1", step_for=DiesOnThird)
    # then the third order's hold went with the dead transaction
    assert set(_held_events(orders)) == set(orders[:2])
    assert Job.objects.get(pk=job.pk).done == 2
    # and once restarted, every order is held once
    _worker_dies(job)
    jobs_recover()
    assert job_run(job_id=job.pk, worker_id="w2", step_for=BulkStep).status == "succeeded"
    assert _held_events(orders) == dict.fromkeys(orders, 1)


def _between_orders(monkeypatch, after: int, happen) -> None:
    """Make `happen` run, as another process would, once `after` orders are finished."""
    from colis.core import jobs

    real_one = jobs._one
    calls = []

    def one(*args, **kwargs):
        outcome = real_one(*args, **kwargs)
        calls.append(outcome)
        if len(calls) == after:
            happen()
        return outcome

    monkeypatch.setattr(jobs, "_one", one)


def test_a_worker_that_lost_its_lease_stops_and_undoes_the_order_in_hand(orders, monkeypatch):
    # given a slow worker whose job another worker takes over after its second order
    job = _hold_job(orders)
    _between_orders(monkeypatch, 2, lambda: Job.objects.filter(pk=job.pk).update(claimed_by="w2"))
    # when it goes on with its third order
    assert job_run(job_id=job.pk, worker_id="w1", step_for=BulkStep) is None
    # then that order's change is undone, and the job stays with the other worker
    assert set(_held_events(orders)) == set(orders[:2])
    assert Job.objects.filter(pk=job.pk, claimed_by="w2", done=2, status="running").exists()


def test_cancelling_a_queued_job_means_it_never_runs(orders):
    job = _hold_job(orders)
    cancelled = job_cancel(job_id=job.pk, actor=ACTOR)
    assert cancelled.status == "cancelled" and cancelled.finished_at
    assert job_run(job_id=job.pk, worker_id="w1", step_for=BulkStep) is None
    assert not _held_events(orders)


def test_cancelling_a_running_job_stops_it_and_keeps_what_it_finished(orders, monkeypatch):
    # given a running job cancelled after its second order
    job = _hold_job(orders)
    _between_orders(monkeypatch, 2, lambda: job_cancel(job_id=job.pk, actor=ACTOR))
    finished = job_run(job_id=job.pk, worker_id="w1", step_for=BulkStep)
    # then it ends cancelled: the first two orders held, the rest untouched
    assert finished.status == "cancelled" and finished.done == 2
    assert set(_held_events(orders)) == set(orders[:2])
    with pytest.raises(Conflict) as refused:
        job_cancel(job_id=job.pk, actor=ACTOR)
    assert refused.value.code == "job_finished"


def test_a_dry_run_job_keeps_what_would_happen_and_changes_nothing(orders):
    job = _hold_job(orders, dry_run=True)
    events = Event.objects.filter(order_id__isnull=False).count()
    assert job_run(job_id=job.pk, worker_id="w1", step_for=BulkStep).status == "succeeded"
    assert Event.objects.filter(order_id__isnull=False).count() == events
    results = [i.result for i in JobItem.objects.filter(job=job).order_by("position")]
    assert [r["would"]["reason"] for r in results] == ["other"] * 6
    assert all("did" not in r for r in results)


def test_a_job_that_keeps_failing_is_given_up(orders):
    job = _hold_job(orders)
    Job.objects.filter(pk=job.pk).update(
        status="running", attempts=MAX_ATTEMPTS, lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert jobs_recover() == 0
    job.refresh_from_db()
    assert job.status == "failed" and "attempts" in job.error


class _Recorder:
    def __init__(self):
        self.enqueued = []

    def enqueue(self, job_id):
        self.enqueued.append(job_id)


class _NoteStep:
    """A generic step: one timeline note per subject; subject 13 breaks."""

    def __init__(self, job):
        self.job = job

    def run(self, subject_id):
        if subject_id == 13:
            raise ValueError("unlucky")
        event_record(subject_type="thing", subject_id=subject_id, kind="noted", actor=ACTOR)
        return ItemResult(ok=True, data={"id": subject_id})

    def failed(self, subject_id, error):
        return ItemResult(ok=False, code="internal_error", data={"id": subject_id})


def test_a_subject_that_raises_is_recorded_as_failed_and_the_job_goes_on(db):
    recorder = _Recorder()
    job_kind_register("test.note", recorder)
    job = job_create(kind="test.note", params={}, subject_ids=[11, 12, 13, 14], actor=ACTOR)
    assert recorder.enqueued == [job.pk]
    finished = job_run(job_id=job.pk, worker_id="w1", step_for=_NoteStep)
    assert (finished.status, finished.done, finished.ok_count) == ("succeeded", 4, 3)
    assert sorted(Event.objects.filter(kind="noted").values_list("subject_id", flat=True)) == [
        11,
        12,
        14,
    ]
    assert JobItem.objects.get(job=job, subject_id=13).code == "internal_error"


def test_finished_jobs_are_pruned_after_a_month(db):
    job_kind_register("test.note", _Recorder())
    job = job_create(kind="test.note", params={}, subject_ids=[1], actor=ACTOR)
    job_run(job_id=job.pk, worker_id="w1", step_for=_NoteStep)
    assert jobs_prune() == 0
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=31))
    assert jobs_prune() >= 1
    assert not Job.objects.filter(pk=job.pk).exists()
