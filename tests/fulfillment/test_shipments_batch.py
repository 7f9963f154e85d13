"""Many shipments at once: the batch does what `shipment_create` does one by one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from colis.core.errors import DomainError
from colis.core.models import Event, OutboxMessage
from colis.fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    Shipment,
    ShipmentLine,
)
from colis.fulfillment.services import LinePick, order_hold
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.fulfillment.shipments_batch import shipments_create
from colis.inventory.models import InventoryLevel, StockMovement
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order, OrderLine
from colis.orders.services import order_create
from tests.factories import ACTOR, ADDRESS_FR

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(stocked):
    stocked("SB-A", qty=500)
    stocked("SB-B", qty=500)


def make_order(*lines: tuple[str, int]) -> Order:
    draft = OrderDraft(
        email="buyer@example.com",
        shipping_address=ADDRESS_FR,
        currency="EUR",
        financial_status="paid",
        lines=tuple(LineDraft(sku=s, quantity=q, unit_price=Decimal("5")) for s, q in lines),
    )
    return Order.objects.get(pk=order_create(draft=draft, actor=ACTOR).order_id)


def fo_of(order: Order) -> FulfillmentOrder:
    return FulfillmentOrder.objects.get(order=order)


def draft(n: int, **extra: Any) -> ShipmentDraft:
    return ShipmentDraft(**{"carrier": "other", "tracking_numbers": [f"T{n}"], **extra})


def one_by_one(items: list[tuple[int, ShipmentDraft]]) -> list[Shipment | DomainError]:
    results: list[Shipment | DomainError] = []
    for order_id, d in items:
        try:
            results.append(shipment_create(order_id=order_id, draft=d, actor=ACTOR))
        except DomainError as exc:
            results.append(exc)
    return results


def outcome(results: list[Shipment | DomainError]) -> list[str]:
    return [r.code if isinstance(r, DomainError) else "created" for r in results]


def state(event_mark: int, outbox_mark: int) -> dict[str, Any]:
    """The database as shipping leaves it, with shipment ids replaced by their rank."""
    ships = list(Shipment.objects.order_by("pk"))
    rank = {s.pk: f"S{n}" for n, s in enumerate(ships)}

    def named(text: str) -> str:
        for pk, name in rank.items():
            text = text.replace(f"shipment:{pk}:", f"shipment:{name}:")
        return text.split(":updated:")[0]  # order updates carry a time and a random part

    def payload(data: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in data.items() if k not in ("at", "updated_at")}
        if "shipment_id" in data:
            data["shipment_id"] = rank[data["shipment_id"]]
        return data

    return {
        "shipments": [
            (
                s.order_id,
                s.fulfillment_order_id,
                s.location_id,
                s.status,
                s.carrier,
                s.carrier_name,
                s.tracking_numbers,
                s.tracking_urls,
                s.package,
                s.notes,
                s.ship_date,
                s.notify_customer,
                s.shipped_at is None,
            )
            for s in ships
        ],  # fmt: skip
        "lines": sorted(
            (
                rank[ln.shipment_id],
                ln.fulfillment_order_line_id,
                ln.order_line_id,
                ln.sku,
                ln.quantity,
            )
            for ln in ShipmentLine.objects.all()
        ),  # fmt: skip
        "fo_lines": list(
            FulfillmentOrderLine.objects.order_by("pk").values_list("pk", "quantity_fulfilled")
        ),
        "fos": list(FulfillmentOrder.objects.order_by("pk").values_list("pk", "status")),
        "order_lines": list(
            OrderLine.objects.order_by("pk").values_list("pk", "quantity_fulfilled")
        ),
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "status", "fulfillment_status")
        ),
        "levels": list(
            InventoryLevel.objects.order_by("pk").values_list("pk", "on_hand", "committed")
        ),
        "movements": sorted(
            StockMovement.objects.filter(reason="shipped").values_list(
                "level_id",
                "delta_on_hand",
                "delta_committed",
                "on_hand_after",
                "committed_after",
                "reference",
                "order_id",
            )
        ),  # fmt: skip
        "events": sorted(
            (
                e.subject_type,
                rank.get(e.subject_id, e.subject_id)
                if e.subject_type == "shipment"
                else e.subject_id,
                e.order_id,
                e.kind,
                repr(e.data),
            )
            for e in Event.objects.filter(pk__gt=event_mark)
        ),  # fmt: skip
        "outbox": sorted(
            (m.kind, named(m.idempotency_key), repr(payload(m.payload)), m.order_id)
            for m in OutboxMessage.objects.filter(pk__gt=outbox_mark)
        ),
    }


class _Undo(Exception):
    pass


def test_the_batch_leaves_what_one_by_one_leaves(shop):
    # given orders of every kind: whole, partial by line, packed, held, two lines, unknown
    whole = make_order(("SB-A", 2))
    partial = make_order(("SB-A", 3), ("SB-B", 1))
    packed = make_order(("SB-B", 2))
    held = make_order(("SB-A", 1))
    order_hold(order_id=held.pk, reason="other", actor=ACTOR)
    two = make_order(("SB-A", 1), ("SB-B", 4))
    line_a = OrderLine.objects.get(order=partial, sku="SB-A")
    items = [
        (whole.pk, draft(1, fulfillment_order_id=fo_of(whole).pk)),
        (partial.pk, draft(2, lines=[LinePick(line_id=line_a.pk, quantity=2)], notes="part")),
        (packed.pk, draft(3, status="label_printed")),
        (held.pk, draft(4)),
        (10**9, draft(5)),
        (two.pk, draft(6, service="Express", notify_customer=False)),
        (whole.pk + 10**6, draft(7, tracking_numbers=[" "])),
    ]
    events = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    outbox = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # when the same drafts are made one by one (then undone), and as one batch
    with pytest.raises(_Undo), transaction.atomic():
        single = one_by_one(items)
        expected = state(events, outbox)
        raise _Undo
    batch = shipments_create(items=items, actor=ACTOR)
    # then the outcome and the database are the same, events and queued effects included
    assert outcome(batch) == outcome(single) == [
        "created", "created", "created", "fulfillment_order_on_hold", "order_not_found",
        "created", "invalid_tracking_number",
    ]  # fmt: skip
    assert state(events, outbox) == expected
    assert [len(s.lines.all()) for s in batch if isinstance(s, Shipment)] == [1, 1, 1, 2]


def test_a_refused_shipment_in_the_middle_does_not_stop_the_others(shop):
    # given three orders, the middle one already shipped by an earlier shipment of the batch
    first, middle, last = make_order(("SB-A", 1)), make_order(("SB-A", 2)), make_order(("SB-B", 1))
    fo = fo_of(middle)
    # when the batch ships the middle FO twice, and the others once
    results = shipments_create(
        items=[
            (first.pk, draft(1)),
            (middle.pk, draft(2, fulfillment_order_id=fo.pk)),
            (middle.pk, draft(3, fulfillment_order_id=fo.pk)),
            (last.pk, draft(4)),
        ],
        actor=ACTOR,
    )
    # then the second shipment of the FO is refused as it would be alone, and the rest is made
    assert outcome(results) == ["created", "created", "fulfillment_order_closed", "created"]
    assert Shipment.objects.count() == 3
    assert set(FulfillmentOrder.objects.values_list("status", flat=True)) == {"closed"}
    assert set(Order.objects.values_list("fulfillment_status", flat=True)) == {"fulfilled"}


def test_two_shipments_of_one_order_record_its_status_once(shop):
    # given an order of three units, shipped in two packages in one batch
    order = make_order(("SB-A", 3))
    line = OrderLine.objects.get(order=order)
    mark = Event.objects.order_by("-pk")[0].pk
    results = shipments_create(
        items=[
            (order.pk, draft(1, lines=[LinePick(line_id=line.pk, quantity=1)])),
            (order.pk, draft(2)),
        ],
        actor=ACTOR,
    )
    # then both are made, the second with what the first left, and the order is shipped
    assert [[ln.quantity for ln in s.lines.all()] for s in results] == [[1], [2]]
    order.refresh_from_db()
    assert order.fulfillment_status == "fulfilled"
    changes = Event.objects.filter(pk__gt=mark, kind="order_status_changed")
    assert [(e.data["from"], e.data["to"]) for e in changes] == [
        ("awaiting_fulfillment", "shipped")
    ]
    assert Event.objects.filter(pk__gt=mark, kind="shipment_created").count() == 2


def test_a_short_stock_level_fails_only_its_shipments(shop, location):
    # given a shelf of SB-B counted down below what two orders need (only possible by hand)
    a1, b1, a2, b2 = (make_order((sku, 2)) for sku in ("SB-A", "SB-B", "SB-A", "SB-B"))
    InventoryLevel.objects.filter(product__sku="SB-B", location=location).update(on_hand=3)
    # when all four ship in one batch
    results = shipments_create(
        items=[(o.pk, draft(n)) for n, o in enumerate((a1, b1, a2, b2))], actor=ACTOR
    )
    # then only the shipment that finds the shelf short fails; the others are made
    assert outcome(results) == ["created", "created", "created", "insufficient_stock"]
    assert set(Shipment.objects.values_list("order_id", flat=True)) == {a1.pk, b1.pk, a2.pk}
    level = InventoryLevel.objects.get(product__sku="SB-B", location=location)
    assert (level.on_hand, level.committed) == (1, 2)
    assert fo_of(b2).status == "open"
    assert not OutboxMessage.objects.filter(order_id=b2.pk, kind="customer_email").exists()


def test_a_batch_of_fifty_takes_a_fixed_number_of_queries(shop):
    # given fifty orders
    orders = [make_order(("SB-A" if n % 2 else "SB-B", 1)) for n in range(50)]
    items = [(o.pk, draft(n)) for n, o in enumerate(orders)]
    # when they ship in one batch
    with CaptureQueriesContext(connection) as ctx:
        results = shipments_create(items=items, actor=ACTOR)
    # then every shipment is made with a number of statements that does not grow with the batch
    # (the multi-row inserts of shipments, lines, events and ledger rows go through the driver's
    # own cursor and are not counted here; they are one statement each)
    assert outcome(results) == ["created"] * 50
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 16, "\n".join(q[:90] for q in sql)
