"""The tracking-number import: reading the file, the row report, and what the apply makes."""

from __future__ import annotations

import pytest

from colis.cli import main
from colis.core.errors import ValidationError
from colis.core.models import Event, OutboxMessage
from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.fulfillment.services import order_hold
from colis.fulfillment.status import FOStatus
from colis.inventory.models import InventoryLevel
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import order_cancel, order_create
from colis.shipping.tracking_import import (
    tracking_import_apply,
    tracking_import_check,
    tracking_import_read,
)
from tests.factories import ACTOR, ADDRESS_FR, LocationFactory

UPS_OK = "1Z5R89390357567127"
UPS_BAD = "1Z5R89390357567128"


def make_order(lines, external_id=None, channel=None) -> Order:
    from decimal import Decimal

    draft = OrderDraft(
        email="buyer@example.com",
        shipping_address=ADDRESS_FR,
        currency="EUR",
        financial_status="paid",
        lines=tuple(LineDraft(sku=s, quantity=q, unit_price=Decimal("5")) for s, q in lines),
        external_id=external_id,
        channel=channel,
    )
    return Order.objects.get(pk=order_create(draft=draft, actor=ACTOR).order_id)


def csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def codes(report) -> list[tuple[int, str]]:
    return [(e.row, e.code) for e in report.errors]


def world() -> tuple:
    return (
        Shipment.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
        list(InventoryLevel.objects.order_by("pk").values_list("on_hand", "committed")),
        list(FulfillmentOrder.objects.order_by("pk").values_list("status", flat=True)),
    )


# --- reading ------------------------------------------------------------------------------------


def test_bom_semicolons_and_header_names_in_any_case_are_read():
    data = "\ufeffOrder Number;Tracking Number;Carrier\n1001;1Z 5R8;UPS\n\n".encode()
    rows = tracking_import_read(data=data)
    assert len(rows) == 1
    assert (rows[0].row, rows[0].order_number, rows[0].tracking_number, rows[0].carrier) == (
        1,
        "1001",
        "1Z 5R8",
        "UPS",
    )


def test_bigcommerce_shipment_export_columns_are_understood():
    data = csv(
        "Mode,ID,Order ID,Tracking Number,Shipping Provider,Tracking Carrier,Shipping Method,"
        "Comments,Date Created",
        'create,,1501,9400,upsready,,Ground,"left at door","Mon, 23 Sep 2024 14:21:24 +0000"',
    )
    row = tracking_import_read(data=data)[0]
    assert (row.channel_order_id, row.order_number, row.tracking_number) == ("1501", "", "9400")
    assert (row.carrier, row.service, row.notes) == ("ups", "Ground", "left at door")
    assert row.ship_date == "Mon, 23 Sep 2024 14:21:24 +0000"


def test_a_file_without_the_needed_columns_is_refused():
    with pytest.raises(ValidationError) as caught:
        tracking_import_read(data=csv("sku,quantity", "A,1"))
    assert caught.value.code == "missing_columns"
    assert "tracking_number" in caught.value.message


# --- the plan -----------------------------------------------------------------------------------


@pytest.fixture
def shop(stocked):
    stocked("TI-A", 100)
    stocked("TI-B", 100)


def test_the_dry_run_reports_each_kind_of_bad_row_and_changes_nothing(shop):
    # given orders in every state a row can meet
    good = make_order([("TI-A", 2)])
    held = make_order([("TI-A", 1)])
    order_hold(order_id=held.pk, reason="other", notes="", actor=ACTOR)
    cancelled = make_order([("TI-A", 1)])
    order_cancel(order_id=cancelled.pk, reason="", actor=ACTOR)
    partial = make_order([("TI-A", 1), ("TI-B", 1)])
    before = world()
    data = csv(
        "order_number,tracking_number,carrier,sku,quantity,ship_date",
        f"{good.number},{UPS_OK},ups,,,2026-03-01",
        "NOPE,T1,other,,,",
        f"{held.number},T2,other,,,",
        f"{cancelled.number},T3,other,,,",
        f"{partial.number},T4,other,TI-A,5,",
        f"{partial.number},T5,other,TI-C,1,",
        f"{partial.number},{UPS_BAD},ups,TI-B,1,",
        f"{partial.number},T6,nobody,TI-B,1,",
        f"{partial.number},,other,TI-B,1,",
        f"{partial.number},T7,other,TI-B,x,",
        f"{partial.number},T8,other,TI-B,1,31/02/2026",
        f"{partial.number},T9,other,,1,",
        f"{good.number},{UPS_OK},ups,,,",
    )
    # when it is checked
    report = tracking_import_check(data=data, actor=ACTOR)
    # then every bad row has its code, the good one is planned, nothing moved
    assert codes(report) == [
        (2, "order_not_found"),
        (3, "order_on_hold"),
        (4, "order_cancelled"),
        (5, "quantity_exceeds_remaining"),
        (6, "sku_not_in_order"),
        (7, "invalid_tracking_number"),
        (8, "unknown_carrier"),
        (9, "tracking_number_required"),
        (10, "invalid_quantity"),
        (11, "invalid_ship_date"),
        (12, "sku_required"),
        (13, "duplicate_row"),
    ]
    assert all(e.message for e in report.errors)
    assert (report.rows, report.ok, len(report.shipments)) == (13, 1, 1)
    assert report.created_shipments == 0
    assert world() == before


def test_apply_gives_the_dry_runs_report_and_ships_only_the_good_rows(shop):
    orders = [make_order([("TI-A", 1)]) for _ in range(3)]
    data = csv(
        "order_number,tracking_number,carrier",
        *(f"{o.number},T{o.pk},other" for o in orders),
        "NOPE,T1,other",
    )
    dry = tracking_import_check(data=data, actor=ACTOR)
    applied = tracking_import_apply(data=data, actor=ACTOR)
    assert codes(applied) == codes(dry) == [(4, "order_not_found")]
    assert applied.created_shipments == len(dry.shipments) == 3
    for o in orders:
        o.refresh_from_db()
        assert o.get_status_display() == "Shipped"
        shipment = Shipment.objects.get(order=o)
        assert shipment.tracking_numbers == [f"T{o.pk}"] and shipment.carrier == "other"
        keys = set(
            OutboxMessage.objects.filter(order_id=o.pk).values_list("idempotency_key", flat=True)
        )
        assert f"shipment:{shipment.pk}:created:email" in keys
        assert Event.objects.filter(kind="shipment_created", order_id=o.pk).count() == 1


def test_the_same_file_again_creates_nothing_and_says_so(shop):
    order = make_order([("TI-A", 1)])
    data = csv("order_number,tracking_number,carrier", f"{order.number},1Z 5r89390357567127,ups")
    assert tracking_import_apply(data=data, actor=ACTOR).created_shipments == 1
    before = world()
    again = tracking_import_apply(data=data, actor=ACTOR)
    assert again.created_shipments == 0 and again.errors == []
    assert [(s.row, s.code) for s in again.skipped] == [(1, "already_applied")]
    assert again.ok == 1
    assert world() == before


def test_rows_with_skus_make_partial_shipments_and_share_a_package(shop):
    # given an order of 3 A and 2 B
    order = make_order([("TI-A", 3), ("TI-B", 2)])
    data = csv(
        "order_number,tracking_number,carrier,sku,quantity,service,notes",
        f"{order.number},BOX1,other,TI-A,2,Express,fragile",
        f"{order.number},BOX2,other,ti-a,,,",
        f"{order.number},BOX1,other,TI-B,1,,",
    )
    # when applied
    report = tracking_import_apply(data=data, actor=ACTOR)
    # then BOX1 holds 2 A and 1 B, BOX2 the last A; one B is left to ship
    assert report.errors == [] and report.created_shipments == 2
    box1 = Shipment.objects.get(tracking_numbers=["BOX1"])
    assert {ln.sku: ln.quantity for ln in box1.lines.all()} == {"TI-A": 2, "TI-B": 1}
    assert (box1.service, box1.notes) == ("Express", "fragile")
    box2 = Shipment.objects.get(tracking_numbers=["BOX2"])
    assert {ln.sku: ln.quantity for ln in box2.lines.all()} == {"TI-A": 1}
    order.refresh_from_db()
    assert order.get_status_display() == "Partially Shipped"
    # and a second file for the same order knows what is left
    more = tracking_import_check(
        data=csv(
            "order_number,tracking_number,sku,quantity,carrier", f"{order.number},BOX3,TI-B,2,other"
        ),  # fmt: skip
        actor=ACTOR,
    )
    assert codes(more) == [(1, "quantity_exceeds_remaining")]


def test_a_bad_row_holds_back_the_rest_of_its_package(shop):
    order = make_order([("TI-A", 1), ("TI-B", 1)])
    data = csv(
        "order_number,tracking_number,carrier,sku,quantity",
        f"{order.number},BOX1,other,TI-A,1",
        f"{order.number},BOX1,other,TI-B,9",
    )
    report = tracking_import_apply(data=data, actor=ACTOR)
    assert codes(report) == [(1, "shipment_incomplete"), (2, "quantity_exceeds_remaining")]
    assert report.created_shipments == 0 and Shipment.objects.count() == 0


def test_an_order_split_over_two_locations_ships_every_fo_under_the_number(stocked):
    # given an order whose SKUs sit at two locations
    second = LocationFactory()
    stocked("TI-A", 10)
    stocked("TI-B", 10, at=second)
    order = make_order([("TI-A", 1), ("TI-B", 1)])
    assert FulfillmentOrder.objects.filter(order=order).count() == 2
    # when a row without SKU names it
    report = tracking_import_apply(
        data=csv("order_number,tracking_number,carrier", f"{order.number},BOTH,other"),
        actor=ACTOR,
    )
    # then both FOs ship with that tracking number
    assert report.created_shipments == 2
    assert set(FulfillmentOrder.objects.filter(order=order).values_list("status", flat=True)) == {
        FOStatus.CLOSED
    }


def test_orders_named_by_channel_order_id_and_the_carrier_detected(shop):
    order = make_order([("TI-A", 1)], external_id="BC-77", channel="bigcommerce-main")
    make_order([("TI-A", 1)], external_id="DUP", channel="one")
    make_order([("TI-A", 1)], external_id="DUP", channel="two")
    data = csv(
        "Order ID,Tracking Number,Date Shipped",
        f'BC-77,{UPS_OK},"Mon, 23 Sep 2024 14:21:24 +0000"',
        "DUP,T1,",
        "BC-404,T2,",
    )
    report = tracking_import_apply(data=data, actor=ACTOR)
    assert codes(report) == [(2, "order_ambiguous"), (3, "order_not_found")]
    shipment = Shipment.objects.get(order=order)
    assert shipment.carrier == "ups" and shipment.tracking_urls
    assert shipment.ship_date.isoformat() == "2024-09-23"


def test_a_number_no_carrier_claims_needs_a_carrier(shop):
    order = make_order([("TI-A", 1)])
    report = tracking_import_check(
        data=csv("order_number,tracking_number", f"{order.number},HELLO"), actor=ACTOR
    )
    assert codes(report) == [(1, "carrier_required")]


def test_a_shipment_refused_at_apply_time_turns_into_row_errors(shop, monkeypatch):
    # given an order that is held between the plan and the shipment
    order = make_order([("TI-A", 1)])
    other = make_order([("TI-A", 1)])
    from colis.shipping import tracking_import

    planned = tracking_import.tracking_import_plan

    def plan_then_hold(**kwargs):
        report = planned(**kwargs)
        order_hold(order_id=order.pk, reason="other", notes="", actor=ACTOR)
        return report

    monkeypatch.setattr(tracking_import, "tracking_import_plan", plan_then_hold)
    data = csv("order_number,tracking_number,carrier", f"{order.number},T1,other",
               f"{other.number},T2,other")  # fmt: skip
    report = tracking_import_apply(data=data, actor=ACTOR)
    assert codes(report) == [(1, "fulfillment_order_on_hold")]
    assert report.created_shipments == 1


def test_an_import_that_ran_since_the_plan_is_seen_under_the_lock(shop, monkeypatch):
    # given the same file applied by someone else between this import's plan and its writes
    order = make_order([("TI-A", 1)])
    data = csv("order_number,tracking_number,carrier", f"{order.number},T1,other")
    from colis.shipping import tracking_import

    planned = tracking_import.tracking_import_plan

    def plan_then_race(**kwargs):
        report = planned(**kwargs)
        monkeypatch.setattr(tracking_import, "tracking_import_plan", planned)
        assert tracking_import_apply(data=data, actor=ACTOR).created_shipments == 1
        return report

    monkeypatch.setattr(tracking_import, "tracking_import_plan", plan_then_race)
    # when this import writes
    report = tracking_import_apply(data=data, actor=ACTOR)
    # then it creates nothing more: the row is already applied
    assert report.created_shipments == 0 and report.errors == []
    assert [(s.row, s.code) for s in report.skipped] == [(1, "already_applied")]
    assert Shipment.objects.filter(order=order).count() == 1


def test_the_command_prints_the_report(shop, tmp_path, capsys):
    order = make_order([("TI-A", 1)])
    path = tmp_path / "tracking.csv"
    path.write_bytes(csv("order_number,tracking_number,carrier", f"{order.number},T1,other",
                         "NOPE,T2,other"))  # fmt: skip
    assert main(["import-tracking", str(path), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "row 2: order_not_found" in out
    assert "2 rows: 1 ok, 1 with errors, 0 already applied; would create 1 shipments" in out
    assert Shipment.objects.count() == 0
    main(["import-tracking", str(path)])
    assert "created 1 shipments" in capsys.readouterr().out
    assert Shipment.objects.count() == 1
    assert main(["import-tracking", str(tmp_path / "missing.csv")]) == 1
