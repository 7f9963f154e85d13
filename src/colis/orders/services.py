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
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from colis.catalog.models import sku_key
from colis.catalog.selectors import ProductRef, product_refs_by_skus
from colis.core.actor import Actor
from colis.core.addresses import address_errors, phone_normalize
from colis.core.bulk import bulk_insert
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.locks import lock_by_pk
from colis.core.money import is_currency
from colis.core.outbox import Effect, outbox_enqueue_many
from colis.core.sequences import counter_lift, counter_take
from colis.core.sql import fetch_all, in_list
from colis.core.timeline import event_record, event_row, events_insert
from colis.orders.drafts import OrderDraft, OrderResult
from colis.orders.effects import Created, Updated, orders_created_queue, orders_updated_queue

if TYPE_CHECKING:
    from colis.fulfillment.routing import Routed
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
MAX_AMOUNT = Decimal("99999999999999")  # amounts are numeric(18, 4)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_CHANNEL = "api"
# Orders from these channels have nowhere to push a change back to.
LOCAL_CHANNELS = frozenset({"api", "csv", "manual", "demo"})
NUMBER_COUNTER = "order_number"
MAX_GENERATED = 10**18  # supplied numbers above this never meet a generated one
FINANCIAL_STATUSES = frozenset(FinancialStatus.values)
CANCELLED = int(OrderStatus.CANCELLED)
ORDER_COLUMNS = (
    "number",
    "channel",
    "external_id",
    "email",
    "phone",
    "locale",
    "buyer_name",
    "shipping_address",
    "billing_address",
    "currency",
    "subtotal",
    "shipping_price",
    "tax_total",
    "discount_total",
    "total",
    "financial_status",
    "status",
    "fulfillment_status",
    "shipping_method",
    "ship_by",
    "tags",
    "note",
    "cancelled_at",
    "cancel_reason",
    "created_at",
    "updated_at",
    "channel_record",
)
LINE_COLUMNS = (
    "order",
    "position",
    "product",
    "sku",
    "title",
    "quantity",
    "unit_price",
    "quantity_fulfilled",
    "quantity_cancelled",
    "external_line_id",
)
ORDER_TABLE = Order._meta.db_table


@dataclass(kw_only=True, slots=True)
class _Checked:
    index: int
    draft: OrderDraft
    channel: str
    shipping: dict[str, Any]
    billing: dict[str, Any] | None
    phone: str
    subtotal: Decimal
    total: Decimal
    external_id: str | None
    number: str = ""
    status: int = 0


def _check_offline(index: int, draft: OrderDraft) -> tuple[_Checked | None, dict[str, Any]]:
    """Checks that need no database. Returns (checked order, {}) or (None, errors)."""
    errors: dict[str, Any] = {}
    if not EMAIL.match(draft.email or "") or len(draft.email) > 254:
        errors["email"] = "A valid email address is required."
    if not is_currency(draft.currency):
        errors["currency"] = "An ISO 4217 currency code is required (EUR, USD, ...)."
    if draft.financial_status not in FINANCIAL_STATUSES:
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
    total = (
        draft.total
        if draft.total is not None
        else subtotal + draft.shipping_price + draft.tax_total - draft.discount_total
    )
    if subtotal > MAX_AMOUNT:
        errors["lines"] = f"The lines add up to more than {MAX_AMOUNT:,}."
    if total < 0 or total > MAX_AMOUNT:
        errors["total"] = f"The total must be between 0 and {MAX_AMOUNT:,}."
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
        total=total,
        external_id=draft.external_id.strip() if draft.external_id else None,
    ), {}


def _numbers_taken(numbers: list[str]) -> set[str]:
    if not numbers:
        return set()
    rows = fetch_all(
        f"SELECT number FROM {ORDER_TABLE} WHERE number IN ({in_list(numbers)})", numbers
    )
    return {r[0] for r in rows}


def _numbers_for(count: int, verify: bool = False) -> list[str]:
    """`count` fresh generated numbers.

    Generated numbers are the digits of a counter that is always kept above every all-digit
    number a caller supplied (see `_write`), so they do not collide with an existing order.
    With `verify` (a retry after a clash), taken numbers are skipped all the same.
    """
    numbers: list[str] = []
    while len(numbers) < count:
        need = count - len(numbers)
        fresh = [str(n) for n in counter_take(name=NUMBER_COUNTER, count=need)]
        taken = _numbers_taken(fresh) if verify else set()
        numbers += [n for n in fresh if n not in taken]
    return numbers


def _write(
    checked: list[_Checked],
    products: dict[str, ProductRef],
    actor: Actor,
    results: dict[int, OrderResult],
    materialize: bool = False,
    verify: bool = False,
) -> None:
    """Inside a transaction: refuse or replay against the database, then insert the rest."""
    pairs = {(c.channel, c.external_id) for c in checked if c.external_id}
    existing: dict[tuple[str, str], tuple[int, str]] = {}
    if pairs:
        by_channel: dict[str, list[str]] = {}
        for channel, external_id in sorted(pairs):
            by_channel.setdefault(channel, []).append(external_id)
        # (channel, external_id) leads the unique index, so each group is an index lookup.
        where = " OR ".join(
            f"(channel = %s AND external_id IN ({in_list(ids)}))" for ids in by_channel.values()
        )
        params = [v for ch, ids in by_channel.items() for v in (ch, *ids)]
        rows = fetch_all(
            f"SELECT channel, external_id, id, number FROM {ORDER_TABLE} WHERE {where}", params
        )
        existing = {(ch, e): (pk, num) for ch, e, pk, num in rows}
    taken = _numbers_taken([c.draft.number.strip() for c in checked if c.draft.number])

    to_create: list[_Checked] = []
    batch_pairs: dict[tuple[str, str], int] = {}
    batch_numbers: set[str] = set()
    for c in checked:
        pair = (c.channel, c.external_id) if c.external_id else None
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

    numeric = [
        int(n)
        for n in batch_numbers
        if n.isascii() and n.isdigit() and len(n) <= 19 and int(n) < MAX_GENERATED
    ]
    if numeric:
        counter_lift(name=NUMBER_COUNTER, value=max(numeric))
    generated = iter(_numbers_for(sum(1 for c in to_create if not c.draft.number), verify))
    now = timezone.now()
    order_rows: list[tuple[Any, ...]] = []
    for c in to_create:
        d = c.draft
        status = INITIAL_STATUS[d.financial_status]
        total = c.total
        c.number = d.number.strip() if d.number else next(generated)
        c.status = status
        order_rows.append(
            (
                c.number,
                c.channel,
                c.external_id,
                d.email.strip().lower(),
                c.phone,
                d.locale,
                c.shipping["name"] or c.shipping["company"],
                c.shipping,
                c.billing,
                d.currency,
                c.subtotal,
                d.shipping_price,
                d.tax_total,
                d.discount_total,
                total,
                d.financial_status,
                status,
                "unfulfilled",
                d.shipping_method,
                d.ship_by,
                list(d.tags),
                d.note,
                now if status == CANCELLED else None,
                "",
                now,
                now,
                d.channel_id,
            )
        )
    ids = dict(bulk_insert(Order, ORDER_COLUMNS, order_rows, returning=("number", "id")))
    line_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    for c in to_create:
        order_id = ids[c.number]
        cancelled = c.status == CANCELLED
        for position, ln in enumerate(c.draft.lines):
            product = products[sku_key(ln.sku)]
            line_rows.append(
                (
                    order_id,
                    position,
                    product.pk,
                    product.sku,
                    ln.title or product.title,
                    ln.quantity,
                    ln.unit_price,
                    0,
                    ln.quantity if cancelled else 0,
                    ln.external_line_id,
                )
            )
        event_rows.append(
            event_row(
                subject_type="order",
                subject_id=order_id,
                order_id=order_id,
                kind="order_created",
                actor=actor,
                data={"number": c.number, "status": STATUS_NAMES[c.status], "channel": c.channel},
                at=now,
            )
        )
        results[c.index] = OrderResult(
            index=c.index, order_id=order_id, number=c.number, created=True
        )
    line_ids = bulk_insert(
        OrderLine, LINE_COLUMNS, line_rows, returning=("id", "order", "position"), chunk=1000
    )
    routed = _route_new(to_create, ids, line_ids, products, actor, materialize)
    for row in event_rows:
        if row[1] in routed:
            row[7]["fulfillment_orders"] = routed[row[1]].summary
    events_insert(event_rows)
    orders_created_queue(
        [
            Created(
                order_id=ids[c.number],
                number=c.number,
                email=c.draft.email.strip().lower(),
                # Nothing to confirm for an order that arrives cancelled or refunded.
                notify_customer=c.draft.notify_customer and c.status not in UNROUTED,
            )
            for c in to_create
        ]
    )
    held = {order_id for order_id, r in routed.items() if r.held}
    if held and materialize:
        at = ORDER_COLUMNS.index("fulfillment_status")
        for i, c in enumerate(to_create):
            if ids[c.number] in held:
                row = order_rows[i]
                order_rows[i] = (*row[:at], "on_hold", *row[at + 1 :])
    if materialize:
        _materialize(to_create, order_rows, line_rows, ids, line_ids, results, routed)


UNROUTED = frozenset({int(OrderStatus.CANCELLED), int(OrderStatus.REFUNDED)})
UNPAID = frozenset({FinancialStatus.PENDING, FinancialStatus.PARTIALLY_PAID})


def _route_new(
    to_create: list[_Checked],
    ids: dict[str, int],
    line_ids: list[tuple[Any, ...]],
    products: dict[str, ProductRef],
    actor: Actor,
    materialize: bool = False,
) -> dict[int, Routed]:
    """Route the new orders' lines to fulfillment orders (their summaries go in the
    `order_created` events) and mark the orders with a held FO `on_hold`."""
    from colis.fulfillment.routing import RouteLine, RouteRequest, orders_route
    from colis.fulfillment.status import HoldReason

    by_position = {(order_id, position): pk for pk, order_id, position in line_ids}
    requests = []
    for c in to_create:
        if c.status in UNROUTED or not c.draft.route:
            continue
        order_id = ids[c.number]
        lines = []
        for position, ln in enumerate(c.draft.lines):
            product = products[sku_key(ln.sku)]
            lines.append(
                RouteLine(
                    line_id=by_position[(order_id, position)],
                    product_id=product.pk,
                    sku=product.sku,
                    quantity=ln.quantity,
                )
            )
        holds = (HoldReason.AWAITING_PAYMENT,) if c.draft.financial_status in UNPAID else ()
        requests.append(RouteRequest(order_id=order_id, lines=lines, holds=holds))
    routed = orders_route(requests=requests, actor=actor, event_kind=None, materialize=materialize)
    held = {order_id for order_id, r in routed.items() if r.held}
    if held:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ORDER_TABLE} SET fulfillment_status = 'on_hold' "
                f"WHERE id IN ({in_list(sorted(held))})",
                sorted(held),
            )
    return routed


def _materialize(
    to_create: list[_Checked],
    order_rows: list[tuple[Any, ...]],
    line_rows: list[tuple[Any, ...]],
    ids: dict[str, int],
    line_returned: list[tuple[Any, ...]],
    results: dict[int, OrderResult],
    routed: dict[int, Routed],
) -> None:
    """Attach the new orders, as model instances with their lines, fulfillment orders and (no)
    shipments, to their results."""
    line_ids = {(order_id, position): pk for pk, order_id, position in line_returned}
    lines_by_order: dict[int, list[OrderLine]] = {}
    for row in line_rows:
        values = dict(zip(LINE_COLUMNS, row, strict=True))
        order_id, product_id = values.pop("order"), values.pop("product")
        lines_by_order.setdefault(order_id, []).append(
            OrderLine(
                pk=line_ids[(order_id, values["position"])],
                order_id=order_id,
                product_id=product_id,
                **values,
            )
        )
    for c, row in zip(to_create, order_rows, strict=True):
        order = Order(pk=ids[c.number], **dict(zip(ORDER_COLUMNS, row, strict=True)))
        order._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "lines": lines_by_order[order.pk],
            "fulfillment_orders": routed[order.pk].fos if order.pk in routed else [],
            "shipments": [],
        }
        result = results[c.index]
        results[c.index] = OrderResult(
            index=result.index,
            order_id=result.order_id,
            number=result.number,
            created=True,
            order=order,
        )


def orders_create(
    *,
    drafts: Sequence[OrderDraft],
    actor: Actor,
    pre_errors: dict[int, dict[str, Any]] | None = None,
    materialize: bool = False,
) -> list[OrderResult]:
    """Create many orders; one result per draft, in order.

    With `materialize`, each created order's result carries the Order (lines included) as
    written, so a caller can render it without reading it back.

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
    products = product_refs_by_skus(ln.sku for c in checked for ln in c.draft.lines)
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
                _write(valid, products, actor, written, materialize, verify=attempt > 0)
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
    """Create one order (or find it by channel id). Raises ValidationError naming each field.

    A created order comes back on `result.order`; an existing one only by id.
    """
    result = orders_create(drafts=[draft], actor=actor, materialize=True)[0]
    if result.errors:
        raise ValidationError("The order is not valid.", code="invalid_order", fields=result.errors)
    return result


def order_lock(order_id: int) -> Order:
    """Lock the order row (every change to an order and its FOs starts here). Raises NotFound."""
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
    """Cancel an order that has not shipped: its FOs are cancelled and their stock released.
    Raises NotFound, Conflict (already cancelled, shipped, transition)."""
    from colis.fulfillment.models import FulfillmentOrder
    from colis.fulfillment.services import fos_cancel
    from colis.fulfillment.status import LIVE_FO

    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict("This order is already cancelled.", code="order_already_cancelled")
        status_transition_check(order.status, OrderStatus.CANCELLED)
        if order.lines.filter(quantity_fulfilled__gt=0).exists():
            raise Conflict(
                "Part of this order has shipped; cancel its open items instead.",
                code="order_has_shipments",
            )
        fos = list(FulfillmentOrder.objects.filter(order=order, status__in=LIVE_FO))
        fos_cancel(order, fos, actor, reason)
        lines = list(order.lines.order_by("position"))
        order_mark_cancelled(order=order, lines=lines, reason=reason, actor=actor)
    return order


def order_mark_cancelled(
    *, order: Order, lines: Sequence[OrderLine], reason: str, actor: Actor
) -> None:
    """Inside the caller's transaction (order locked, FOs already cancelled): cancel whatever
    is still open on the lines and set the order cancelled, with its event."""
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
    key, payload = f"order:{order.pk}:cancelled", {"order_id": order.pk, "event": "order.cancelled"}
    effects = [
        Effect(
            kind="customer_email",
            idempotency_key=f"{key}:email",
            payload={**payload, "template": "order_cancelled", "to": order.email},
            order_id=order.pk,
        ),
        Effect(kind="webhook_event", idempotency_key=f"{key}:webhook", payload=payload,
               order_id=order.pk),
    ]  # fmt: skip
    if order.channel not in LOCAL_CHANNELS:
        effects.append(
            Effect(kind="channel_push", idempotency_key=f"{key}:push", payload=payload,
                   order_id=order.pk)
        )  # fmt: skip
    outbox_enqueue_many(effects)


def order_status_set(*, order_id: int, status: int, note: str = "", actor: Actor) -> Order:
    """Set the status by hand, if the transition table allows it. Raises NotFound, Conflict."""
    if status == OrderStatus.CANCELLED:
        return order_cancel(order_id=order_id, reason=note, actor=actor)
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == status:
            raise Conflict(f"The order is already {STATUS_NAMES[status]}.", code="status_unchanged")
        status_transition_check(order.status, status)
        previous = order.status
        order.status = status
        order.updated_at = timezone.now()
        order.save(update_fields=["status", "updated_at"])
        event = event_record(
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
        if order.channel not in LOCAL_CHANNELS and actor.kind != "channel":
            # The channel gets the status too where its statuses are ours (BigCommerce).
            outbox_enqueue_many([Effect(
                kind="channel_push",
                idempotency_key=f"order:{order.pk}:status:{event.pk}:push",
                payload={"order_id": order.pk, "event": "order.status_changed",
                         "status": int(status)},
                order_id=order.pk,
            )])  # fmt: skip
        orders_updated_queue(
            [
                Updated(
                    order_id=order.pk,
                    status=status,
                    fulfillment_status=order.fulfillment_status,
                    previous_status=previous,
                    previous_fulfillment_status=order.fulfillment_status,
                )
            ],
            order.updated_at,
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
        order = order_lock(order_id)
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_note_added",
            actor=actor,
            data={"text": text},
        )


def order_shipping_address_set(*, order_id: int, address: dict[str, Any], actor: Actor) -> Order:
    """Change the ship-to address of an order none of which has shipped. Raises NotFound,
    ValidationError (each field named), Conflict (shipped or cancelled)."""
    errors, cleaned = address_errors(address, prefix="shipping_address")
    if errors or cleaned is None:
        raise ValidationError("The address is not valid.", code="invalid_address", fields=errors)
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict("This order is cancelled.", code="order_cancelled")
        if order.lines.filter(quantity_fulfilled__gt=0).exists():
            raise Conflict(
                "Part of this order has shipped: its address can no longer change.",
                code="order_has_shipments",
            )
        if cleaned == order.shipping_address:
            return order
        previous = order.shipping_address
        order.shipping_address = cleaned
        order.buyer_name = cleaned["name"] or cleaned["company"] or order.buyer_name
        order.updated_at = timezone.now()
        order.save(update_fields=["shipping_address", "buyer_name", "updated_at"])
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="order_address_changed",
            actor=actor,
            data={"from": previous, "to": cleaned},
        )
    return order


def status_label_set(*, status: int, label: str, actor: Actor) -> None:
    from colis.orders.models import OrderStatusLabel
    from colis.orders.selectors import status_labels_forget

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
        transaction.on_commit(status_labels_forget)
        event_record(
            subject_type="order_status",
            subject_id=status,
            kind="status_label_set",
            actor=actor,
            data={"status": STATUS_NAMES[status], "label": label},
        )
