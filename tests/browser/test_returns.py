"""Returns in a real browser: the list, a return page, approve and receive."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.data import Shop

pytestmark = pytest.mark.django_db(transaction=True)


def test_approve_then_receive_a_return(page, make_user):
    shop = Shop()
    order = shop.order([("BAR-A", 3), ("BAR-B", 1)])
    shop.ship(order["id"], "1Z5R89390357567127", notify_customer=False)
    lines = [{"sku": "BAR-A", "quantity": 2, "reason": "size_or_fit"}]
    created = shop.api.post("/api/v1/returns", {"order_id": order["id"], "lines": lines})
    assert created.status_code == 201, created.content
    rma = created.json()

    sign_in(page, make_user("staff"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Returns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns")
    row = page.get_by_role("row").filter(has_text=rma["number"])
    assert order["number"] in row.inner_text()
    row.get_by_role("link", name=rma["number"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Return {rma['number']}")

    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text("The return was approved.")
    part = page.get_by_role("group", name="BAR-A")
    assert part.get_by_label("Quantity").input_value() == "2"
    part.get_by_label("Condition").select_option("resellable")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The units were received.")

    from colis.returns.models import Return

    back = Return.objects.get(pk=rma["id"])
    assert back.state in ("received", "inspected")
    assert back.lines.get().quantity_received == 2
