"""Multi-row inserts for hot paths (order ingestion).

Django's `bulk_create` compiles SQL for every value of every row; at a few thousand rows per
request that compilation costs several times the insert itself. Here one statement
`INSERT ... VALUES (...), (...)` (built once per shape) takes up to 500 rows, optionally
`RETURNING` their ids, and each value goes through its field's database preparation only when
its type needs one (JSON, dates, decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import orjson
from django.db import connection, models

_PASS_THROUGH = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


@cache
def _statement(
    model: type[models.Model], columns: tuple[str, ...], rows: int, returning: tuple[str, ...]
) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(meta.get_field(c).column) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES " + ", ".join([one] * rows)
    if returning:
        sql += " RETURNING " + ", ".join(quote(meta.get_field(c).column) for c in returning)
    return sql


def _json_text(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _json_preparer() -> Any:
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda value: Jsonb(value, dumps=_json_text)
    return _json_text


def _preparers(model: type[models.Model], columns: Sequence[str]) -> list[Any]:
    preparers: list[Any] = []
    for name in columns:
        field = model._meta.get_field(name)
        if isinstance(field, _PASS_THROUGH) and not isinstance(field, models.JSONField):
            preparers.append(None)
        else:
            preparers.append(field)
    return preparers


def bulk_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
    chunk: int = 500,
) -> list[tuple[Any, ...]]:
    """Insert `rows` (tuples of Python values in `columns` order), `chunk` rows a statement.

    Returns the `returning` columns of every inserted row (in no promised order: match them
    on a unique column such as the order number).
    """
    cols, back = tuple(columns), tuple(returning)
    preparers = _preparers(model, cols)
    memo: dict[tuple[int, type, Any], Any] = {}
    json_prep = _json_preparer()
    prepared: list[Any] = []
    count = 0
    out_rows: list[tuple[Any, ...]] = []

    def flush(cursor: Any) -> None:
        nonlocal prepared, count
        if count:
            cursor.execute(_statement(model, cols, count, back), prepared)
            if back:
                out_rows.extend(cursor.fetchall())
        prepared, count = [], 0

    with connection.cursor() as cursor:
        for row in rows:
            for i, (field, value) in enumerate(zip(preparers, row, strict=True)):
                if field is None or value is None:
                    prepared.append(value)
                elif isinstance(value, (dict, list)):
                    prepared.append(json_prep(value))
                else:
                    key = (i, type(value), value)
                    if key not in memo:
                        memo[key] = field.get_db_prep_save(value, connection)
                    prepared.append(memo[key])
            count += 1
            if count == chunk:
                flush(cursor)
        flush(cursor)
    return out_rows
