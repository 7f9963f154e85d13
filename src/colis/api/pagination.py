"""Opaque cursors over descending or ascending primary keys."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import Field

from colis.core.errors import ValidationError

T = TypeVar("T")
MAX_LIMIT = 250


def cursor_decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        pk = int(value)
        if kind != "id" or not 0 <= pk <= MAX_ID:
            raise ValueError
        return pk
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            "This cursor is not valid.",
            code="invalid_cursor",
            fields={"cursor": "Use next_cursor from the previous page."},
        ) from None


def cursor_encode(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def check_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(
            f"limit must be between 1 and {MAX_LIMIT}.",
            code="invalid_limit",
            fields={"limit": f"1 to {MAX_LIMIT}."},
        )
    return limit


def page(rows: Sequence[T], limit: int, render: Callable[[T], Any]) -> dict[str, Any]:
    """`rows` holds up to limit + 1 rows; the extra one only says there is a next page."""
    shown = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [render(r) for r in shown],
        "next_cursor": cursor_encode(shown[-1].pk) if more and shown else None,  # type: ignore[attr-defined]
    }


# Response declarations for endpoints that answer with more than one success status.
CREATED: dict[int, Any] = {200: Any, 201: Any}
NO_CONTENT: dict[int, Any] = {204: None}

# Ids as the database stores them (64-bit); anything else is refused as invalid input.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def datetime_in_range(value: datetime | None, field: str) -> datetime | None:
    """Dates the databases store: years 1900 to 9998 in UTC. ValidationError otherwise."""
    if value is None:
        return None
    try:
        year = value.astimezone(UTC).year if value.tzinfo else value.year
    except OverflowError:
        year = 0
    if not 1900 <= year <= 9998:
        raise ValidationError(
            "Dates must fall between the years 1900 and 9998.",
            code="invalid_date",
            fields={field: "Between 1900 and 9998."},
        )
    return value
