"""HTTP API: jobs (bulk actions run on the worker), their progress and their results."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from colis.accounts.roles import ORDERS_WRITE, READ
from colis.api.auth import require
from colis.api.pagination import Id, check_limit, cursor_decode, cursor_encode, page
from colis.core.jobs import job_cancel, job_codes, job_get, job_items_page, job_page
from colis.core.models import Job

router = Router(tags=["jobs"])


def job_out(job: Job, codes: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "dry_run": bool((job.params or {}).get("dry_run")),
        "progress": {"done": job.done, "total": job.total},
        "summary": {"ok": job.ok_count, "skipped": job.done - job.ok_count},
        "cancel_requested": job.cancel_requested,
        "error": job.error,
        "created_by": {"kind": job.actor_kind, "id": job.actor_id, "label": job.actor_label},
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
    if codes is not None:
        out["summary"]["skipped_by_code"] = codes
    return out


@router.get("", summary="List jobs, newest first")
def jobs_list(
    request: HttpRequest, kind: str = "", cursor: str | None = None, limit: int = 50
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    rows = job_page(after_id=cursor_decode(cursor), limit=limit, kind_prefix=kind[:40])
    return page(rows, limit, job_out)


@router.get("/{job_id}", summary="A job's status and progress, with a page of its results")
def jobs_read(request: HttpRequest, job_id: Id, cursor: str | None = None, limit: int = 100) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    job = job_get(job_id=job_id)
    rows = job_items_page(job_id=job.pk, after_id=cursor_decode(cursor), limit=limit)
    shown = rows[:limit]
    return {
        **job_out(job, job_codes(job_id=job.pk)),
        "results": [item.result for item in shown],
        "next_cursor": cursor_encode(shown[-1].pk) if len(rows) > limit else None,
    }


@router.post("/{job_id}/cancel", summary="Cancel a job; what it finished stays done")
def jobs_cancel(request: HttpRequest, job_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    return job_out(job_cancel(job_id=job_id, actor=who))
