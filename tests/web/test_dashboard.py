"""The dashboard: the day's counts, each a link to the orders it counts, and the 30-day chart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from colis.channels.models import Channel, ChannelOrder
from colis.core.models import OutboxMessage
from colis.orders.models import Order
from tests.factories import UserFactory, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def signed_in(role: str = "readonly") -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def make_orders(api, stocked):
    stocked("BAR-A", qty=5000)

    def make(count, **extra):
        response = api.post(
            f"{ORDERS}/bulk", {"orders": [order_body([("BAR-A", 1)], **extra)] * count}
        )
        assert response.status_code == 200, response.content
        return [r["order"] for r in response.json()["results"]]

    return make


def stat(html: str, href: str) -> int:
    """The number shown on the tile linking to `href`."""
    found = re.search(rf'href="{re.escape(href)}"><strong>(\d+)</strong>', html)
    assert found, href
    return int(found.group(1))


def test_the_counts_link_to_the_orders_they_count(api, make_orders):
    open_, held, late, shipped, cancelled = make_orders(5)
    api.post(f"{ORDERS}/{held['id']}/hold", {"reason": "other"})
    Order.objects.filter(pk=late["id"]).update(ship_by=timezone.now() - timedelta(days=1))
    r = api.post(
        f"{ORDERS}/{shipped['id']}/shipments",
        {"carrier": "other", "tracking_numbers": ["T1"], "notify_customer": False},
    )
    assert r.status_code == 201, r.content
    api.post(f"{ORDERS}/{cancelled['id']}/cancel")
    now = timezone.now()
    channel = Channel.objects.create(kind="shopify", name="Shop", import_start=now, created_at=now)
    ChannelOrder.objects.create(
        channel=channel, external_id="1", state="pending", first_seen_at=now, checked_at=now
    )
    ChannelOrder.objects.create(
        channel=channel, external_id="2", state="imported", first_seen_at=now, checked_at=now
    )
    OutboxMessage.objects.create(
        kind="email", idempotency_key="k1", status="failed", next_attempt_at=now, created_at=now
    )
    client = signed_in()
    html = client.get("/app/").content.decode()
    assert stat(html, "/app/orders/?tab=unfulfilled") == 2  # open and late
    assert stat(html, "/app/orders/?tab=on_hold") == 1
    assert stat(html, "/app/orders/?late=1&amp;sort=ship_by") == 1
    assert stat(html, "/app/orders/?shipped=today") == 1
    assert stat(html, "/app/settings/channels/") == 1
    assert stat(html, "/app/settings/outbox/") == 1
    # each link finds those orders in the list
    late_list = client.get("/app/orders/", {"late": "1", "sort": "ship_by"}).content.decode()
    assert late["number"] in late_list and open_["number"] not in late_list
    today = client.get("/app/orders/", {"shipped": "today"}).content.decode()
    assert shipped["number"] in today and open_["number"] not in today
    # a readonly user sees no write controls
    assert 'method="post" action="/app/orders' not in html


def test_the_chart_draws_orders_and_shipments_per_day_with_a_table(api, make_orders):
    orders = make_orders(3)
    old = timezone.now() - timedelta(days=3)
    Order.objects.filter(pk=orders[0]["id"]).update(created_at=old)
    Order.objects.filter(pk=orders[1]["id"]).update(created_at=timezone.now() - timedelta(days=45))
    api.post(
        f"{ORDERS}/{orders[2]['id']}/shipments",
        {"carrier": "other", "tracking_numbers": ["T1"], "notify_customer": False},
    )
    html = signed_in().get("/app/").content.decode()
    assert '<svg viewBox="0 0 720 240" role="img"' in html
    assert html.count('<rect class="orders"') == 30 and html.count('<rect class="shipments"') == 30
    assert "1 orders created and 1 shipments shipped" not in html  # counts are per 30 days
    assert "2 orders created and 1 shipments shipped in 30 days" in html
    rows = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', html)
    assert len(rows) == 30
    assert rows[-1] == ("1", "1") and rows[-4] == ("1", "0")


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/app/").status_code == 200
    return len(ctx.captured_queries)


def test_the_dashboard_query_count_does_not_grow_with_the_orders(make_orders):
    client = signed_in()
    make_orders(5)
    five = _queries(client)
    make_orders(45)
    assert _queries(client) == five == 8  # session, user, 4 counts, 2 per-day series


def test_french_dates_on_the_dashboard(make_orders):
    make_orders(1)
    client = signed_in()
    client.post("/app/language/", {"language": "fr"})
    html = client.get("/app/").content.decode()
    assert "Commandes à préparer" in html
