"""Orders in from a channel: read pages from the vendor, check each order, create the good ones
in bulk, keep the others in the pending queue with their failing checks, and bring changes made
on the channel (cancelled, address edited, shipped there) to orders already imported."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from colis.channels.changes import channel_changes_apply
from colis.channels.checks import Context, context_load, order_checks, sku_resolve
from colis.channels.connectors.base import (
    ChannelError,
    ChannelOrder,
    PermanentError,
)
from colis.channels.models import Channel, ImportState, SyncState
from colis.channels.models import ChannelOrder as ChannelOrderRow
from colis.channels.records import channel_actor, order_from_data, order_to_data, sync_record_write
from colis.core.actor import Actor
from colis.core.addresses import phone_normalize
from colis.core.errors import Conflict, DomainError, NotFound, ValidationError
from colis.core.timeline import event_record
from colis.orders.drafts import LineDraft, OrderDraft

logger = logging.getLogger(__name__)

# Each scheduled import re-reads this much before the last change it saw: a vendor's "last
# updated" index is not always in step at the instant of the read.
OVERLAP = timedelta(minutes=10)
IMPORT_LEASE = timedelta(minutes=15)
RETRIES = 4
MAX_WAIT = 60.0


# -- checks and creation ------------------------------------------------------------------------


@dataclass(kw_only=True)
class IngestSummary:
    seen: int = 0
    imported: int = 0
    pending: int = 0
    ignored: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        for name in ("seen", "imported", "pending", "ignored", "updated", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _phone(order: ChannelOrder) -> str:
    if not order.phone:
        return ""
    try:
        return phone_normalize(order.phone, country=order.shipping_address.get("country", ""))
    except ValidationError:
        return ""  # a phone the vendor holds that we cannot read is no reason to refuse


def _draft(channel: Channel, order: ChannelOrder, context: Context) -> OrderDraft:
    return OrderDraft(
        email=order.email,
        shipping_address=dict(order.shipping_address),
        billing_address=None,
        currency=order.currency,
        financial_status="paid" if order.paid else "pending",
        lines=tuple(
            LineDraft(
                sku=sku_resolve(context, ln.sku) or ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                title=ln.title[:255],
                external_line_id=ln.external_line_id,
            )
            for ln in order.lines
        ),
        channel=channel.name,
        channel_id=channel.pk,
        external_id=order.external_id,
        phone=_phone(order),
        shipping_method=order.shipping_method[:200],
        shipping_price=order.shipping_price,
        tax_total=order.tax_total,
        discount_total=order.discount_total,
        total=order.total,
        ship_by=order.ship_by,
        tags=("fulfilled_by_channel",) if not order.merchant_fulfilled else (),
        route=order.merchant_fulfilled,
    )


# A failing check among these means the order is not for us: it is kept aside (state ignored,
# still visible and forceable) rather than queued for the merchant to fix.
IGNORING_CHECKS = frozenset({"placed_after_start", "merchant_fulfilled"})


def _verdict_state(order: ChannelOrder, failing: set[str], forced: bool) -> str:
    if order.state != "open":
        return ImportState.IGNORED
    if not failing:
        return ImportState.IMPORTED
    if forced and not failing & {"skus", "import_enabled"}:
        return ImportState.IMPORTED  # forcing cannot invent a product
    if failing & IGNORING_CHECKS:
        return ImportState.IGNORED  # not ours to ship: nothing to fix
    return ImportState.PENDING


def channel_orders_ingest(
    *, channel: Channel, orders: Sequence[ChannelOrder], actor: Actor | None = None
) -> IngestSummary:
    """Check and bring in a page of vendor orders. An order seen before is one order: a new
    one is created once, an imported one gets the channel's changes."""
    from colis.orders.services import orders_create

    actor = actor or channel_actor(channel)
    summary = IngestSummary()
    latest: dict[str, ChannelOrder] = {}
    for order in orders:
        kept = latest.get(order.external_id)
        if kept is None or order.updated_at >= kept.updated_at:
            latest[order.external_id] = order
    summary.seen = len(latest)
    if not latest:
        return summary
    now = timezone.now()
    records = {
        r.external_id: r
        for r in ChannelOrderRow.objects.filter(channel=channel, external_id__in=list(latest))
    }
    context = context_load(channel=channel, orders=latest.values())
    creating: list[tuple[ChannelOrderRow, ChannelOrder]] = []
    changed: list[tuple[ChannelOrderRow, ChannelOrder]] = []
    touched: list[ChannelOrderRow] = []
    for external_id, order in latest.items():
        record = records.get(external_id)
        if record is not None and record.state == ImportState.IMPORTED and record.order_id:
            # Vendors keep whole seconds: the same second may still hold a change.
            seen = record.vendor_updated_at
            if seen and (
                order.updated_at < seen
                or (order.updated_at == seen and order_to_data(order) == record.data)
            ):
                summary.unchanged += 1
            else:
                changed.append((record, order))
            continue
        verdicts = order_checks(order, context)
        failing = {v.check for v in verdicts if not v.ok}
        if record is None:
            record = ChannelOrderRow(
                channel=channel, external_id=external_id, first_seen_at=now, attempts=0
            )
        record.data = order_to_data(order)
        record.checks = [v.as_dict() for v in verdicts]
        if order.state != "open":
            record.checks.append(
                {"check": "open", "ok": False, "message": f"Already {order.state} on the channel."}
            )
        record.vendor_updated_at = order.updated_at
        record.checked_at = now
        record.attempts += 1
        record.state = _verdict_state(order, failing, record.forced)
        touched.append(record)
        if record.state == ImportState.IMPORTED:
            creating.append((record, order))
        elif record.state == ImportState.PENDING:
            summary.pending += 1
        else:
            summary.ignored += 1
    with transaction.atomic():
        if creating:
            results = orders_create(
                drafts=[_draft(channel, order, context) for _, order in creating], actor=actor
            )
            for (record, _), result in zip(creating, results, strict=True):
                if result.ok:
                    record.order_id = result.order_id
                    summary.imported += 1
                else:
                    record.state = ImportState.PENDING
                    record.checks.append(
                        {
                            "check": "order",
                            "ok": False,
                            "message": "; ".join(f"{k}: {v}" for k, v in result.errors.items()),
                        }
                    )
                    summary.pending += 1
        _records_save(touched)
    for record, order in changed:
        try:
            if channel_changes_apply(channel, record, order, actor):
                summary.updated += 1
            else:
                summary.unchanged += 1
        except DomainError as exc:
            summary.errors.append(f"{order.external_id}: {exc.message}")
    return summary


_RECORD_FIELDS = ["state", "data", "checks", "order", "vendor_updated_at", "attempts",
                  "checked_at", "forced"]  # fmt: skip


def _records_save(records: list[ChannelOrderRow]) -> None:
    new = [r for r in records if r.pk is None]
    old = [r for r in records if r.pk is not None]
    if new:
        ChannelOrderRow.objects.bulk_create(new, batch_size=500)
    if old:
        ChannelOrderRow.objects.bulk_update(old, _RECORD_FIELDS, batch_size=500)


# -- runs -----------------------------------------------------------------------------------


def _lease(channel_id: int) -> bool:
    now = timezone.now()
    with transaction.atomic():
        taken = (
            Channel.objects.filter(pk=channel_id)
            .filter(Q(import_lease_until__isnull=True) | Q(import_lease_until__lt=now))
            .update(import_lease_until=now + IMPORT_LEASE)
        )
    return taken == 1


def _with_retries(call: Any, what: str) -> Any:
    """Run a vendor call, retrying temporary failures with backoff (and the vendor's
    Retry-After); a permanent failure or the last attempt's failure is raised."""
    for attempt in range(1, RETRIES + 1):
        try:
            return call()
        except PermanentError:
            raise
        except ChannelError as exc:
            if attempt == RETRIES:
                raise
            wait = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
            logger.info("%s: %s; retrying in %.1f s", what, exc, wait)
            time.sleep(min(wait, MAX_WAIT))
    raise AssertionError("unreachable")


def channel_import(
    *, channel_id: int, since: datetime | None = None, actor: Actor | None = None
) -> IngestSummary:
    """Read the channel's orders changed since its last import (or `since`) and bring them in.
    Raises NotFound, Conflict (an import of this channel is running)."""
    from colis.channels.services import channel_connector

    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None:
        raise NotFound("No such channel.", code="channel_not_found")
    if not _lease(channel.pk):
        raise Conflict("An import of this channel is running.", code="import_running")
    summary = IngestSummary()
    started = timezone.now()
    try:
        connector = channel_connector(channel)
        updated_after = since or (
            max(channel.import_cursor - OVERLAP, channel.import_start)
            if channel.import_cursor
            else channel.import_start
        )
        cursor: str | None = None
        high = channel.import_cursor
        while True:
            try:
                page = _with_retries(
                    lambda c=cursor: connector.orders_list(updated_after=updated_after, cursor=c),
                    f"{channel.name} orders",
                )
            except ChannelError as exc:
                sync_record_write(
                    channel=channel,
                    direction="import",
                    operation="orders_list",
                    state=SyncState.FAILED,
                    request={"updated_after": updated_after.isoformat(), "cursor": cursor},
                    response={"status": exc.status, "body": exc.body},
                    message=str(exc),
                )
                summary.errors.append(str(exc))
                break
            part = channel_orders_ingest(channel=channel, orders=page.orders, actor=actor)
            summary.add(part)
            for order in page.orders:
                if high is None or order.updated_at > high:
                    high = order.updated_at
            sync_record_write(
                channel=channel,
                direction="import",
                operation="orders_list",
                state=SyncState.SUCCEEDED,
                request={"updated_after": updated_after.isoformat(), "cursor": cursor},
                response={k: v for k, v in part.as_dict().items() if v},
            )
            cursor = page.next_cursor
            if not cursor:
                break
        fields: dict[str, Any] = {"last_import_at": started}
        if not summary.errors and high is not None:
            fields["import_cursor"] = high
        Channel.objects.filter(pk=channel.pk).update(**fields)
    finally:
        Channel.objects.filter(pk=channel.pk).update(import_lease_until=None)
    return summary


def channel_order_refresh(
    *, channel: Channel, external_ids: Sequence[str], actor: Actor | None = None
) -> IngestSummary:
    """Read these orders again from the vendor (a webhook named them) and bring them in."""
    from colis.channels.services import channel_connector

    connector = channel_connector(channel)
    orders = []
    for external_id in external_ids:
        found = _with_retries(lambda e=external_id: connector.order_get(e), "order")
        if found is not None:
            orders.append(found)
    return channel_orders_ingest(channel=channel, orders=orders, actor=actor)


# -- the pending queue ------------------------------------------------------------------------


def pending_order_retry(
    *, channel_id: int, record_id: int, force: bool = False, actor: Actor
) -> ChannelOrderRow:
    """Check a queued order again (after mapping a SKU, adding stock...), or force it in past
    the checks that can be waived. Reads the order from the vendor again when it can.
    Raises NotFound, Conflict (already imported)."""
    from colis.channels.services import channel_connector

    record = ChannelOrderRow.objects.filter(channel_id=channel_id, pk=record_id).first()
    if record is None:
        raise NotFound("No such order in this channel's queue.", code="pending_order_not_found")
    if record.state == ImportState.IMPORTED:
        raise Conflict("This order is imported already.", code="already_imported")
    channel = record.channel
    order = order_from_data(record.data)
    try:
        fresh = channel_connector(channel).order_get(order.external_id)
        if fresh is not None:
            order = fresh
    except ChannelError as exc:
        logger.info(
            "pending order %s: vendor not reachable (%s); checking the copy", record.pk, exc
        )
    if force:
        record.forced = True
        record.save(update_fields=["forced"])
        event_record(
            subject_type="channel",
            subject_id=channel.pk,
            kind="pending_order_forced",
            actor=actor,
            data={"external_id": record.external_id},
        )
    # A forced record is taken as new even when the vendor's copy did not change.
    record.vendor_updated_at = None
    record.save(update_fields=["vendor_updated_at"])
    channel_orders_ingest(channel=channel, orders=[order], actor=actor)
    record.refresh_from_db()
    return record
