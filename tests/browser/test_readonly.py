"""A read-only user in a real browser: every screen shows, none offers a form that posts, and a
form posted anyway (with a valid CSRF token) is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.data import Shop

pytestmark = pytest.mark.django_db(transaction=True)

# Forms that post, in the page's content (the header's language and sign-out forms are
# everyone's).
POSTING = "main form[method=post i], main button[formmethod=post i]"


def _no_write_controls(page) -> None:
    assert page.locator(POSTING).count() == 0, page.locator(POSTING).first.evaluate(
        "f => f.outerHTML.slice(0, 300)"
    )
    # Nothing to tick either (the shop settings show their values in disabled fieldsets).
    assert page.locator("main input[type=checkbox]:enabled").count() == 0


def test_a_readonly_user_sees_no_write_controls(page, make_user):
    shop = Shop()
    order = shop.order([("BAR-A", 2), ("BAR-B", 1)])
    shipped = shop.order([("BAR-A", 1)])
    shop.ship(shipped["id"], "1Z5R89390357567127", notify_customer=False)
    sign_in(page, make_user("readonly"))

    page.goto("/app/orders/")
    assert page.get_by_role("table", name="Orders").get_by_role("link", name=order["number"])
    assert page.get_by_label("With the selected orders").count() == 0
    _no_write_controls(page)

    page.goto(f"/app/orders/{order['id']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order['number']}")
    assert page.get_by_role("link", name="Fulfill items").count() == 0
    _no_write_controls(page)
    page.goto(f"/app/orders/{shipped['id']}/")
    _no_write_controls(page)
    fo_id = shop.api.get(f"/api/v1/orders/{order['id']}").json()["fulfillment_orders"][0]["id"]
    page.goto(f"/app/orders/{order['id']}/fulfill/{fo_id}/")
    expect(page.get_by_text("You may look at this order but not ship it.")).to_be_visible()
    _no_write_controls(page)

    for path in ("/app/settings/", "/app/settings/locations/", "/app/settings/shop/"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        _no_write_controls(page)
    page.goto("/app/settings/locations/")
    assert page.get_by_role("link", name="Add a location").count() == 0
    assert (
        page.get_by_role("cell", name="Paris WH").count()
        + page.get_by_role("rowheader", name="Paris WH").count()
        == 1
    )

    page.goto("/app/tracking-import/")
    _no_write_controls(page)
    page.goto("/app/returns/")
    _no_write_controls(page)
    page.goto("/app/")
    _no_write_controls(page)


def test_a_form_posted_anyway_by_a_readonly_user_is_refused(page, make_user):
    shop = Shop()
    order = shop.order([("BAR-A", 2)])
    fo_id = shop.api.get(f"/api/v1/orders/{order['id']}").json()["fulfillment_orders"][0]["id"]
    sign_in(page, make_user("readonly"))
    page.goto(f"/app/orders/{order['id']}/")
    # The session's CSRF token, from the header's language form: only the role refuses.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    attempts = {
        "/app/orders/bulk/": {"action": "cancel", "ids": str(order["id"]), "step": "run"},
        f"/app/orders/{order['id']}/status/": {"status": "9"},
        f"/app/orders/{order['id']}/fulfill/{fo_id}/": {"tracking_numbers": "1Z5R89390357567127"},
        f"/app/orders/{order['id']}/notes/": {"text": "hello"},
        "/app/settings/locations/new/": {"name": "Sneaky", "address_country": "FR"},
        "/app/settings/shop/": {"name": "Sneaky"},
        "/app/tracking-import/": {},
    }
    for path, form in attempts.items():
        response = page.request.post(
            path, form={"csrfmiddlewaretoken": token, **form}, headers={"Referer": page.url}
        )
        assert response.status == 403, (path, response.status)
        assert "Your role cannot do this" in response.text()  # the role, not CSRF, refused it

    from colis.core.models import Event
    from colis.fulfillment.models import Shipment
    from colis.locations.models import Location
    from colis.orders.models import Order

    assert Order.objects.get(pk=order["id"]).cancelled_at is None
    assert Shipment.objects.count() == 0
    assert not Location.objects.filter(name="Sneaky").exists()
    assert not Event.objects.filter(kind="note_added").exists()
