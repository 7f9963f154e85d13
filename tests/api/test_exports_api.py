"""GET /api/v1/exports/...: orders, shipments and sync records as CSV and XLSX, streamed."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from colis.channels.models import Channel, SyncRecord
from tests.factories import ADDRESS_FR, order_body

ORDERS = "/api/v1/orders"
EXPORTS = "/api/v1/exports"


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def orders(api, shop):
    evil = dict(ADDRESS_FR, name='=HYPERLINK("http://evil.example","click")')
    made = [
        api.post(ORDERS, order_body([("BAR-A", 2), ("BAR-B", 1)], shipping_address=evil)).json(),
        api.post(ORDERS, order_body([("BAR-A", 1)], financial_status="pending")).json(),
    ]
    return made


def test_orders_csv_has_one_row_per_order_with_formulas_escaped(api, orders):
    rows = read_csv(api.get(f"{EXPORTS}/orders.csv"))
    assert [r["number"] for r in rows] == [o["number"] for o in orders]
    first = rows[0]
    assert first["ship_to_name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert first["items"] == "BAR-A x 2; BAR-B x 1" and first["quantity"] == "3"
    assert first["status"] == "awaiting_fulfillment" and first["total"] == "37.5000"


def test_orders_csv_takes_the_order_list_filters(api, orders):
    assert orders[1]["status"] != orders[0]["status"]
    rows = read_csv(api.get(f"{EXPORTS}/orders.csv", status=orders[1]["status"]))
    assert [r["number"] for r in rows] == [orders[1]["number"]]
    refused = api.get(f"{EXPORTS}/orders.csv", status="nonsense")
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_filter"


def test_orders_xlsx_is_a_workbook_with_the_same_rows(api, orders):
    response = api.get(f"{EXPORTS}/orders.xlsx")
    assert response.status_code == 200 and response.streaming
    assert "spreadsheetml" in response["Content-Type"]
    assert 'filename="orders-' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    header = rows[0]
    assert len(rows) == 3
    name = rows[1][header.index("ship_to_name")]
    assert name.startswith("'=HYPERLINK")
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)


def test_shipments_csv_lists_each_shipment_with_its_tracking(api, orders):
    made = api.post(
        f"{ORDERS}/{orders[0]['id']}/shipments",
        {"carrier": "other", "tracking_numbers": ["-TRK1"], "notes": "@note"},
    )
    assert made.status_code == 201, made.content
    rows = read_csv(api.get(f"{EXPORTS}/shipments.csv"))
    assert len(rows) == 1
    assert rows[0]["order_number"] == orders[0]["number"]
    assert rows[0]["tracking_numbers"] == "'-TRK1" and rows[0]["notes"] == "'@note"
    assert rows[0]["items"] == "BAR-A x 2; BAR-B x 1"
    assert read_csv(api.get(f"{EXPORTS}/shipments.csv", status="pending")) == []


def test_sync_records_csv_for_one_channel(api, db):
    now = timezone.now()
    channel = Channel.objects.create(
        kind="bigcommerce", name="BC", import_start=now, created_at=now
    )
    SyncRecord.objects.create(
        channel=channel,
        direction="push",
        operation="shipment",
        state="failed",
        message="=bad",
        created_at=now,
        updated_at=now,
    )
    rows = read_csv(api.get(f"{EXPORTS}/sync-records.csv", channel_id=channel.pk))
    assert [(r["channel"], r["state"], r["message"]) for r in rows] == [("BC", "failed", "'=bad")]
    missing = api.get(f"{EXPORTS}/sync-records.csv", channel_id=channel.pk + 1)
    assert missing.status_code == 404


def test_readonly_may_export(make_api, orders):
    assert len(read_csv(make_api("readonly").get(f"{EXPORTS}/orders.csv"))) == 2


def test_the_number_of_queries_does_not_grow_with_the_orders(
    api, shop, django_assert_max_num_queries
):
    for _ in range(12):
        api.post(ORDERS, order_body([("BAR-A", 1)]))
    # token, labels (unless cached), one page of orders, its lines
    with django_assert_max_num_queries(4):
        response = api.get(f"{EXPORTS}/orders.csv")
        rows = read_csv(response)
    assert len(rows) == 12
