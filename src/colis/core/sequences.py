"""Named sequences (order numbers), advanced atomically so no two callers share a value."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from colis.core.models import Counter
from colis.core.sql import fetch_all


def counter_allocate(*, name: str, count: int = 1, start: int = 1000) -> int:
    """Reserve `count` consecutive values; return the first.

    One `UPDATE ... RETURNING` takes the row lock and advances the counter in a single
    statement (SQLite 3.35+ and PostgreSQL both support it).
    """
    table = Counter._meta.db_table
    for _ in range(2):
        rows = fetch_all(
            f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value",
            [count, name],
        )
        if rows:
            return int(rows[0][0]) - count + 1
        try:
            with transaction.atomic():
                Counter.objects.create(name=name, value=start)
        except IntegrityError:
            pass  # created by a concurrent caller
    raise RuntimeError(f"counter {name!r} could not be advanced")


def counter_raise_to(*, name: str, value: int, start: int = 1000) -> None:
    """Make sure the next value handed out by `counter_allocate` is above `value`."""
    counter_allocate(name=name, count=0, start=start)
    fetch_all(
        f"UPDATE {Counter._meta.db_table} SET value = %s WHERE name = %s AND value < %s "
        "RETURNING value",
        [value, name, value],
    )
