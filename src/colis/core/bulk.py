"""Multi-row inserts for hot paths (order ingestion).

Django's `bulk_create` compiles SQL for every value of every row; at a few thousand rows per
request that compilation costs several times the insert itself. Here one statement
`INSERT ... VALUES (...), (...)` (built once per shape) takes up to 500 rows, optionally
`RETURNING` their ids, and each value goes through its field's database preparation only when
its type needs one (JSON, dates, decimals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
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
    model: type[models.Model],
    columns: tuple[str, ...],
    rows: int,
    returning: tuple[str, ...],
    mark: str = "%s",
    skip_conflicts: bool = False,
) -> str:
    meta = model._meta
    quote = connection.ops.quote_name
    names = ", ".join(quote(meta.get_field(c).column) for c in columns)
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES " + ", ".join([one] * rows)
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
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


Converter = Callable[[Any], Any]
_MISSING = object()


def _converters(model: type[models.Model], columns: Sequence[str]) -> list[tuple[int, Converter]]:
    """(column index, converter) for the columns whose values need preparing; the others (text,
    integers, booleans, keys) go to the driver as they are."""
    json_prep = _json_preparer()
    out: list[tuple[int, Converter]] = []
    for i, name in enumerate(columns):
        field = model._meta.get_field(name)
        if isinstance(field, models.JSONField):
            out.append((i, lambda v, prep=json_prep: None if v is None else prep(v)))
        elif not isinstance(field, _PASS_THROUGH):
            out.append((i, _memoised(field)))
    return out


def _memoised(field: models.Field) -> Converter:
    """The field's own database preparation, remembered per value (a batch repeats its dates
    and prices)."""
    memo: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        key = (type(value), value)
        prepared = memo.get(key, _MISSING)
        if prepared is _MISSING:
            prepared = memo[key] = field.get_db_prep_save(value, connection)
        return prepared

    return convert


def _prepare(
    rows: Iterable[Sequence[Any]], converters: list[tuple[int, Converter]]
) -> Iterator[list[Any]]:
    for row in rows:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        yield values


def bulk_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    returning: Sequence[str] = (),
    chunk: int = 500,
    on_conflict_skip: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert `rows` (tuples of Python values in `columns` order), `chunk` rows a statement.

    Returns the `returning` columns of every inserted row (in no promised order: match them
    on a unique column such as the order number). With `on_conflict_skip`, a row that clashes
    with a unique constraint is skipped (and not returned); only for small batches.
    """
    cols, back = tuple(columns), tuple(returning)
    prepared = _prepare(rows, _converters(model, cols))
    if on_conflict_skip:
        return _plain_insert(model, cols, back, prepared)
    if connection.vendor == "postgresql":
        return _pg_insert(model, cols, back, prepared, chunk)
    return _sqlite_insert(model, cols, back, prepared, chunk)


def _plain_insert(
    model: type[models.Model],
    cols: tuple[str, ...],
    back: tuple[str, ...],
    rows: Iterator[list[Any]],
) -> list[tuple[Any, ...]]:
    batch = list(rows)
    if not batch:
        return []
    sql = _statement(model, cols, len(batch), back, skip_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for values in batch for v in values])
        return cursor.fetchall() if back else []


def _sqlite_insert(
    model: type[models.Model],
    cols: tuple[str, ...],
    back: tuple[str, ...],
    rows: Iterator[list[Any]],
    chunk: int,
) -> list[tuple[Any, ...]]:
    """SQLite: multi-row VALUES on the driver's own cursor, with `?` marks written in directly
    (Django's cursor would rewrite every `%s` of a 10,000-mark statement with a regex)."""
    connection.ensure_connection()
    out: list[tuple[Any, ...]] = []
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            for batch in _chunked(rows, chunk):
                params = [v for values in batch for v in values]
                cursor.execute(_statement(model, cols, len(batch), back, "?"), params)
                out.extend(cursor.fetchall() if back else ())
        finally:
            cursor.close()
    return out


def _chunked(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for values in rows:
        batch.append(values)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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

        for batch in _chunked(rows, chunk):
            send(batch)
    return out
