"""The day's work in a real browser: find an order, fulfill it in two shipments and see the
buyer's email arrive; bulk-print packing slips with the dry run first."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.browser.data import Shop, outbox_deliver
from tests.notifications.test_email import inbox  # noqa: F401  (fixture: a real SMTP server)

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = "1Z5R89390357567127"
SECOND = "1ZBENCH10300000014"
OTHER = "1ZBENCH10300000023"


def _text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def _status(page) -> str:
    return page.get_by_role("region", name="Status").get_by_role("strong").inner_text()


def test_fulfill_an_order_in_two_shipments_and_the_buyer_hears_of_each(page, make_user, inbox):  # noqa: F811
    shop = Shop()
    shipped = shop.order([("BAR-A", 1)])
    shop.ship(shipped["id"], OTHER)
    order = shop.order([("BAR-A", 3), ("BAR-B", 1)], email="jeanne@example.com")
    outbox_deliver()
    inbox.messages.clear()

    sign_in(page, make_user("staff", "packer@example.com"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.get_by_role("navigation", name="Order views").get_by_role(
        "link", name="Unfulfilled"
    ).click()
    page.wait_for_url("**/app/orders/?tab=unfulfilled")
    table = page.get_by_role("table", name="Orders")
    assert table.get_by_role("link", name=shipped["number"], exact=True).count() == 0
    table.get_by_role("link", name=order["number"], exact=True).click()
    page.wait_for_url(f"**/app/orders/{order['id']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order['number']}")

    page.get_by_role("link", name="Fulfill items").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fulfill items")
    assert page.get_by_label("Quantity of BAR-A to ship").input_value() == "3"
    assert page.get_by_label("Send shipment details to the customer now").is_checked()
    page.get_by_label("Quantity of BAR-A to ship").fill("1")
    page.get_by_label("Quantity of BAR-B to ship").fill("0")
    page.get_by_label("Tracking numbers (one per line)").fill(FIRST)
    expect(page.get_by_text("Detected carrier: UPS")).to_be_visible()  # as it is typed
    shot(page, "fulfill")
    page.get_by_role("button", name="Create shipment").click()
    page.wait_for_url(f"**/app/orders/{order['id']}/?done=shipped*")
    assert _status(page) == "Partially Shipped"
    shipments = page.get_by_role("region", name="Shipments")
    expect(shipments.get_by_role("link", name=FIRST)).to_be_visible()
    items = page.get_by_role("region", name="Items").get_by_role("row", name=re.compile("BAR-A"))
    expect(items.get_by_role("cell").last).to_have_text("2")  # remaining

    assert outbox_deliver() >= 1
    [(rcpt, msg)] = inbox.messages
    assert rcpt == ["jeanne@example.com"]
    assert order["number"] in msg["Subject"]
    assert FIRST in _text(msg) and "BAR-A" in _text(msg)

    page.get_by_role("link", name="Fulfill items").click()
    assert page.get_by_label("Quantity of BAR-A to ship").input_value() == "2"
    assert page.get_by_label("Quantity of BAR-B to ship").input_value() == "1"
    page.get_by_label("Tracking numbers (one per line)").fill(SECOND)
    page.get_by_role("button", name="Create shipment").click()
    page.wait_for_url(f"**/app/orders/{order['id']}/?done=shipped*")
    assert _status(page) == "Shipped"
    expect(shipments.get_by_role("link", name=SECOND)).to_be_visible()
    assert page.get_by_role("link", name="Fulfill items").count() == 0
    outbox_deliver()
    assert len(inbox.messages) == 2
    assert SECOND in _text(inbox.messages[1][1])


def test_bulk_print_packing_slips_for_twenty_orders_after_the_dry_run(page, make_user):
    shop = Shop()
    orders = shop.orders(20, [("BAR-A", 1), ("BAR-B", 2)])
    for k, done in enumerate(shop.orders(2)):
        shop.ship(done["id"], [OTHER, "1ZBENCH10300000032"][k])
    sign_in(page, make_user("staff"))
    page.goto("/app/orders/?tab=unfulfilled")
    table = page.get_by_role("table", name="Orders")
    assert table.get_by_role("row").count() == 21  # the header and the 20 unfulfilled
    page.get_by_label("Select all orders on this page").check()
    assert page.get_by_label(f"Select order {orders[0]['number']}").is_checked()
    page.get_by_label("With the selected orders").select_option(label="Print packing slips")
    page.get_by_role("button", name="Review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Review: Print packing slips")
    expect(page.get_by_role("status")).to_have_text("20 orders will be printed.")
    outcomes = page.get_by_role("table", name="Result for each order")
    assert outcomes.get_by_role("row").count() == 21
    assert outcomes.get_by_text("Will do").count() == 20
    shot(page, "orders-bulk-review")

    from colis.orders.models import Order

    before = list(Order.objects.order_by("pk").values_list("status", "updated_at"))
    confirm = page.get_by_role("button", name="Print packing slips on 20 orders")
    # The same form, posted again from the page's session: the PDF itself, read with pypdf.
    fields = confirm.evaluate(
        "b => Array.from(new FormData(b.form).entries()).map(([k, v]) => [k, v])"
    )
    with (
        page.context.expect_event(
            "response",
            predicate=lambda r: r.url.endswith("/app/orders/bulk/") and r.request.method == "POST",
        ) as answered,
        page.expect_popup() as viewer,
    ):
        confirm.click()
    response = answered.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "packing-slips.pdf" in response.headers["content-disposition"]
    viewer.value.close()  # Chromium's PDF viewer opened it in a new tab

    import io

    import pypdf

    again = page.request.post(
        "/app/orders/bulk/",
        data=urlencode([tuple(pair) for pair in fields]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.headers["content-type"] == "application/pdf"
    assert len(pypdf.PdfReader(io.BytesIO(again.body())).pages) == 20
    # Printing (without "move to awaiting shipment") changes no order.
    assert list(Order.objects.order_by("pk").values_list("status", "updated_at")) == before
