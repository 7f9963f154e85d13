"""Row locks, always taken in primary-key order so two transactions cannot deadlock.

On PostgreSQL this is `SELECT ... FOR UPDATE ORDER BY id`. On SQLite every write transaction
begins IMMEDIATE (see settings), which already serialises writers; the same query then just reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def lock_by_pk(queryset: models.QuerySet[M], pks: Iterable[Any]) -> dict[Any, M]:
    """Lock the rows of `queryset` with these primary keys, in key order; return them by key."""
    ordered = sorted(set(pks))
    if not ordered:
        return {}
    rows = queryset.select_for_update().filter(pk__in=ordered).order_by("pk")
    return {row.pk: row for row in rows}


def lock_rows_sql(
    select: str, where: str, params: Sequence[Any], *, table: str = ""
) -> list[tuple[Any, ...]]:
    """`SELECT <select> ... WHERE <where>` (the statement without ORDER BY), locked in `id` order.

    The raw twin of `lock_by_pk` for hot paths where compiling ORM queries costs more than the
    query: on PostgreSQL the rows are locked `FOR UPDATE` in primary-key order. With a join,
    `table` is the alias whose rows are locked (and whose `id` orders them); the other tables
    are only read.
    """
    prefix = f"{table}." if table else ""
    sql = f"{select} WHERE {where} ORDER BY {prefix}id"
    if connection.vendor == "postgresql":
        sql += f" FOR UPDATE OF {table}" if table else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
