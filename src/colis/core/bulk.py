"""Multi-row inserts for hot paths (order ingestion).

Django's `bulk_create` compiles SQL for every value of every row; at a few thousand rows per
request that compilation costs several times the insert itself. Here one statement
`INSERT ... VALUES (...), (...)` (built once per shape) takes up to 500 rows, optionally
`RETURNING` their ids, and each value goes through its field's database preparation only when
its type needs one (JSON, dates, decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import Any

import orjson
from django.db import connection, models

SMALL_BATCH = 8
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

    if connection.vendor == "postgresql":
        return _pg_insert(model, cols, back, _prepare(rows, preparers, memo, json_prep), chunk)
    with connection.cursor() as cursor:
        for values in _prepare(rows, preparers, memo, json_prep):
            prepared.extend(values)
            count += 1
            if count == chunk:
                flush(cursor)
        flush(cursor)
    return out_rows


def _prepare(
    rows: Iterable[Sequence[Any]], preparers: list[Any], memo: dict[Any, Any], json_prep: Any
) -> Iterator[list[Any]]:
    for row in rows:
        values: list[Any] = []
        for i, (field, value) in enumerate(zip(preparers, row, strict=True)):
            if field is None or value is None:
                values.append(value)
            elif isinstance(value, (dict, list)):
                values.append(json_prep(value))
            else:
                key = (i, type(value), value)
                if key not in memo:
                    memo[key] = field.get_db_prep_save(value, connection)
                values.append(memo[key])
        yield values


@cache
def _pg_unnest_statement(
    model: type[models.Model], columns: tuple[str, ...], returning: tuple[str, ...]
) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(c) for c in columns]
    names = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"
    if returning:
        sql += " RETURNING " + ", ".join(quote(meta.get_field(c).column) for c in returning)
    return sql


def _pg_insert(
    model: type[models.Model],
    cols: tuple[str, ...],
    back: tuple[str, ...],
    rows: Iterator[list[Any]],
    chunk: int,
) -> list[tuple[Any, ...]]:
    """PostgreSQL: one short `INSERT ... SELECT * FROM unnest(array, ...)` per chunk, with
    server-side parameters. The statement text stays the same whatever the row count, so it
    is parsed once, and each column travels as one array."""
    import psycopg

    connection.ensure_connection()
    out: list[tuple[Any, ...]] = []
    sql = _pg_unnest_statement(model, cols, back)
    # wrap_database_errors: psycopg's errors surface as Django's (IntegrityError, ...), so
    # callers handle a raw-cursor insert exactly like an ORM one.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:

        def send(batch: list[list[Any]]) -> None:
            if len(batch) <= SMALL_BATCH:
                # A few rows: a plain multi-row VALUES plans faster than unnest.
                flat = [v for values in batch for v in values]
                cursor.execute(_statement(model, cols, len(batch), back), flat)
            else:
                cursor.execute(sql, [list(column) for column in zip(*batch, strict=True)])
            if back:
                out.extend(cursor.fetchall())

        batch: list[list[Any]] = []
        for values in rows:
            batch.append(values)
            if len(batch) == chunk:
                send(batch)
                batch = []
        if batch:
            send(batch)
    return out
