"""Buyer personal data past its retention: which orders are due, and taking the data out.

A retention rule is a number of days: each channel has its own (`Channel.retention_days`;
Amazon's at most 30), orders that came from no channel record follow the shop's
(`Shop.retention_days`); null keeps the data. The days count from the moment an order is done
with: its last delivery (or its last shipment, for parcels never marked delivered); while the
shop's return window (as long again after that moment) is still open, the data stays until it
closes. A cancelled order counts from its cancellation. An order with units still to ship,
a parcel packed but not gone, or a return still open is never due.

Redaction blanks the buyer's name, email, phone and the order's note, and every line of both
addresses but the country and the region (what tax and accounting reports need: VAT by
country, sales tax by state or province). Order numbers, lines, SKUs, amounts, dates, shipments
and the stock ledger stay as they are. The copies go too: the channel's record of the order,
return notes (the return's and its lines'), the recipient of buyer emails already sent, and
addresses and contact details kept in timeline events. Each order is redacted once
(`Order.redacted_at`), with an `order_redacted` event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from colis.channels.models import Channel, ImportState
from colis.channels.models import ChannelOrder as ChannelOrderRow
from colis.core.actor import Actor
from colis.core.locks import lock_by_pk
from colis.core.models import Event, OutboxMessage, OutboxStatus, Shop
from colis.core.timeline import event_row, events_insert
from colis.fulfillment.models import Shipment
from colis.fulfillment.status import PACKED
from colis.orders.models import Order, OrderLine
from colis.orders.status import OrderStatus
from colis.returns.models import Return, ReturnLine
from colis.returns.selectors import OPEN_STATES, SHIPPED_STATES

BATCH = 500
ADDRESS_KEYS = (
    "name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone",
)  # fmt: skip
# Kept for tax and accounting: VAT is due by country, sales tax by US state or province.
KEPT_ADDRESS_KEYS = ("country", "region")
# Contact details as events and channel records name them (eBay's refs keep the buyer's
# username).
PERSONAL_KEYS = frozenset({"email", "phone", "buyer_name", "buyer_username"})
ORDER_FIELDS = (
    "email", "phone", "buyer_name", "note", "shipping_address", "billing_address",
    "redacted_at", "updated_at",
)  # fmt: skip
# Buyer emails whose delivery is over; one still queued keeps its recipient until it goes.
SENT_EMAIL_STATES = (OutboxStatus.DELIVERED, OutboxStatus.FAILED)


# -- values --------------------------------------------------------------------------------------


def address_redact(address: Any) -> dict[str, Any] | None:
    """The stored form of a redacted address: every key blank but the kept ones, and
    `"redacted": true`. None stays None (an order without a billing address)."""
    if address is None:
        return None
    source = address if isinstance(address, Mapping) else {}
    out: dict[str, Any] = {key: "" for key in ADDRESS_KEYS}
    for key in KEPT_ADDRESS_KEYS:
        value = source.get(key)
        out[key] = value if isinstance(value, str) else ""
    out["redacted"] = True
    return out


def is_address(value: Mapping[str, Any]) -> bool:
    return "line1" in value and "country" in value


def personal_data_scrub(value: Any) -> Any:
    """`value` (JSON) with every address redacted and every contact detail blanked, at any
    depth; everything else as it was."""
    if isinstance(value, Mapping):
        if is_address(value) and not value.get("redacted"):
            return address_redact(value)
        return {
            k: "" if k in PERSONAL_KEYS and isinstance(v, str) else personal_data_scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [personal_data_scrub(v) for v in value]
    return value


def channel_data_redact(data: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's record of an order (`ChannelOrder.data`) without the buyer: still readable
    as a channel order (lines, amounts, vendor references and dates stay)."""
    out = personal_data_scrub(dict(data))
    # Always marked, so a record is found redacted whatever address it held.
    out["shipping_address"] = address_redact(out.get("shipping_address") or {})
    if out.get("billing_address") is not None:
        out["billing_address"] = address_redact(out["billing_address"])
    return out


# -- which orders are due ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Rules:
    """Retention days by channel record id, and for orders from no channel record."""

    channels: Mapping[int, int]
    unchannelled: int | None
    return_window: timedelta

    def __bool__(self) -> bool:
        return bool(self.channels) or self.unchannelled is not None

    def days_for(self, channel_record_id: int | None) -> int | None:
        if channel_record_id is None:
            return self.unchannelled
        return self.channels.get(channel_record_id)


def retention_rules() -> Rules:
    shop = Shop.objects.filter(pk=1).first() or Shop()
    return Rules(
        channels=dict(
            Channel.objects.filter(retention_days__isnull=False).values_list("pk", "retention_days")
        ),
        unchannelled=shop.retention_days,
        return_window=timedelta(days=shop.return_window_days),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DueOrder:
    order_id: int
    number: str
    channel: str
    retention_days: int
    # When its retention ran out.
    due_at: datetime


def _latest(stamp: str) -> Subquery:
    return Subquery(
        Shipment.objects.filter(
            order_id=OuterRef("pk"), status__in=SHIPPED_STATES, **{f"{stamp}__isnull": False}
        )
        .order_by(f"-{stamp}")
        .values(stamp)[:1]
    )


def _due_within(days: int, now: datetime, window: timedelta) -> Q:
    keep = timedelta(days=days)
    left = Q(done_at__isnull=False, done_at__lte=now - max(keep, window)) & (
        Q(cancelled_at__isnull=True) | Q(cancelled_at__lte=now - keep)
    )
    cancelled = Q(done_at__isnull=True, status=OrderStatus.CANCELLED, cancelled_at__lte=now - keep)
    return left | cancelled


def _due_queryset(rules: Rules, now: datetime) -> QuerySet[Order]:
    match = Q(pk__in=[])
    for channel_id, days in rules.channels.items():
        match |= Q(channel_record_id=channel_id) & _due_within(days, now, rules.return_window)
    if rules.unchannelled is not None:
        match |= Q(channel_record_id__isnull=True) & _due_within(
            rules.unchannelled, now, rules.return_window
        )
    to_ship = OrderLine.objects.filter(
        order_id=OuterRef("pk"), quantity__gt=F("quantity_fulfilled") + F("quantity_cancelled")
    )
    packed = Shipment.objects.filter(order_id=OuterRef("pk"), status__in=PACKED)
    returning = Return.objects.filter(order_id=OuterRef("pk"), state__in=OPEN_STATES)
    return (
        Order.objects.filter(redacted_at__isnull=True)
        .annotate(done_at=Coalesce(_latest("delivered_at"), _latest("shipped_at")))
        .filter(match)
        .exclude(Exists(to_ship))
        .exclude(Exists(packed))
        .exclude(Exists(returning))
    )


def orders_due_for_redaction(
    *,
    now: datetime,
    after_id: int | None = None,
    limit: int | None = None,
    order_ids: Sequence[int] | None = None,
    rules: Rules | None = None,
) -> list[DueOrder]:
    """Orders whose buyer data is past its retention at `now` and not yet redacted, by id
    (after `after_id`, at most `limit`; only among `order_ids` when given)."""
    rules = rules if rules is not None else retention_rules()
    if not rules:
        return []
    qs = _due_queryset(rules, now).order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    if order_ids is not None:
        qs = qs.filter(pk__in=list(order_ids))
    rows = qs.values_list("pk", "number", "channel", "channel_record_id", "done_at", "cancelled_at")
    if limit is not None:
        rows = rows[:limit]
    out = []
    for pk, number, channel, channel_id, done_at, cancelled_at in rows:
        days = rules.days_for(channel_id)
        assert days is not None  # the query matched a rule
        keep = timedelta(days=days)
        ends = [t for t in (done_at and done_at + max(rules.return_window, keep),
                            cancelled_at and cancelled_at + keep) if t]  # fmt: skip
        out.append(DueOrder(order_id=pk, number=number, channel=channel, retention_days=days,
                            due_at=max(ends)))  # fmt: skip
    return out


def channel_records_due(*, now: datetime, rules: Rules | None = None) -> QuerySet[ChannelOrderRow]:
    """Channel orders never imported (ignored: not for us) that were last read longer ago than
    their channel's retention, still holding the buyer's data."""
    rules = rules if rules is not None else retention_rules()
    match = Q(pk__in=[])
    for channel_id, days in rules.channels.items():
        match |= Q(channel_id=channel_id, checked_at__lte=now - timedelta(days=days))
    return ChannelOrderRow.objects.filter(
        match,
        state=ImportState.IGNORED,
        order__isnull=True,
        data__shipping_address__redacted__isnull=True,
    )


# -- redaction -----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class RedactionReport:
    dry_run: bool
    orders: list[DueOrder] = field(default_factory=list)
    # Channel orders never imported whose buyer data went (or would go).
    channel_records: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "orders": len(self.orders),
            "numbers": [d.number for d in self.orders],
            "channel_records": self.channel_records,
        }


def orders_redact(
    *, now: datetime, dry_run: bool = False, limit: int | None = None, actor: Actor
) -> RedactionReport:
    """Redact the buyer data of every order due at `now` (at most `limit`), in batches of one
    transaction each; with `dry_run`, only say which. Running it again redacts nothing new."""
    report = RedactionReport(dry_run=dry_run)
    rules = retention_rules()
    if not rules:
        return report
    after: int | None = None
    while limit is None or len(report.orders) < limit:
        size = BATCH if limit is None else min(BATCH, limit - len(report.orders))
        due = orders_due_for_redaction(now=now, after_id=after, limit=size, rules=rules)
        if not due:
            break
        after = due[-1].order_id
        report.orders.extend(due if dry_run else _batch_redact(due, now, rules, actor))
    records = channel_records_due(now=now, rules=rules)
    if dry_run:
        report.channel_records = records.count()
    else:
        report.channel_records = _channel_records_redact(records)
    return report


def _batch_redact(due: list[DueOrder], now: datetime, rules: Rules, actor: Actor) -> list[DueOrder]:
    """One transaction: lock the orders, check again that each is due (a return may have been
    opened since), and take their data out with its copies and events."""
    with transaction.atomic():
        locked = lock_by_pk(Order.objects.all(), [d.order_id for d in due])
        still = orders_due_for_redaction(now=now, order_ids=list(locked), rules=rules)
        orders = [locked[d.order_id] for d in still]
        if not orders:
            return []
        emails = {order.pk: order.email for order in orders}
        for order in orders:
            order.email = order.phone = order.buyer_name = order.note = ""
            order.shipping_address = address_redact(order.shipping_address) or {}
            order.billing_address = address_redact(order.billing_address)
            order.redacted_at = order.updated_at = now
        Order.objects.bulk_update(orders, ORDER_FIELDS)
        ids = [o.pk for o in orders]
        _copies_redact(ids, emails)
        events_insert(
            [
                event_row(
                    subject_type="order",
                    subject_id=d.order_id,
                    order_id=d.order_id,
                    kind="order_redacted",
                    actor=actor,
                    at=now,
                    data={"retention_days": d.retention_days, "due_at": d.due_at.isoformat()},
                )
                for d in still
            ]
        )
    return still


def _words_scrub(value: Any, words: set[str]) -> Any:
    """`value` (JSON) with every occurrence of `words` (any case) taken out of its strings."""
    if isinstance(value, str):
        for word in words:
            value = re.sub(re.escape(word), "", value, flags=re.IGNORECASE)
        return value
    if isinstance(value, Mapping):
        return {k: _words_scrub(v, words) for k, v in value.items()}
    if isinstance(value, list):
        return [_words_scrub(v, words) for v in value]
    return value


def _copies_redact(order_ids: list[int], emails: Mapping[int, str]) -> None:
    """The buyer's data wherever else these orders kept it. `emails`: each order's email as it
    was, also taken out of delivery errors (a mail server's refusal names the recipient)."""
    records = list(ChannelOrderRow.objects.filter(order_id__in=order_ids).only("pk", "data"))
    for record in records:
        record.data = channel_data_redact(record.data or {})
    ChannelOrderRow.objects.bulk_update(records, ["data"])
    Return.objects.filter(order_id__in=order_ids).exclude(note="").update(note="")
    # The buyer's own words on each line (the returns page's "note").
    ReturnLine.objects.filter(rma__order_id__in=order_ids).exclude(note="").update(note="")
    known: dict[int, set[str]] = {pk: {e} if e else set() for pk, e in emails.items()}
    for order_id, to in OutboxMessage.objects.filter(
        order_id__in=order_ids, kind="customer_email"
    ).values_list("order_id", "payload__to"):
        if isinstance(to, str) and to:
            known.setdefault(order_id, set()).add(to)
    sent = list(
        OutboxMessage.objects.filter(
            order_id__in=order_ids, kind="customer_email", status__in=SENT_EMAIL_STATES
        ).only("pk", "order_id", "payload", "last_error")
    )
    for message in sent:
        message.payload = {**message.payload, "to": ""}
        message.last_error = _words_scrub(message.last_error, known.get(message.order_id, set()))
    OutboxMessage.objects.bulk_update(sent, ["payload", "last_error"])
    changed = []
    for event in Event.objects.filter(order_id__in=order_ids).only("pk", "order_id", "data"):
        scrubbed = _words_scrub(personal_data_scrub(event.data), known.get(event.order_id, set()))
        if scrubbed != event.data:
            event.data = scrubbed
            changed.append(event)
    Event.objects.bulk_update(changed, ["data"], batch_size=BATCH)


def _channel_records_redact(records: QuerySet[ChannelOrderRow]) -> int:
    done = 0
    while batch := list(records.order_by("pk").only("pk", "data")[:BATCH]):
        with transaction.atomic():
            for record in batch:
                record.data = channel_data_redact(record.data or {})
            ChannelOrderRow.objects.bulk_update(batch, ["data"])
        done += len(batch)
    return done
