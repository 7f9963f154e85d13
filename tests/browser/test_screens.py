"""A picture of each main screen on a shop with a few weeks of work (docs/screenshots, shown in
the README), checked as it is taken: each screen shows what the data says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.browser.data import Shop
from tests.factories import ACTOR, ADDRESS_FR, LocationFactory

pytestmark = pytest.mark.django_db(transaction=True)

BUYERS = [
    ("Jeanne Martin", "Paris", "75002"),
    ("Louis Bernard", "Lyon", "69002"),
    ("Camille Dubois", "Nantes", "44000"),
    ("Hugo Lefèvre", "Lille", "59000"),
    ("Léa Moreau", "Bordeaux", "33000"),
    ("Nathan Girard", "Rennes", "35000"),
]
UPS = [  # UPS numbers with valid check digits
    "1ZBENCH10300000103", "1ZBENCH10300000112", "1ZBENCH10300000121", "1ZBENCH10300000130",
    "1ZBENCH10300000149", "1ZBENCH10300000158", "1ZBENCH10300000167", "1ZBENCH10300000176",
    "1ZBENCH10300000185", "1ZBENCH10300000194", "1ZBENCH10300000201",
]  # fmt: skip


def _a_few_weeks(shop: Shop) -> dict[str, dict]:
    """30 orders over three weeks: shipped, partly shipped, held, cancelled, late, and one
    return."""
    from colis.fulfillment.services import order_hold
    from colis.orders.models import Order
    from colis.orders.services import order_cancel

    lyon = dict(ADDRESS_FR, name="", line1="8 quai Saint-Antoine", city="Lyon", postal_code="69002")
    LocationFactory(name="Lyon store", priority=2, fulfills_online_orders=False, address=lyon)
    now = timezone.now()
    made = []
    for i in range(30):
        name, city, code = BUYERS[i % len(BUYERS)]
        address = dict(ADDRESS_FR, name=name, city=city, postal_code=code)
        lines = [("BAR-A", 1 + i % 3)] + ([("BAR-B", 1)] if i % 2 else [])
        first = name.split()[0].lower().replace("é", "e").replace("è", "e")
        body = {"email": f"{first}@example.com", "shipping_address": address}
        if i % 7 == 3:
            body["ship_by"] = (now - timedelta(days=1)).isoformat()
        made.append(shop.order(lines, **body))
        Order.objects.filter(pk=made[-1]["id"]).update(
            created_at=now - timedelta(days=20 - i * 2 // 3, hours=i % 5)
        )
    ups = iter(UPS)
    for order in made[:9]:
        shop.ship(order["id"], next(ups), notify_customer=False)
    for order in made[9:11]:
        shop.ship(order["id"], next(ups), notify_customer=False,
                  lines=[{"sku": "BAR-A", "quantity": 1}])  # fmt: skip
    for order in made[12:14]:
        order_hold(order_id=order["id"], reason="incorrect_address", notify_customer=False,
                   actor=ACTOR)  # fmt: skip
    order_cancel(order_id=made[14]["id"], reason="customer", actor=ACTOR)
    lines = [{"sku": "BAR-A", "quantity": 1, "reason": "size_or_fit"}]
    rma = shop.api.post("/api/v1/returns", {"order_id": made[2]["id"], "lines": lines}).json()
    shop.api.post(f"/api/v1/orders/{made[9]['id']}/notes", {"text": "Second parcel next week."})
    return {"partial": made[9], "return": rma, "open": made[-1]}


def test_the_main_screens(page, make_user):
    shop = Shop()
    some = _a_few_weeks(shop)
    sign_in(page, make_user("owner", "manon@example.com"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Orders to fulfill")).to_contain_text("18")
    shot(page, "dashboard")

    page.goto("/app/orders/")
    expect(page.get_by_role("table", name="Orders").get_by_role("row")).to_have_count(31)
    shot(page, "orders-list")

    page.goto(f"/app/orders/{some['partial']['id']}/")
    expect(page.get_by_role("region", name="Status")).to_contain_text("Partially Shipped")
    shot(page, "order-page")

    page.goto("/app/returns/")
    expect(page.get_by_role("link", name=some["return"]["number"])).to_be_visible()
    shot(page, "returns-list")
    page.get_by_role("link", name=some["return"]["number"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Return {some['return']['number']}")
    shot(page, "return-page")

    page.goto("/app/settings/")
    shot(page, "settings")
    page.goto("/app/settings/locations/")
    expect(page.get_by_role("rowheader", name="Lyon store")).to_be_visible()
    shot(page, "settings-locations")
