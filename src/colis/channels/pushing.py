"""Shipments (and cancellations) back to the channel an order came from, one outbox row each,
every call written down as a sync record.

Never twice: a vendor that drops repeats itself (`idempotent_push`) is simply called again; for
the others, a push that was tried before (its sync record says so, even across a crash) first
asks the vendor what it already has, and records that instead of sending again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

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


def _record(message: OutboxMessage, channel: Channel, operation: str, order_id: int,
            shipment_id: int | None) -> SyncRecord:  # fmt: skip
    now = timezone.now()
    record, _ = SyncRecord.objects.get_or_create(
        key=message.idempotency_key,
        defaults={
            "channel": channel,
            "direction": "push",
            "operation": operation,
            "state": SyncState.PENDING,
            "order_id": order_id,
            "shipment_id": shipment_id,
            "outbox_message_id": message.pk,
            "created_at": now,
            "updated_at": now,
        },
    )
    return record


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
            request=result.request,
            response=result.response,
            vendor_id=result.vendor_id[:128],
            message=note,
            next_retry_at=None,
        )

    return write


def _package(channel: Channel, connector: Connector, shipment: Any, refs: dict) -> PushPackage:
    from colis.shipping.models import Carrier

    codes = (
        Carrier.objects.filter(code=shipment.carrier).values_list("channel_codes", "name").first()
    )
    vendor_code = str((codes[0] or {}).get(connector.carrier_key, "")) if codes else ""
    name = shipment.carrier_name or (codes[1] if codes else shipment.carrier)
    ship_date = (
        datetime.combine(shipment.ship_date, time(12, 0), tzinfo=timezone.get_current_timezone())
        if shipment.ship_date
        else shipment.shipped_at or shipment.created_at
    )
    return PushPackage(
        shipment_id=shipment.pk,
        order_external_id=shipment.order.external_id or "",
        order_refs=refs,
        lines=tuple(
            PushLine(external_line_id=ln.order_line.external_line_id, quantity=ln.quantity)
            for ln in shipment.lines.select_related("order_line").order_by("id")
        ),
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
        _set(record, state=SyncState.FAILED, message=str(exc)[:2000],
             response={"status": exc.status, "body": exc.body})  # fmt: skip
        raise PermanentFailure(str(exc)) from exc
    except ChannelError as exc:
        _set(record, state=SyncState.RETRYING, message=str(exc)[:2000],
             response={"status": exc.status, "body": exc.body})  # fmt: skip
        raise TemporaryFailure(str(exc), retry_after=exc.retry_after) from exc


def channel_push_deliver(message: OutboxMessage) -> Callable[[], None] | None:
    """Deliver one `channel_push` row (shipment.* or order.cancelled)."""
    from colis.channels.services import channel_connector
    from colis.fulfillment.models import Shipment
    from colis.orders.models import Order

    payload = message.payload
    event = str(payload.get("event", ""))
    order = Order.objects.filter(pk=payload.get("order_id")).first()
    if order is None or order.channel_record_id is None:
        return None  # an order entered here under a channel's name: nobody to tell
    channel = Channel.objects.get(pk=order.channel_record_id)
    shipment_id = payload.get("shipment_id")
    operation = "order_cancel" if event == "order.cancelled" else "shipment_push"
    record = _record(message, channel, operation, order.pk, shipment_id)
    if record.state in (SyncState.SUCCEEDED, SyncState.SKIPPED):
        return None
    if event == "order.cancelled":
        return _cancel(record, channel, order)
    if not channel.fulfillment_sync:
        _skip(record, "Fulfillment sync is off for this channel.")
        return None
    copy = ChannelOrder.objects.filter(channel=channel, order_id=order.pk).first()
    data = copy.data if copy else {}
    if data and not data.get("merchant_fulfilled", True):
        _skip(record, "The marketplace fulfils this order: nothing to send.")
        return None
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
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
    package = _package(channel, connector, shipment, data.get("refs", {}))
    tried = record.attempts > 0
    _set(record, attempts=record.attempts + 1, request={"package": _describe(package)},
         state=SyncState.PENDING if not tried else SyncState.RETRYING)  # fmt: skip
    if tried and not connector.idempotent_push:
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
    _set(record, attempts=record.attempts + 1, request={"order": order.external_id})
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


def _describe(package: PushPackage) -> dict[str, Any]:
    return {
        "shipment_id": package.shipment_id,
        "order": package.order_external_id,
        "lines": [[ln.external_line_id, ln.quantity] for ln in package.lines],
        "carrier_code": package.carrier_code,
        "carrier_name": package.carrier_name,
        "tracking_number": package.tracking_number,
    }
