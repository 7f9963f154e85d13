"""Refunds recorded in Colis, sent to the channel the order came from: one `channel_refund`
outbox row each, every outcome written down as a sync record (operation `refund_push`).

Sent only while the channel's `refund_sync` is on and where the vendor's API takes refunds;
otherwise the record says why it was skipped. Never twice: an attempt is counted on the record
before the vendor is called, and a refund tried before (a crash, a timeout) is first looked for
on the vendor (each connector's `refund_find`) and recorded as found instead of sent again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from colis.channels.connectors.base import (
    NotSupported,
    PushResult,
    RefundLine,
    RefundPackage,
)
from colis.channels.models import Channel, ChannelOrder, SyncRecord, SyncState
from colis.channels.pushing import _call, _set, _skip, _succeeded, sync_records_open
from colis.core.models import OutboxMessage
from colis.core.outbox import PermanentFailure

OPERATION = "refund_push"
SYNC_OFF = "Not sent: refund sync is off for this channel."
FOUND = "Found on the channel from an earlier attempt."


def refund_marker(refund_id: int) -> str:
    """How a refund names itself in the vendor's free text (note, comment, reason)."""
    return f"Colis refund {refund_id}"


@dataclass(kw_only=True)
class _Push:
    """What one refund push needs, loaded with the rest of its batch."""

    refund: Any = None
    order: Any = None
    channel: Channel | None = None
    record: SyncRecord | None = None
    tried: bool = False  # an earlier attempt may have reached the vendor
    refs: dict[str, Any] = field(default_factory=dict)
    lines: dict[int, tuple[str, str]] = field(default_factory=dict)  # line id -> (sku, vendor id)
    return_reasons: tuple[str, ...] = ()


def _refund_id(message: OutboxMessage) -> int | None:
    value = message.payload.get("refund_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def channel_refunds_prepare(messages: Sequence[OutboxMessage]) -> None:
    """Load a batch's refunds, orders, channels, order lines and return reasons in a few
    queries, and count an attempt on each sync record before any vendor is called: a refund
    cut off by a crash is then known as tried, and the next attempt looks for it first."""
    from colis.orders.models import OrderLine
    from colis.returns.models import Refund, ReturnLine

    ids = {i for m in messages if (i := _refund_id(m)) is not None}
    refunds = {r.pk: r for r in Refund.objects.filter(pk__in=ids).select_related("order")}
    orders = {r.order_id: r.order for r in refunds.values()}
    channels = {c.pk: c for c in Channel.objects.filter(
        pk__in={o.channel_record_id for o in orders.values() if o.channel_record_id})}  # fmt: skip
    refs = {
        (ch, oid): (data or {}).get("refs") or {}
        for ch, oid, data in ChannelOrder.objects.filter(order_id__in=orders).values_list(
            "channel_id", "order_id", "data"
        )
    }
    lines: dict[int, dict[int, tuple[str, str]]] = {}
    for line_id, order_id, sku, external in OrderLine.objects.filter(
        order_id__in=orders
    ).values_list("id", "order_id", "sku", "external_line_id"):
        lines.setdefault(order_id, {})[line_id] = (sku, external)
    reasons: dict[int, list[str]] = {}
    rmas = {r.rma_id for r in refunds.values() if r.rma_id}
    for rma_id, reason in (
        ReturnLine.objects.filter(rma_id__in=rmas).order_by("id").values_list("rma_id", "reason")
    ):
        reasons.setdefault(rma_id, []).append(reason)
    now = timezone.now()
    pushes: dict[int, _Push] = {}
    new_records = []
    for m in messages:
        refund_id = _refund_id(m)
        refund = refunds.get(refund_id) if refund_id is not None else None
        order = refund.order if refund is not None else None
        channel = channels.get(order.channel_record_id) if order is not None else None
        pushes[m.pk] = _Push(
            refund=refund,
            order=order,
            channel=channel,
            refs=refs.get((channel.pk, order.pk), {}) if channel else {},
            lines=lines.get(order.pk, {}) if order is not None else {},
            return_reasons=tuple(reasons.get(refund.rma_id, ())) if refund is not None else (),
        )
        if channel is not None:
            new_records.append(SyncRecord(
                key=m.idempotency_key, channel=channel, direction="push", operation=OPERATION,
                state=SyncState.PENDING, order_id=order.pk, outbox_message_id=m.pk,
                request={"refund_id": refund.pk}, created_at=now, updated_at=now))  # fmt: skip
    sync_records_open(messages, new_records, pushes, now)


def channel_refund_deliver(message: OutboxMessage) -> Callable[[], None] | None:
    """Deliver one `channel_refund` row: send the refund, find it from an earlier attempt, or
    say on its sync record why it is not sent."""
    from colis.channels.services import channel_connector

    if not isinstance(message.prepared, _Push):
        channel_refunds_prepare([message])
    push: _Push = message.prepared
    channel, record, refund, order = push.channel, push.record, push.refund, push.order
    if channel is None or record is None:
        return None  # not an order from a channel (or the refund is gone with its order)
    if record.state in (SyncState.SUCCEEDED, SyncState.SKIPPED):
        return None
    connector = channel_connector(channel)
    if not connector.supports_refunds:
        _skip(record, connector.refunds_unsupported())
        return None
    if not channel.refund_sync:
        _skip(record, SYNC_OFF)
        return None
    problem = _unsendable(refund, order)
    if problem:
        _set(record, state=SyncState.FAILED, message=problem)
        raise PermanentFailure(problem)
    package = _package(channel, push, claimed=_claimed(record) if push.tried else frozenset())
    if package.amount <= 0:
        _skip(record, "Not sent: the refund gives no money back.")
        return None
    record.request = _describe(package)
    try:
        if push.tried:
            found = _call(
                record, lambda: connector.refund_find(package) or PushResult(vendor_id="")
            )
            if found.vendor_id or found.response:
                return _succeeded(record, replace(found, request=record.request), FOUND)
        result = _call(record, lambda: connector.refund_push(package))
    except PermanentFailure as exc:
        if isinstance(exc.__cause__, NotSupported):
            _skip(record, str(exc.__cause__))
            return None
        raise
    # The record keeps which refund it was beside what the vendor was sent.
    return _succeeded(record, replace(result, request={**record.request, "sent": result.request}))


def _unsendable(refund: Any, order: Any) -> str:
    """Why this refund cannot go to the vendor as it is ("" when it can)."""
    if not order.external_id:
        return "The order has no id on the channel to refund against."
    if refund.currency != order.currency:
        return (
            f"The refund is in {refund.currency} and the order in {order.currency}: channels "
            "refund in the order's currency only."
        )
    return ""


def _claimed(record: SyncRecord) -> frozenset[str]:
    """Vendor refund ids that other refunds of the order already sent account for."""
    return frozenset(
        SyncRecord.objects.filter(
            channel_id=record.channel_id,
            order_id=record.order_id,
            operation=OPERATION,
            state=SyncState.SUCCEEDED,
        )
        .exclude(pk=record.pk)
        .exclude(vendor_id="")
        .values_list("vendor_id", flat=True)
    )


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def _lines(refund: Any, known: dict[int, tuple[str, str]]) -> tuple[RefundLine, ...]:
    """The refund's lines as the vendor's line ids (a line given by SKU is the order's first
    line of that SKU); lines the vendor has no id for are left out (their money is still in
    the refund's amount)."""
    by_sku: dict[str, int] = {}
    for line_id, (sku, _) in known.items():
        by_sku.setdefault(sku.lower(), line_id)
    lines = []
    for entry in refund.lines or ():
        if not isinstance(entry, dict):
            continue
        line_id = entry.get("line_id")
        if not isinstance(line_id, int):
            line_id = by_sku.get(str(entry.get("sku") or "").lower())
        external = known.get(line_id, ("", ""))[1] if line_id is not None else ""
        quantity = entry.get("quantity")
        if not external:
            continue
        lines.append(
            RefundLine(
                external_line_id=external,
                quantity=quantity if isinstance(quantity, int) and quantity > 0 else 0,
                amount=_decimal(entry.get("amount")),
            )
        )
    return tuple(lines)


def _package(channel: Channel, push: _Push, *, claimed: frozenset[str]) -> RefundPackage:
    refund, order = push.refund, push.order
    return RefundPackage(
        refund_id=refund.pk,
        marker=refund_marker(refund.pk),
        order_external_id=order.external_id or "",
        order_refs=push.refs,
        currency=order.currency,
        amount=_decimal(refund.amount),
        shipping_amount=_decimal(refund.shipping_amount),
        lines=_lines(refund, push.lines),
        reason=refund.reason or "",
        return_reasons=push.return_reasons,
        notify_buyer=channel.notify_buyer,
        claimed=claimed,
    )


def _describe(package: RefundPackage) -> dict[str, Any]:
    return {
        "refund_id": package.refund_id,
        "order": package.order_external_id,
        "currency": package.currency,
        "amount": str(package.amount),
        "shipping_amount": str(package.shipping_amount),
        "lines": [[ln.external_line_id, ln.quantity, str(ln.amount)] for ln in package.lines],
        "reason": package.reason,
    }
