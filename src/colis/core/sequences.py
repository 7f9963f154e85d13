"""Named sequences (order numbers), advanced atomically so no two callers share a value.

On PostgreSQL a sequence named in `SEQUENCES` is a database sequence: `nextval` takes no lock
that lasts until commit, so concurrent order creations do not queue behind one counter row (a
rolled-back transaction leaves a gap). Elsewhere, and for other names, a counter row advanced by
`UPDATE ... RETURNING` (SQLite serialises writers anyway).
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

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


# name -> the PostgreSQL sequence created for it by core's migration 0004.
SEQUENCES = {"order_number": "colis_seq_order_number"}


def _sequence(name: str) -> str | None:
    return SEQUENCES.get(name) if connection.vendor == "postgresql" else None


def counter_take(*, name: str, count: int, start: int = 1000) -> list[int]:
    """`count` fresh values, ascending (consecutive on SQLite, maybe not on PostgreSQL)."""
    if count <= 0:
        return []
    seq = _sequence(name)
    if seq is None:
        first = counter_allocate(name=name, count=count, start=start)
        return list(range(first, first + count))
    rows = fetch_all(f"SELECT nextval('{seq}') FROM generate_series(1, %s)", [count])
    return sorted(int(r[0]) for r in rows)


def counter_lift(*, name: str, value: int, start: int = 1000) -> None:
    """Make sure values handed out later are above `value`."""
    seq = _sequence(name)
    if seq is None:
        counter_raise_to(name=name, value=value, start=start)
        return
    fetch_all(
        f"SELECT setval('{seq}', %s) FROM {seq} WHERE last_value < %s",
        [value, value],
    )


def counter_set(*, name: str, value: int) -> None:
    """Set the next value to `value + 1` (tests and repairs)."""
    seq = _sequence(name)
    if seq is None:
        Counter.objects.update_or_create(name=name, defaults={"value": value})
        return
    fetch_all(f"SELECT setval('{seq}', %s)", [value])
