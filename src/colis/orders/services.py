"""Orders: create (one or a batch), cancel, set status by hand.

`orders_create` is the one path for every order, from the API, a CSV or a channel. It checks
everything a batch can check without the database first (shape, currency, addresses, phones),
then, in one transaction, SKUs, channel ids and numbers, and writes orders, lines and timeline
events with bulk inserts. Each bad order gets its own errors; the good ones are created.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from colis.catalog.models import sku_key
from colis.catalog.selectors import products_by_skus
from colis.core.actor import Actor
from colis.core.addresses import address_errors, phone_normalize
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.money import is_currency
from colis.core.sequences import counter_allocate
from colis.core.timeline import event_build, event_record, events_record
from colis.orders.drafts import OrderDraft, OrderResult
from colis.orders.models import Order, OrderLine
from colis.orders.status import (
    INITIAL_STATUS,
    STATUS_NAMES,
    FinancialStatus,
    LineQuantities,
    OrderStatus,
    fulfillment_status_derive,
    status_transition_check,
)

MAX_LINES = 500
MAX_BATCH = 1000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_CHANNEL = "api"


@dataclass(kw_only=True, slots=True)
class _Checked:
    index: int
    draft: OrderDraft
    channel: str
    shipping: dict[str, Any]
    billing: dict[str, Any] | None
    phone: str
    subtotal: Decimal


def _check_offline(index: int, draft: OrderDraft) -> tuple[_Checked | None, dict[str, Any]]:
    """Checks that need no database. Returns (checked order, {}) or (None, errors)."""
    errors: dict[str, Any] = {}
    if not EMAIL.match(draft.email or "") or len(draft.email) > 254:
        errors["email"] = "A valid email address is required."
    if not is_currency(draft.currency):
        errors["currency"] = "An ISO 4217 currency code is required (EUR, USD, ...)."
    if draft.financial_status not in FinancialStatus.values:
        errors["financial_status"] = f"One of {', '.join(FinancialStatus.values)}."
    if not draft.lines:
        errors["lines"] = "At least one line is required."
    elif len(draft.lines) > MAX_LINES:
        errors["lines"] = f"At most {MAX_LINES} lines per order."
    if draft.external_id is not None and not draft.external_id.strip():
        errors["external_id"] = "Must not be blank."
    if draft.number is not None and not draft.number.strip():
        errors["number"] = "Must not be blank."
    subtotal = Decimal(0)
    for i, line in enumerate(draft.lines[:MAX_LINES]):
        if not line.sku.strip():
            errors[f"lines[{i}].sku"] = "A SKU is required."
        if line.quantity <= 0:
            errors[f"lines[{i}].quantity"] = "Must be at least 1."
        if line.unit_price < 0:
            errors[f"lines[{i}].unit_price"] = "Must not be negative."
        subtotal += line.unit_price * line.quantity
    ship_errors, shipping = address_errors(draft.shipping_address, prefix="shipping_address")
    errors.update(ship_errors)
    billing = None
    if draft.billing_address:
        bill_errors, billing = address_errors(draft.billing_address, prefix="billing_address")
        errors.update(bill_errors)
    phone = ""
    if draft.phone:
        country = (shipping or {}).get("country", "")
        try:
            phone = phone_normalize(draft.phone, country=country)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        return None, errors
    assert shipping is not None
    channel = (draft.channel or DEFAULT_CHANNEL).strip() or DEFAULT_CHANNEL
    return _Checked(
        index=index,
        draft=draft,
        channel=channel,
        shipping=shipping,
        billing=billing,
        phone=phone,
        subtotal=subtotal,
    ), {}


def _numbers_for(count: int, taken_in_batch: set[str]) -> list[str]:
    """`count` fresh generated numbers that no order (nor this batch) uses."""
    numbers: list[str] = []
    while len(numbers) < count:
        need = count - len(numbers)
        first = counter_allocate(name="order_number", count=need)
        fresh = [str(n) for n in range(first, first + need)]
        used = set(Order.objects.filter(number__in=fresh).values_list("number", flat=True))
        numbers += [n for n in fresh if n not in used and n not in taken_in_batch]
    return numbers


def _write(
    checked: list[_Checked], products: dict[str, Any], actor: Actor, results: dict[int, OrderResult]
) -> None:
    """Inside a transaction: refuse or replay against the database, then insert the rest."""
    pairs = {(c.channel, c.draft.external_id) for c in checked if c.draft.external_id}
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    if pairs:
        rows = Order.objects.filter(
            channel__in={p[0] for p in pairs}, external_id__in={p[1] for p in pairs}
        ).values_list("channel", "external_id", "pk", "number")
        existing = {(ch, ext): (pk, num) for ch, ext, pk, num in rows if (ch, ext) in pairs}
    supplied = [c.draft.number.strip() for c in checked if c.draft.number]
    taken = set(Order.objects.filter(number__in=supplied).values_list("number", flat=True))

    to_create: list[_Checked] = []
    batch_pairs: dict[tuple[str, str], int] = {}
    batch_numbers: set[str] = set()
    for c in checked:
        pair = (c.channel, c.draft.external_id) if c.draft.external_id else None
        if pair and pair in existing:
            pk, num = existing[pair]
            results[c.index] = OrderResult(index=c.index, order_id=pk, number=num)
            continue
        if pair and pair in batch_pairs:
            results[c.index] = OrderResult(
                index=c.index,
                errors={
                    "external_id": f"Same channel and external id as order {batch_pairs[pair]}."
                },
            )
            continue
        number = c.draft.number.strip() if c.draft.number else None
        if number and (number in taken or number in batch_numbers):
            results[c.index] = OrderResult(
                index=c.index, errors={"number": "Another order has this number."}
            )
            continue
        if pair:
            batch_pairs[pair] = c.index
        if number:
            batch_numbers.add(number)
        to_create.append(c)
    if not to_create:
        return

    generated = iter(_numbers_for(sum(1 for c in to_create if not c.draft.number), batch_numbers))
    now = timezone.now()
    orders: list[Order] = []
    for c in to_create:
        d = c.draft
        status = INITIAL_STATUS[d.financial_status]
        total = (
            d.total
            if d.total is not None
            else (c.subtotal + d.shipping_price + d.tax_total - d.discount_total)
        )
        orders.append(
            Order(
                number=d.number.strip() if d.number else next(generated),
                channel=c.channel,
                external_id=d.external_id.strip() if d.external_id else None,
                email=d.email.strip().lower(),
                phone=c.phone,
                locale=d.locale,
                buyer_name=c.shipping["name"] or c.shipping["company"],
                shipping_address=c.shipping,
                billing_address=c.billing,
                currency=d.currency,
                subtotal=c.subtotal,
                shipping_price=d.shipping_price,
                tax_total=d.tax_total,
                discount_total=d.discount_total,
                total=total,
                financial_status=d.financial_status,
                status=status,
                fulfillment_status="unfulfilled",
                shipping_method=d.shipping_method,
                ship_by=d.ship_by,
                tags=list(d.tags),
                note=d.note,
                cancelled_at=now if status == OrderStatus.CANCELLED else None,
                created_at=now,
                updated_at=now,
            )
        )
    Order.objects.bulk_create(orders)
    lines: list[OrderLine] = []
    events = []
    for c, order in zip(to_create, orders, strict=True):
        for position, ln in enumerate(c.draft.lines):
            product = products[sku_key(ln.sku)]
            lines.append(
                OrderLine(
                    order_id=order.pk,
                    position=position,
                    product_id=product.pk,
                    sku=product.sku,
                    title=ln.title or product.title,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    external_line_id=ln.external_line_id,
                    quantity_cancelled=ln.quantity if order.status == OrderStatus.CANCELLED else 0,
                )
            )
        events.append(
            event_build(
                subject_type="order",
                subject_id=order.pk,
                order_id=order.pk,
                kind="order_created",
                actor=actor,
                data={
                    "number": order.number,
                    "status": STATUS_NAMES[order.status],
                    "channel": order.channel,
                },
            )
        )
        results[c.index] = OrderResult(
            index=c.index, order_id=order.pk, number=order.number, created=True
        )
    OrderLine.objects.bulk_create(lines, batch_size=1000)
    events_record(events)


def orders_create(
    *,
    drafts: Sequence[OrderDraft],
    actor: Actor,
    pre_errors: dict[int, dict[str, Any]] | None = None,
) -> list[OrderResult]:
    """Create many orders; one result per draft, in order.

    An order whose (channel, external_id) exists is not created again: its result names the
    existing order with `created=False`. `pre_errors` carries errors the caller found while
    parsing (by index); those drafts are reported, not created.
    """
    if len(drafts) + len(pre_errors or {}) > MAX_BATCH:
        raise ValidationError(
            f"At most {MAX_BATCH} orders per call.",
            code="batch_too_large",
            fields={"orders": f"At most {MAX_BATCH}."},
        )
    results: dict[int, OrderResult] = {
        i: OrderResult(index=i, errors=e) for i, e in (pre_errors or {}).items()
    }
    checked: list[_Checked] = []
    indexes = [i for i in range(len(drafts) + len(results)) if i not in results]
    for index, draft in zip(indexes, drafts, strict=True):
        ok, errors = _check_offline(index, draft)
        if ok is None:
            results[index] = OrderResult(index=index, errors=errors)
        else:
            checked.append(ok)
    products = products_by_skus(ln.sku for c in checked for ln in c.draft.lines)
    valid: list[_Checked] = []
    for c in checked:
        unknown = {
            f"lines[{i}].sku": f"Unknown SKU {ln.sku!r}."
            for i, ln in enumerate(c.draft.lines)
            if sku_key(ln.sku) not in products
        }
        if unknown:
            results[c.index] = OrderResult(index=c.index, errors=unknown)
        else:
            valid.append(c)
    for attempt in range(3):
        written: dict[int, OrderResult] = {}
        try:
            with transaction.atomic():
                _write(valid, products, actor, written)
        except IntegrityError:
            # A concurrent writer took a number or a channel id between our check and insert
            # (PostgreSQL); the next pass sees its row and replays or refuses accordingly.
            if attempt == 2:
                raise
            continue
        results.update(written)
        break
    return [results[i] for i in sorted(results)]


def order_create(*, draft: OrderDraft, actor: Actor) -> OrderResult:
    """Create one order. Raises ValidationError naming each bad field."""
    result = orders_create(drafts=[draft], actor=actor)[0]
    if result.errors:
        raise ValidationError("The order is not valid.", code="invalid_order", fields=result.errors)
    return result


def _locked_order(order_id: int) -> Order:
    order = lock_by_pk(Order.objects.all(), [order_id]).get(order_id)
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def _refresh_fulfillment_status(order: Order, lines: Sequence[OrderLine]) -> None:
    order.fulfillment_status = fulfillment_status_derive(
        LineQuantities(
            ordered=ln.quantity, fulfilled=ln.quantity_fulfilled, cancelled=ln.quantity_cancelled
        )
        for ln in lines
    )


def order_cancel(*, order_id: int, reason: str = "", actor: Actor) -> Order:
    """Cancel what is not shipped. Raises NotFound, Conflict (already cancelled, shipped)."""
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict("This order is already cancelled.", code="order_already_cancelled")
        status_transition_check(order.status, OrderStatus.CANCELLED)
        lines = list(order.lines.order_by("position"))
        if any(ln.quantity_fulfilled for ln in lines):
            raise Conflict(
                "Part of this order has shipped; cancel its open items instead.",
                code="order_has_shipments",
            )
        for ln in lines:
            ln.quantity_cancelled = ln.quantity - ln.quantity_fulfilled
        OrderLine.objects.bulk_update(lines, ["quantity_cancelled"])
        previous = order.status
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = timezone.now()
        order.cancel_reason = reason[:200]
        order.updated_at = order.cancelled_at
        _refresh_fulfillment_status(order, lines)
        order.save(
            update_fields=[
                "status",
                "cancelled_at",
                "cancel_reason",
                "updated_at",
                "fulfillment_status",
            ]
        )
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_cancelled",
            actor=actor,
            data={"reason": reason, "from": STATUS_NAMES[previous]},
        )
    return order


def order_status_set(*, order_id: int, status: int, note: str = "", actor: Actor) -> Order:
    """Set the status by hand, if the transition table allows it. Raises NotFound, Conflict."""
    if status == OrderStatus.CANCELLED:
        return order_cancel(order_id=order_id, reason=note, actor=actor)
    with transaction.atomic():
        order = _locked_order(order_id)
        if order.status == status:
            raise Conflict(f"The order is already {STATUS_NAMES[status]}.", code="status_unchanged")
        status_transition_check(order.status, status)
        previous = order.status
        order.status = status
        order.updated_at = timezone.now()
        order.save(update_fields=["status", "updated_at"])
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_status_changed",
            actor=actor,
            data={
                "from": STATUS_NAMES[previous],
                "to": STATUS_NAMES[status],
                "manual": True,
                "note": note,
            },
        )
    return order


def order_note_add(*, order_id: int, text: str, actor: Actor) -> None:
    """A staff note on the order's timeline."""
    text = (text or "").strip()
    if not text or len(text) > 5000:
        raise ValidationError(
            "A note needs 1 to 5,000 characters.",
            code="invalid_note",
            fields={"text": "1 to 5,000 characters."},
        )
    with transaction.atomic():
        order = _locked_order(order_id)
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_note_added",
            actor=actor,
            data={"text": text},
        )


def status_label_set(*, status: int, label: str, actor: Actor) -> None:
    from colis.orders.models import OrderStatusLabel

    label = (label or "").strip()
    if status not in STATUS_NAMES:
        raise NotFound("No such status.", code="status_not_found")
    if not label or len(label) > 100:
        raise ValidationError(
            "A label needs 1 to 100 characters.",
            code="invalid_label",
            fields={"label": "1 to 100 characters."},
        )
    with transaction.atomic():
        OrderStatusLabel.objects.update_or_create(status=status, defaults={"label": label})
        event_record(
            subject_type="order_status",
            subject_id=status,
            kind="status_label_set",
            actor=actor,
            data={"status": STATUS_NAMES[status], "label": label},
        )
