"""A channel order as stored on its record (JSON both ways), the channel as an actor, and the
sync-record writer shared by imports, pushes and webhooks."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from colis.channels.connectors.base import ChannelLine, ChannelOrder, ChannelShipment
from colis.channels.models import Channel, SyncRecord
from colis.core.actor import Actor


def channel_actor(channel: Channel) -> Actor:
    return Actor(kind="channel", id=channel.pk, label=channel.name, role="owner")


def order_to_data(order: ChannelOrder) -> dict[str, Any]:
    return _jsonable(asdict(order))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if value else None


def order_from_data(data: dict[str, Any]) -> ChannelOrder:
    return ChannelOrder(
        **{
            **data,
            "placed_at": _when(data["placed_at"]),
            "updated_at": _when(data["updated_at"]),
            "ship_by": _when(data.get("ship_by")),
            "lines": tuple(
                ChannelLine(**{**ln, "unit_price": Decimal(ln["unit_price"])})
                for ln in data["lines"]
            ),
            "shipments": tuple(
                ChannelShipment(**{**s, "lines": tuple(tuple(x) for x in s.get("lines", ()))})
                for s in data.get("shipments", ())
            ),
            "shipping_price": Decimal(data.get("shipping_price") or 0),
            "tax_total": Decimal(data.get("tax_total") or 0),
            "discount_total": Decimal(data.get("discount_total") or 0),
            "total": Decimal(data["total"]) if data.get("total") is not None else None,
        }
    )


def sync_record_write(
    *,
    channel: Channel,
    direction: str,
    operation: str,
    state: str,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    message: str = "",
    order_id: int | None = None,
) -> SyncRecord:
    now = timezone.now()
    return SyncRecord.objects.create(
        channel=channel,
        direction=direction,
        operation=operation,
        state=state,
        request=request or {},
        response=response or {},
        message=message[:2000],
        order_id=order_id,
        attempts=1,
        created_at=now,
        updated_at=now,
    )


def order_sync_records(*, order_id: int, channel_id: int, limit: int = 20) -> list[SyncRecord]:
    """The latest exchanges with the order's channel about this order, newest first."""
    return list(
        SyncRecord.objects.filter(channel_id=channel_id, order_id=order_id).order_by("-pk")[:limit]
    )


def sync_record_retry(*, record_id: int, channel_id: int | None = None, actor: Actor) -> SyncRecord:
    """Queue a failed push again now. Raises NotFound, Conflict (`not_a_push`,
    `outbox_not_failed`)."""
    from colis.core.errors import Conflict, NotFound
    from colis.core.outbox import outbox_retry

    qs = SyncRecord.objects.filter(pk=record_id)
    if channel_id is not None:
        qs = qs.filter(channel_id=channel_id)
    record = qs.first()
    if record is None:
        raise NotFound("No such sync record.", code="sync_record_not_found")
    if record.outbox_message_id is None:
        raise Conflict("Only a push can be retried; import again instead.", code="not_a_push")
    outbox_retry(message_id=record.outbox_message_id, actor=actor)
    SyncRecord.objects.filter(pk=record.pk).update(state="retrying")
    record.refresh_from_db()
    return record
