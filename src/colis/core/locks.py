"""Row locks, always taken in primary-key order so two transactions cannot deadlock.

On PostgreSQL this is `SELECT ... FOR UPDATE ORDER BY id`. On SQLite every write transaction
begins IMMEDIATE (see settings), which already serialises writers; the same query then just reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def lock_by_pk(queryset: models.QuerySet[M], pks: Iterable[Any]) -> dict[Any, M]:
    """Lock the rows of `queryset` with these primary keys, in key order; return them by key."""
    ordered = sorted(set(pks))
    if not ordered:
        return {}
    rows = queryset.select_for_update().filter(pk__in=ordered).order_by("pk")
    return {row.pk: row for row in rows}
