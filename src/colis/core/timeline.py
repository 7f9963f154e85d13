"""The timeline writer: every change writes its event in the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from colis.core.actor import Actor
from colis.core.models import Event


def event_build(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    order_id: int | None = None,
) -> Event:
    return Event(
        subject_type=subject_type,
        subject_id=subject_id,
        order_id=order_id,
        kind=kind,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        data=data or {},
        created_at=timezone.now(),
    )


def event_record(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    order_id: int | None = None,
) -> Event:
    """Write one event now; call it inside the transaction that makes the change."""
    event = event_build(
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
        actor=actor,
        data=data,
        order_id=order_id,
    )
    event.save(force_insert=True)
    return event


EVENT_COLUMNS = (
    "subject_type",
    "subject_id",
    "order_id",
    "kind",
    "actor_kind",
    "actor_id",
    "actor_label",
    "data",
    "created_at",
)


def event_row(
    *,
    subject_type: str,
    subject_id: int,
    kind: str,
    actor: Actor,
    at: Any,
    data: dict[str, Any] | None = None,
    order_id: int | None = None,
) -> tuple[Any, ...]:
    """One event as a row for `events_insert` (hot paths writing many at once)."""
    return (
        subject_type, subject_id, order_id, kind, actor.kind, actor.id, actor.label[:200],
        data or {}, at,
    )  # fmt: skip


def events_insert(rows: list[tuple[Any, ...]]) -> None:
    """Write `event_row` rows with multi-row inserts, in the caller's transaction."""
    from colis.core.bulk import bulk_insert

    if rows:
        bulk_insert(Event, EVENT_COLUMNS, rows)
