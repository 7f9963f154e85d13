from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from colis.core.selectors import worker_last_seen

router = Router(tags=["health"])
WORKER_STALE = timedelta(seconds=30)


@router.get(
    "/health",
    auth=None,
    response={200: Any, 503: Any},
    summary="Liveness, database and worker state (no token needed)",
)
def health(request: HttpRequest) -> Any:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
        seen = worker_last_seen()
    except Exception:
        database, seen = "unavailable", None
    if seen is None:
        worker = "not_running"
    elif timezone.now() - seen > WORKER_STALE:
        worker = "stale"
    else:
        worker = "ok"
    status = "ok" if database == "ok" else "degraded"
    body = {
        "status": status,
        "database": database,
        "worker": worker,
    }
    return Status(200 if status == "ok" else 503, body)
