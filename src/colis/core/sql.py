"""Small raw-SQL helpers for the few hot reads where ORM query compilation dominates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def fetch_all(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def in_list(values: Sequence[Any]) -> str:
    """Placeholders for `IN (...)` with len(values) parameters."""
    return ", ".join(["%s"] * len(values))
