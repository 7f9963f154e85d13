"""Tracking import in a real browser: upload a file with a bad row, read the dry run, apply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.browser.data import Shop

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_a_tracking_file_with_a_bad_row(page, make_user):
    shop = Shop()
    first, second = shop.order([("BAR-A", 2)]), shop.order([("BAR-B", 1)])
    csv = (
        "order_number,tracking_number,carrier\n"
        f"{first['number']},1Z5R89390357567127,ups\n"
        "NO-SUCH-ORDER,1ZBENCH10300000005,ups\n"
        f"{second['number']},1ZBENCH10300000014,UPS\n"
    ).encode()
    sign_in(page, make_user("staff"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tracking import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tracking import")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "tracking.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Dry run: nothing has changed yet")).to_be_visible()
    table = page.get_by_role("table", name="Result of each row")
    bad = table.get_by_role("row").filter(has_text="NO-SUCH-ORDER")
    assert "order_not_found" in bad.inner_text()
    expect(
        table.get_by_role("row").filter(has_text=first["number"]).get_by_text("OK")
    ).to_be_visible()
    summary = " ".join(page.get_by_role("status").inner_text().split())
    assert "1 rows with an error" in summary and "2 shipments to create" in summary
    shot(page, "tracking-import-dry-run")

    from colis.fulfillment.models import Shipment

    assert Shipment.objects.count() == 0  # the dry run changed nothing
    page.once("dialog", lambda dialog: dialog.accept())  # "Create 2 shipments now?"
    page.get_by_role("button", name="Apply: create 2 shipments").click()
    expect(page.get_by_role("heading", name="Import applied")).to_be_visible()
    assert "2 shipments created" in " ".join(page.get_by_role("status").inner_text().split())
    made = Shipment.objects.order_by("order_id")
    assert [(s.order_id, s.tracking_numbers) for s in made] == [
        (first["id"], ["1Z5R89390357567127"]),
        (second["id"], ["1ZBENCH10300000014"]),
    ]
