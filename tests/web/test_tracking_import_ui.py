"""The tracking import page: upload, dry-run table, apply the same file."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from colis.core.models import Event
from colis.fulfillment.models import Shipment
from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import order_create
from tests.factories import ACTOR, ADDRESS_FR, UserFactory


def make_order(sku: str = "TI-A") -> Order:
    draft = OrderDraft(
        email="buyer@example.com",
        shipping_address=ADDRESS_FR,
        currency="EUR",
        financial_status="paid",
        lines=(LineDraft(sku=sku, quantity=1, unit_price=Decimal("5")),),
    )
    return Order.objects.get(pk=order_create(draft=draft, actor=ACTOR).order_id)


def signed_in(role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(UserFactory(role=role))
    return client


def upload(client: Client, body: bytes, name: str = "tracking.csv"):
    return client.post(
        "/app/tracking-import/", {"file": SimpleUploadedFile(name, body, "text/csv")}
    )


@pytest.fixture
def orders(stocked) -> list[Order]:
    stocked("TI-A", qty=20)
    return [make_order() for _ in range(2)]


def tracking_file(orders: list[Order]) -> bytes:
    rows = ["order_number,tracking_number,carrier"]
    rows += [f"{o.number},T{o.pk},other" for o in orders]
    rows.append("NOPE-1,T999,other")
    return ("\n".join(rows) + "\n").encode()


def test_the_dry_run_lists_the_bad_row_and_apply_creates_the_good_shipments(orders, db):
    client = signed_in("staff")
    events = Event.objects.count()
    checked = upload(client, tracking_file(orders))
    assert checked.status_code == 200
    html = checked.content.decode()
    assert "Dry run" in html and "order_not_found" in html and "NOPE-1" in html
    assert re.search(r'class="row-error">\s*<td class="num">3</td>', html)
    assert f"T{orders[0].pk}" in html
    assert Shipment.objects.count() == 0 and Event.objects.count() == events
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert "TI-A" not in token and "NOPE" not in token  # the page carries an id, not the file

    applied = client.post("/app/tracking-import/apply/", {"token": token})
    assert applied.status_code == 200
    page = applied.content.decode()
    assert "Import applied" in page and "order_not_found" in page
    assert Shipment.objects.count() == 2
    assert sorted(Shipment.objects.values_list("tracking_numbers", flat=True)) == sorted(
        [[f"T{o.pk}"] for o in orders]
    )
    # the token is used up: applying again changes nothing
    again = client.post("/app/tracking-import/apply/", {"token": token})
    assert again.status_code == 422 and "upload the file again" in again.content.decode()
    assert Shipment.objects.count() == 2


def test_a_forged_or_foreign_token_is_refused(orders, db):
    owner = signed_in("owner")
    other = signed_in("staff")
    html = upload(owner, tracking_file(orders)).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert other.post("/app/tracking-import/apply/", {"token": token}).status_code == 422
    assert owner.post("/app/tracking-import/apply/", {"token": token + "x"}).status_code == 422
    assert Shipment.objects.count() == 0


def test_a_file_without_the_columns_is_refused_with_its_reason(db):
    client = signed_in("staff")
    refused = upload(client, b"sku,quantity\nA,1\n")
    assert refused.status_code == 422 and "tracking_number" in refused.content.decode()
    assert upload(client, b"").status_code == 422
    missing = client.post("/app/tracking-import/", {})
    assert missing.status_code == 422 and 'id="f-file-error"' in missing.content.decode()


def test_readonly_sees_no_upload_form_and_cannot_post(orders, db):
    client = signed_in("readonly")
    page = client.get("/app/tracking-import/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.content.decode()
    assert upload(client, tracking_file(orders)).status_code == 403
    assert client.post("/app/tracking-import/apply/", {"token": "x"}).status_code == 403
    assert Shipment.objects.count() == 0


def test_the_upload_needs_the_csrf_token(orders, db):
    client = signed_in("staff", enforce_csrf_checks=True)
    assert upload(client, tracking_file(orders)).status_code == 403
