"""Shipments (and cancellations) back to the channel an order came from, one outbox row each,
every call written down as a sync record.

Never twice: a vendor that drops repeats itself (`idempotent_push`) is simply called again; for
the others, a push that was tried before (its sync record says so, even across a crash) first
asks the vendor what it already has, and records that instead of sending again."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db.models import F
from django.utils import timezone

from colis.channels.connectors.base import (
    ChannelError,
    Connector,
    NotSupported,
    PermanentError,
    PushLine,
    PushPackage,
    PushResult,
)
from colis.channels.models import Channel, ChannelOrder, SyncRecord, SyncState
from colis.core.models import OutboxMessage
from colis.core.outbox import PermanentFailure, TemporaryFailure

logger = logging.getLogger(__name__)


def _set(record: SyncRecord, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    for key, value in fields.items():
        setattr(record, key, value)
    SyncRecord.objects.filter(pk=record.pk).update(**fields)


def _skip(record: SyncRecord, why: str) -> None:
    _set(record, state=SyncState.SKIPPED, message=why)


def _succeeded(record: SyncRecord, result: PushResult, note: str = "") -> Callable[[], None]:
    def write() -> None:
        _set(
            record,
            state=SyncState.SUCCEEDED,
            request=result.request or record.request,
            response=result.response,
            vendor_id=result.vendor_id[:128],
            message=note,
            next_retry_at=None,
        )

    return write


def _package(channel: Channel, connector: Connector, push: _Push) -> PushPackage:
    from colis.shipping.selectors import carrier_find

    shipment = push.shipment
    assert shipment is not None and push.order is not None
    carrier = carrier_find(value=shipment.carrier)
    vendor_code = (
        str((carrier.channel_codes or {}).get(connector.carrier_key, "")) if carrier else ""
    )
    name = shipment.carrier_name or (carrier.name if carrier else shipment.carrier)
    ship_date = (
        datetime.combine(shipment.ship_date, time(12, 0), tzinfo=timezone.get_current_timezone())
        if shipment.ship_date
        else shipment.shipped_at or shipment.created_at
    )
    return PushPackage(
        shipment_id=shipment.pk,
        order_external_id=push.order.external_id or "",
        order_refs=push.data.get("refs", {}),
        lines=tuple(PushLine(external_line_id=e, quantity=q) for e, q in push.lines),
        carrier_code=vendor_code,
        carrier_name=name,
        service=shipment.service,
        tracking_number=(shipment.tracking_numbers or [""])[0],
        tracking_url=(shipment.tracking_urls or [""])[0],
        ship_date=ship_date,
        notify_buyer=channel.notify_buyer,
    )


def _call(record: SyncRecord, send: Callable[[], PushResult]) -> PushResult:
    """Run the vendor call; failures go on the record and become the outbox's retry or stop."""
    try:
        return send()
    except PermanentError as exc:
        _set(record, state=SyncState.FAILED, message=str(exc)[:2000], request=record.request,
             response={"status": exc.status, "body": exc.body})  # fmt: skip
        raise PermanentFailure(str(exc)) from exc
    except ChannelError as exc:
        _set(record, state=SyncState.RETRYING, message=str(exc)[:2000], request=record.request,
             response={"status": exc.status, "body": exc.body})  # fmt: skip
        raise TemporaryFailure(str(exc), retry_after=exc.retry_after) from exc


OPERATIONS = {"order.cancelled": "order_cancel", "order.status_changed": "order_status"}


@dataclass(kw_only=True)
class _Push:
    """What one push needs, loaded with the rest of its batch."""

    order: Any = None
    channel: Channel | None = None
    record: SyncRecord | None = None
    tried: bool = False  # an earlier attempt may have reached the vendor
    data: dict[str, Any] = field(default_factory=dict)
    shipment: Any = None
    lines: list[tuple[str, int]] = field(default_factory=list)


def channel_pushes_prepare(messages: Sequence[OutboxMessage]) -> None:
    """Load a batch's orders, channels, channel copies, shipments and sync records in a few
    queries, and count an attempt on each record before any vendor is called: a push cut off
    by a crash is then known as tried, and the next attempt asks the vendor first."""
    from colis.fulfillment.models import Shipment, ShipmentLine
    from colis.orders.models import Order

    order_ids = {m.payload.get("order_id") for m in messages}
    orders = {o.pk: o for o in Order.objects.filter(pk__in=order_ids)
              .only("id", "channel_record_id", "external_id", "cancel_reason")}  # fmt: skip
    channels = {c.pk: c for c in Channel.objects.filter(
        pk__in={o.channel_record_id for o in orders.values() if o.channel_record_id})}  # fmt: skip
    copies = {
        (ch, oid): data
        for ch, oid, data in ChannelOrder.objects.filter(order_id__in=order_ids).values_list(
            "channel_id", "order_id", "data"
        )
    }
    shipment_ids = {m.payload.get("shipment_id") for m in messages} - {None}
    shipments = {s.pk: s for s in Shipment.objects.filter(pk__in=shipment_ids)}
    lines: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for sid, external, qty in (
        ShipmentLine.objects.filter(shipment_id__in=shipment_ids)
        .order_by("id")
        .values_list("shipment_id", "order_line__external_line_id", "quantity")
    ):
        lines[sid].append((external, qty))
    now = timezone.now()
    pushes: dict[int, _Push] = {}
    new_records = []
    for m in messages:
        order = orders.get(m.payload.get("order_id"))
        channel = channels.get(order.channel_record_id) if order is not None else None
        sid = m.payload.get("shipment_id")
        pushes[m.pk] = _Push(
            order=order,
            channel=channel,
            data=copies.get((channel.pk, order.pk), {}) if channel else {},
            shipment=shipments.get(sid),
            lines=lines.get(sid, []),
        )
        if channel is not None:
            operation = OPERATIONS.get(str(m.payload.get("event")), "shipment_push")
            new_records.append(SyncRecord(
                key=m.idempotency_key, channel=channel, direction="push", operation=operation,
                state=SyncState.PENDING, order_id=order.pk, shipment_id=sid,
                outbox_message_id=m.pk, created_at=now, updated_at=now))  # fmt: skip
    sync_records_open(messages, new_records, pushes, now)


def sync_records_open(
    messages: Sequence[OutboxMessage],
    new_records: list[SyncRecord],
    pushes: dict[int, Any],
    now: Any,
) -> None:
    """Create the batch's pending sync records (a record from an earlier try is kept) and count
    an attempt on each live one before any vendor call, so a retry knows it was tried (`tried`)
    and asks the vendor first. Hands each message its prepared push."""
    if new_records:
        SyncRecord.objects.bulk_create(new_records, ignore_conflicts=True)
        records = {r.key: r for r in SyncRecord.objects.filter(
            key__in=[r.key for r in new_records])}  # fmt: skip
        live = [r.pk for r in records.values()
                if r.state not in (SyncState.SUCCEEDED, SyncState.SKIPPED)]  # fmt: skip
        SyncRecord.objects.filter(pk__in=live).update(attempts=F("attempts") + 1, updated_at=now)
        for m in messages:
            record = records.get(m.idempotency_key)
            if record is not None:
                pushes[m.pk].record = record
                pushes[m.pk].tried = record.attempts > 0
                record.attempts += 1
    for m in messages:
        m.prepared = pushes[m.pk]


def channel_push_deliver(message: OutboxMessage) -> Callable[[], None] | None:
    """Deliver one `channel_push` row (shipment.* or order.cancelled)."""
    from colis.channels.services import channel_connector

    if not isinstance(message.prepared, _Push):
        channel_pushes_prepare([message])
    push: _Push = message.prepared
    event = str(message.payload.get("event", ""))
    channel, record = push.channel, push.record
    if channel is None or record is None:
        return None  # an order entered here under a channel's name: nobody to tell
    if record.state in (SyncState.SUCCEEDED, SyncState.SKIPPED):
        return None
    if event == "order.cancelled":
        return _cancel(record, channel, push.order)
    if event == "order.status_changed":
        return _status(record, channel, push.order, int(message.payload.get("status", 0)))
    if not channel.fulfillment_sync:
        _skip(record, "Fulfillment sync is off for this channel.")
        return None
    data = push.data
    if data and not data.get("merchant_fulfilled", True):
        _skip(record, "The marketplace fulfils this order: nothing to send.")
        return None
    shipment = push.shipment
    if shipment is None or shipment.status == "cancelled" or event == "shipment.cancelled":
        _skip(record, "The shipment was cancelled before it was sent.")
        return None
    if event == "shipment.updated":
        _skip(record, "The channel keeps the tracking it was first sent.")
        return None
    number = (shipment.tracking_numbers or [""])[0]
    if not number and channel.require_tracking:
        _skip(record, "No tracking number yet: it is sent when one is added.")
        return None
    on_channel = {str(s.get("tracking_number", "")).upper() for s in data.get("shipments", [])}
    if number and number.upper() in on_channel:
        _skip(record, "Shipped on the channel itself: nothing to send.")
        return None
    connector = channel_connector(channel)
    package = _package(channel, connector, push)
    record.request = {"package": _describe(package)}
    if push.tried and not connector.idempotent_push:
        found = _call(record, lambda: connector.shipment_find(package) or PushResult(vendor_id=""))
        if found.vendor_id or found.response:
            return _succeeded(record, found, "Found on the channel from an earlier attempt.")
    result = _call(record, lambda: connector.shipment_push(package))
    return _succeeded(record, result)


def _cancel(record: SyncRecord, channel: Channel, order: Any) -> Callable[[], None] | None:
    from colis.channels.services import channel_connector
    from colis.core.models import Event

    if not channel.cancellation_sync:
        _skip(record, "Cancellation sync is off for this channel.")
        return None
    last = (
        Event.objects.filter(order_id=order.pk, kind="order_cancelled")
        .order_by("-id")
        .values_list("actor_kind", flat=True)
        .first()
    )
    if last == "channel":
        _skip(record, "Cancelled on the channel itself.")
        return None
    connector = channel_connector(channel)
    record.request = {"order": order.external_id}
    try:
        result = _call(
            record, lambda: connector.order_cancel_push(order.external_id, order.cancel_reason)
        )
    except PermanentFailure as exc:
        if isinstance(exc.__cause__, NotSupported):
            _skip(record, str(exc.__cause__))
            return None
        raise
    return _succeeded(record, result)


def _status(
    record: SyncRecord, channel: Channel, order: Any, status: int
) -> Callable[[], None] | None:
    from colis.channels.services import channel_connector

    connector = channel_connector(channel)
    if not connector.supports_status_push:
        _skip(record, f"{channel.kind} keeps statuses of its own: nothing to send.")
        return None
    record.request = {"order": order.external_id, "status_id": status}
    result = _call(record, lambda: connector.order_status_push(order.external_id, status))
    return _succeeded(record, result)


def _describe(package: PushPackage) -> dict[str, Any]:
    return {
        "shipment_id": package.shipment_id,
        "order": package.order_external_id,
        "lines": [[ln.external_line_id, ln.quantity] for ln in package.lines],
        "carrier_code": package.carrier_code,
        "carrier_name": package.carrier_name,
        "tracking_number": package.tracking_number,
    }
