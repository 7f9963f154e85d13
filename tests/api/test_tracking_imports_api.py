"""POST /api/v1/tracking-imports: the CSV as the body or as a multipart file, dry run and apply."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from colis.core.models import OutboxMessage
from colis.fulfillment.models import Shipment
from tests.factories import order_body

ORDERS = "/api/v1/orders"
IMPORTS = "/api/v1/tracking-imports"


def post_csv(api, text: str | bytes, dry_run: bool, content_type: str = "text/csv"):
    body = text.encode() if isinstance(text, str) else text
    return api.client.post(
        f"{IMPORTS}?dry_run={'true' if dry_run else 'false'}",
        body,
        content_type=content_type,
        headers=api._headers(None),
    )


@pytest.fixture
def orders(api, shop):
    return [
        api.post(ORDERS, order_body([("BAR-A", 1), ("BAR-B", 1)], email=f"b{i}@example.com")).json()
        for i in range(8)
    ]


def contract_file(orders) -> str:
    rows = ["order_number,tracking_number,carrier"]
    rows += [f"{o['number']},TRK{o['number']},other" for o in orders[:5]]
    rows += [
        "NO-SUCH-ORDER,TRKX1,other",
        f"{orders[5]['number']},1Z5R89390357567128,ups",
        f"{orders[6]['number']},,other",
        f"{orders[0]['number']},TRK{orders[0]['number']},other",
        f"{orders[7]['number']},TRKZ,no-such-carrier",
    ]
    return "\n".join(rows) + "\n"


def test_dry_run_flags_the_bad_rows_then_apply_ships_the_good_ones_once(api, orders):
    # given a file of 5 good rows and 5 bad ones
    text = contract_file(orders)
    messages = OutboxMessage.objects.count()
    # when it is checked
    dry = post_csv(api, text, dry_run=True)
    # then exactly the bad rows are reported, each with its code, and nothing changes
    assert dry.status_code == 200, dry.content
    report = dry.json()
    assert [(e["row"], e["code"]) for e in report["errors"]] == [
        (6, "order_not_found"),
        (7, "invalid_tracking_number"),
        (8, "tracking_number_required"),
        (9, "duplicate_row"),
        (10, "unknown_carrier"),
    ]
    assert (report["rows"], report["ok"], report["shipments_planned"]) == (10, 5, 5)
    assert report["created_shipments"] == 0 and report["dry_run"] is True
    assert Shipment.objects.count() == 0 and OutboxMessage.objects.count() == messages
    # when it is applied
    applied = post_csv(api, text, dry_run=False).json()
    # then the same report, and the five good orders shipped with their tracking
    assert applied["errors"] == report["errors"]
    assert applied["created_shipments"] == 5 and len(applied["shipment_ids"]) == 5
    first = api.get(f"{ORDERS}/{orders[0]['id']}").json()
    assert first["status"] == "shipped"
    assert first["shipments"][0]["tracking_numbers"] == [f"TRK{orders[0]['number']}"]
    emails = OutboxMessage.objects.filter(
        kind="customer_email", idempotency_key__contains=":created:"
    )
    assert emails.count() == 5
    # when the same file comes again
    again = post_csv(api, text, dry_run=False).json()
    # then it creates nothing and says the good rows are already applied
    assert again["created_shipments"] == 0
    assert {s["row"] for s in again["already_applied"]} == {1, 2, 3, 4, 5, 9}
    assert Shipment.objects.count() == 5


def test_the_file_may_come_as_a_multipart_field(api, orders):
    text = f"order_number,tracking_number,carrier\n{orders[0]['number']},TRK1,other\n"
    upload = SimpleUploadedFile("tracking.csv", text.encode(), content_type="text/csv")
    response = api.client.post(
        f"{IMPORTS}?dry_run=false", {"file": upload}, headers=api._headers(None)
    )
    assert response.status_code == 200, response.content
    assert response.json()["created_shipments"] == 1


def test_a_multipart_body_without_the_file_field_is_refused(api, db):
    response = api.client.post(IMPORTS, {"other": "x"}, headers=api._headers(None))
    assert response.status_code == 422
    assert response.json()["code"] == "file_required"


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b'{"a": 1}', "application/json", "not_csv"),
        (b"PK\x03\x04rest-of-a-zip", "application/octet-stream", "not_csv"),
        (b"order_number,tracking_number\n\xff\xfe,1\n", "text/csv", "invalid_encoding"),
        (b"", "text/csv", "empty_file"),
        (b"foo,bar\n1,2\n", "text/csv", "missing_columns"),
    ],
)
def test_what_is_not_a_tracking_csv_gets_a_clear_refusal(api, db, body, content_type, code):
    response = post_csv(api, body, dry_run=True, content_type=content_type)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_a_file_over_the_row_limit_is_refused_with_413(api, db, monkeypatch):
    monkeypatch.setattr("colis.shipping.tracking_import.MAX_ROWS", 3)
    text = "order_number,tracking_number\n" + "".join(f"{i},T{i}\n" for i in range(5))
    response = post_csv(api, text, dry_run=True)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_rows"


def test_a_body_over_the_size_limit_is_refused(api, db, monkeypatch):
    monkeypatch.setattr("colis.shipping.tracking_import.MAX_BYTES", 10)
    response = post_csv(api, "order_number,tracking_number\n1,2\n", dry_run=True)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"


def test_readonly_may_not_import(make_api, db):
    response = post_csv(make_api("readonly"), "order_number,tracking_number\n", dry_run=True)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_role"


def test_the_dry_run_reads_in_a_few_queries_whatever_the_number_of_rows(
    api, orders, django_assert_max_num_queries
):
    text = "order_number,tracking_number,carrier\n" + "".join(
        f"{o['number']},T{o['number']},other\n" for o in orders
    )
    # token check and carrier registry included
    with django_assert_max_num_queries(12):
        report = post_csv(api, text, dry_run=True).json()
    assert report["shipments_planned"] == 8
