"""Jobs: work over many subjects (orders) that runs on the worker and survives a restart.

A job fixes its list of subjects when it is created. The worker that claims it holds a lease,
renewed with every subject; each subject runs in its own transaction, which also writes the
subject's `JobItem` and moves the job's progress. So a subject is done exactly once: a job
picked up again after its worker died (its lease ran out) starts from the first subject
without an item, and a subject whose transaction did not commit is simply done then.

Each kind of job names the django-tasks task that runs it (`job_kind_register`); the task calls
`job_run` with the step that does one subject.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound
from colis.core.models import Job, JobItem, JobStatus
from colis.core.timeline import event_record
from colis.core.worker import housekeeping_register

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
JOBS_KEEP = timedelta(days=30)


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemResult:
    """What a step did to one subject: `ok`, a `code` when it did not, and the JSON shown."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    code: str = ""


class JobStep(Protocol):
    def run(self, subject_id: int) -> ItemResult:
        """Do one subject, inside the transaction `job_run` opened for it."""

    def failed(self, subject_id: int, error: Exception) -> ItemResult:
        """The result to keep for a subject whose step raised something unexpected."""


StepFactory = Callable[[Job], JobStep]


class _Enqueueable(Protocol):
    def enqueue(self, job_id: int) -> Any: ...


_KINDS: dict[str, _Enqueueable] = {}


def job_kind_register(kind: str, task: _Enqueueable) -> None:
    """Name the task that runs jobs of this kind (at import of the module defining it)."""
    _KINDS[kind] = task


def _enqueue(job: Job) -> None:
    task = _KINDS.get(job.kind)
    if task is None:
        raise LookupError(f"No task runs jobs of kind {job.kind!r}.")
    # django-tasks' database backend writes the task row in this same transaction.
    task.enqueue(job.pk)


def job_actor(job: Job) -> Actor:
    """Who the job acts for: the caller that created it."""
    return Actor(
        kind=job.actor_kind,  # type: ignore[arg-type]
        id=job.actor_id,
        label=job.actor_label,
        role=job.actor_role,
    )


def job_create(
    *, kind: str, params: dict[str, Any], subject_ids: Sequence[int], actor: Actor
) -> Job:
    """Create a queued job over `subject_ids` (in this order) and queue its task."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params,
            subject_ids=list(subject_ids),
            total=len(subject_ids),
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:200],
            actor_role=actor.role,
            # A queued job whose task never started is queued again once this runs out.
            lease_until=now + LEASE,
            created_at=now,
            updated_at=now,
        )
        event_record(
            subject_type="job",
            subject_id=job.pk,
            kind="job_created",
            actor=actor,
            data={"kind": kind, "total": job.total},
        )
        _enqueue(job)
    return job


def job_cancel(*, job_id: int, actor: Actor) -> Job:
    """Cancel a job: a queued one at once; a running one stops where it is (the subject in
    hand is undone, those it finished stay done). Raises NotFound, Conflict (`job_finished`)."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound("No such job.", code="job_not_found")
        if job.status in FINISHED:
            raise Conflict(f"This job has already {job.status}.", code="job_finished")
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            job.lease_until = None
        job.cancel_requested = True
        job.updated_at = now
        job.save(
            update_fields=["status", "finished_at", "lease_until", "cancel_requested", "updated_at"]
        )
        event_record(
            subject_type="job",
            subject_id=job.pk,
            kind="job_cancel_requested",
            actor=actor,
            data={"status": job.status, "done": job.done, "total": job.total},
        )
    return job


def _claim(job_id: int, worker_id: str) -> bool:
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id)
        .filter(
            Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_until__lt=now),
            cancel_requested=False,
        )
        .update(
            status=JobStatus.RUNNING,
            claimed_by=worker_id[:64],
            lease_until=now + LEASE,
            started_at=Coalesce("started_at", Value(now)),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )


class _Interrupted(Exception):
    """The job is no longer ours (lease taken over) or was cancelled: undo this subject."""


def _one(job: Job, position: int, subject_id: int, worker_id: str, step: JobStep) -> str:
    """Run one subject. Returns "done", or "stop" when the job must not go on here."""
    try:
        with transaction.atomic():
            result = step.run(subject_id)
            _record(job, position, subject_id, worker_id, result)
        return "done"
    except _Interrupted:
        return "stop"
    except IntegrityError:
        if JobItem.objects.filter(job_id=job.pk, subject_id=subject_id).exists():
            # Another run of this job did the subject; its change stands, ours was undone.
            return "done"
        error: Exception = IntegrityError("integrity error")
    except Exception as exc:
        error = exc
    logger.exception("job %s: subject %s failed", job.pk, subject_id, exc_info=error)
    try:
        with transaction.atomic():
            _record(job, position, subject_id, worker_id, step.failed(subject_id, error))
    except _Interrupted:
        return "stop"
    except IntegrityError:
        pass
    return "done"


def _record(job: Job, position: int, subject_id: int, worker_id: str, result: ItemResult) -> None:
    now = timezone.now()
    JobItem.objects.create(
        job_id=job.pk,
        position=position,
        subject_id=subject_id,
        ok=result.ok,
        code=result.code[:60],
        result=result.data,
        created_at=now,
    )
    kept = Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, claimed_by=worker_id[:64], cancel_requested=False
    ).update(
        done=F("done") + 1,
        ok_count=F("ok_count") + int(result.ok),
        lease_until=now + LEASE,
        updated_at=now,
    )
    if not kept:
        raise _Interrupted


def _finish(job_id: int, worker_id: str, status: str, error: str = "") -> Job | None:
    now = timezone.now()
    with transaction.atomic():
        finished = Job.objects.filter(
            pk=job_id, status=JobStatus.RUNNING, claimed_by=worker_id[:64]
        ).update(status=status, finished_at=now, lease_until=None, error=error, updated_at=now)
        if not finished:
            return None
        job = Job.objects.get(pk=job_id)
        event_record(
            subject_type="job",
            subject_id=job.pk,
            kind="job_finished",
            actor=job_actor(job),
            data={"status": status, "done": job.done, "total": job.total, "ok": job.ok_count},
        )
    return job


def job_run(
    *, job_id: int, worker_id: str, step_for: StepFactory, stop_after: int | None = None
) -> Job | None:
    """Claim the job (queued, or running under a lease that ran out) and do its subjects that
    have no item yet, in order. Returns the finished job, or None when it was not ours to run
    or we lost it. `stop_after` leaves it running after that many subjects (as a worker that
    dies would), for tests and benchmarks."""
    if not _claim(job_id, worker_id):
        return None
    job = Job.objects.get(pk=job_id)
    step = step_for(job)
    finished = set(JobItem.objects.filter(job_id=job_id).values_list("subject_id", flat=True))
    ran = 0
    for position, subject_id in enumerate(job.subject_ids):
        if subject_id in finished:
            continue
        if stop_after is not None and ran >= stop_after:
            return job
        ran += 1
        if _one(job, position, subject_id, worker_id, step) == "stop":
            job.refresh_from_db()
            if job.cancel_requested and job.claimed_by == worker_id[:64]:
                return _finish(job_id, worker_id, JobStatus.CANCELLED)
            return None
    return _finish(job_id, worker_id, JobStatus.SUCCEEDED)


def jobs_recover() -> int:
    """Queue again the jobs whose worker died (running, lease run out) or whose task never
    started (queued, lease run out); fail those tried MAX_ATTEMPTS times. Housekeeping job."""
    now = timezone.now()
    stale = list(
        Job.objects.filter(
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING], lease_until__lt=now
        ).values_list("pk", "attempts", "cancel_requested")
    )
    requeued = 0
    for job_id, attempts, cancel_requested in stale:
        with transaction.atomic():
            if cancel_requested:
                Job.objects.filter(pk=job_id, lease_until__lt=now).update(
                    status=JobStatus.CANCELLED, finished_at=now, lease_until=None, updated_at=now
                )
                continue
            if attempts >= MAX_ATTEMPTS:
                Job.objects.filter(pk=job_id, lease_until__lt=now).update(
                    status=JobStatus.FAILED,
                    finished_at=now,
                    lease_until=None,
                    error=f"Stopped after {attempts} attempts.",
                    updated_at=now,
                )
                continue
            moved = Job.objects.filter(
                pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING], lease_until__lt=now
            ).update(
                status=JobStatus.QUEUED, claimed_by="", lease_until=now + LEASE, updated_at=now
            )
            job = Job.objects.get(pk=job_id)
            if moved and job.kind in _KINDS:
                _enqueue(job)
                requeued += 1
    return requeued


def jobs_prune() -> int:
    """Delete finished jobs (and their items) after JOBS_KEEP."""
    return Job.objects.filter(
        status__in=FINISHED, finished_at__lt=timezone.now() - JOBS_KEEP
    ).delete()[0]


def _housekeeping() -> None:
    requeued = jobs_recover()
    if requeued:
        logger.info("requeued %s jobs", requeued)


housekeeping_register(_housekeeping, every=6)
housekeeping_register(jobs_prune, every=720)


# --- reads ----------------------------------------------------------------------------


def job_get(*, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    return job


def job_codes(*, job_id: int) -> dict[str, int]:
    """How many subjects ended with each code (skipped or failed ones)."""
    rows = (
        JobItem.objects.filter(job_id=job_id, ok=False)
        .values_list("code")
        .annotate(n=Count("id"))
        .order_by("code")
    )
    return {code or "error": n for code, n in rows}


def job_items_page(*, job_id: int, after_id: int | None, limit: int) -> list[JobItem]:
    """Results in the order they were written; `limit + 1` rows say whether more follow."""
    qs = JobItem.objects.filter(job_id=job_id).order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    return list(qs[: limit + 1])


def job_page(*, after_id: int | None, limit: int, kind_prefix: str = "") -> list[Job]:
    qs = Job.objects.order_by("-pk").defer("subject_ids")
    if kind_prefix:
        qs = qs.filter(kind__startswith=kind_prefix)
    if after_id is not None:
        qs = qs.filter(pk__lt=after_id)
    return list(qs[: limit + 1])
