"""GET /api/v1/orders: filters, search, cursor pagination, and a query count that stays flat."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.selectors import status_labels_forget
from colis.orders.services import orders_create
from tests.factories import ACTOR, ADDRESS_FR, ADDRESS_US

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


@pytest.fixture
def products(stocked):
    # stocked at one location, so every order is routed to a fulfillment order
    return [stocked(s, 100_000) for s in ("BAR-A", "BAR-B", "MUG-RED")]


def make_orders(count: int, *, line_count: int = 2, **extra) -> list[int]:
    """`count` orders through the real service; returns their ids in creation order."""
    skus = ["BAR-A", "BAR-B", "MUG-RED"]
    values = {
        "email": "buyer@example.com",
        "shipping_address": dict(ADDRESS_FR),
        "currency": "EUR",
        "financial_status": "paid",
        "lines": tuple(
            LineDraft(sku=skus[i % 2], quantity=1, unit_price=Decimal("3"))
            for i in range(line_count)
        ),
    }
    values.update(extra)
    results = orders_create(drafts=[OrderDraft(**values) for _ in range(count)], actor=ACTOR)
    assert all(r.ok for r in results)
    return [r.order_id for r in results]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [o["id"] for o in response.json()["items"]]


def test_orders_are_listed_newest_first_with_their_lines(api, products):
    ids = make_orders(3)
    response = api.get(ORDERS)
    assert _ids(response) == ids[::-1]
    assert response.json()["next_cursor"] is None
    first = response.json()["items"][0]
    assert [ln["sku"] for ln in first["lines"]] == ["BAR-A", "BAR-B"]
    assert len(first["fulfillment_orders"]) == 1 and first["shipments"] == []


def test_an_empty_shop_lists_nothing(api):
    assert api.get(ORDERS).json() == {"items": [], "next_cursor": None}


def test_filter_by_status_name_id_or_several(api, products):
    paid = make_orders(2)
    pending = make_orders(2, financial_status="pending")
    assert sorted(_ids(api.get(ORDERS, status="awaiting_fulfillment"))) == paid
    assert sorted(_ids(api.get(ORDERS, status="7"))) == pending
    assert sorted(_ids(api.get(ORDERS, status="awaiting_payment,11"))) == paid + pending
    assert _ids(api.get(ORDERS, status="shipped")) == []


def test_filter_by_fulfillment_status(api, products):
    ids = make_orders(3)
    Order.objects.filter(pk=ids[0]).update(fulfillment_status="partially_fulfilled")
    assert _ids(api.get(ORDERS, fulfillment_status="partially_fulfilled")) == [ids[0]]
    assert sorted(_ids(api.get(ORDERS, fulfillment_status="unfulfilled"))) == ids[1:]
    assert _ids(api.get(ORDERS, fulfillment_status="fulfilled")) == []


def test_filter_by_channel(api, products):
    ours = make_orders(2)
    shop = make_orders(1, channel="shopify-eu")
    assert _ids(api.get(ORDERS, channel="shopify-eu")) == shop
    assert sorted(_ids(api.get(ORDERS, channel="api"))) == ours
    assert _ids(api.get(ORDERS, channel="ebay")) == []


def test_filter_by_creation_time(api, products):
    old, new = make_orders(2), make_orders(2)
    Order.objects.filter(pk__in=old).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert sorted(_ids(api.get(ORDERS, created_after=since))) == new
    assert sorted(_ids(api.get(ORDERS, created_before=since))) == old
    assert api.get(ORDERS, created_after="last tuesday").status_code == 422


def test_search_by_number_email_buyer_and_sku(api, products):
    # given orders from different buyers, one with a mug
    jeanne = make_orders(1, email="jeanne@example.com", number="WEB-77")[0]
    sam = make_orders(1, email="sam.carter@example.org", shipping_address=dict(ADDRESS_US))[0]
    mug = make_orders(
        1,
        email="mug@example.com",
        lines=(LineDraft(sku="MUG-RED", quantity=1, unit_price=Decimal("9")),),
    )[0]
    generated = Order.objects.get(pk=sam).number
    # then each way of searching finds the right one
    assert _ids(api.get(ORDERS, q="WEB-77")) == [jeanne]
    assert _ids(api.get(ORDERS, q=f"#{generated}")) == [sam]
    assert _ids(api.get(ORDERS, q="Sam.Carter@Example.org")) == [sam]
    assert _ids(api.get(ORDERS, q="sam.carter@")) == [sam]
    assert _ids(api.get(ORDERS, q="carter")) == [sam]
    assert sorted(_ids(api.get(ORDERS, q="Jeanne Martin"))) == sorted([jeanne, mug])
    assert _ids(api.get(ORDERS, q="mug-red")) == [mug]
    assert _ids(api.get(ORDERS, q="nobody@nowhere.test")) == []


def test_filters_combine(api, products):
    make_orders(2, channel="shop")
    wanted = make_orders(1, channel="shop", financial_status="pending")
    make_orders(1, financial_status="pending")
    assert _ids(api.get(ORDERS, channel="shop", status="awaiting_payment")) == wanted


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        ("status", "teleported", "status"),
        ("fulfillment_status", "lost", "fulfillment_status"),
        ("limit", "0", "limit"),
        ("limit", "251", "limit"),
        ("limit", "-5", "limit"),
        ("cursor", "not-a-cursor", "cursor"),
        ("cursor", base64.urlsafe_b64encode(b"id:abc").decode(), "cursor"),
        ("cursor", base64.urlsafe_b64encode(b"pk:12").decode(), "cursor"),
        ("cursor", base64.urlsafe_b64encode(b"id:-1").decode(), "cursor"),
        ("cursor", base64.urlsafe_b64encode(f"id:{2**64}".encode()).decode(), "cursor"),
    ],
)
def test_a_bad_filter_limit_or_cursor_is_422(api, products, param, value, field):
    make_orders(1)
    response = api.get(ORDERS, **{param: value})
    assert response.status_code == 422
    assert field in response.json()["fields"]


def test_limit_bounds_are_inclusive(api, products):
    make_orders(3)
    assert len(_ids(api.get(ORDERS, limit=1))) == 1
    assert len(_ids(api.get(ORDERS, limit=250))) == 3


def _walk(api, limit: int, **filters) -> tuple[list[int], int]:
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        response = api.get(ORDERS, **params)
        page = _ids(response)
        assert len(page) <= limit
        seen += page
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100


def test_the_cursor_walks_every_order_once(api, products):
    # given 30 orders
    ids = make_orders(30)
    # when a client pages through them 7 at a time
    seen, pages = _walk(api, 7)
    # then it sees each exactly once, newest first, in five pages
    assert seen == sorted(ids, reverse=True)
    assert pages == 5


def test_the_cursor_ends_on_a_full_last_page(api, products):
    ids = make_orders(28)
    seen, pages = _walk(api, 7)
    assert seen == sorted(ids, reverse=True)
    assert pages == 4


def test_the_cursor_keeps_the_filters_and_ignores_new_orders(api, products):
    # given a mix of paid and pending orders
    paid = make_orders(10)
    make_orders(10, financial_status="pending")
    # when a client starts paging paid orders and new ones arrive meanwhile
    first = api.get(ORDERS, limit=4, status="awaiting_fulfillment").json()
    late = make_orders(3)
    seen = [o["id"] for o in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(ORDERS, limit=4, status="awaiting_fulfillment", cursor=cursor).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
    # then it sees each paid order from its start once, and none of the late ones
    assert seen == sorted(paid, reverse=True)
    assert not set(late) & set(seen)


def _queries(api, path: str, **params) -> int:
    status_labels_forget()  # every measured call reads the labels, so calls compare fairly
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_costs_the_same_queries_for_5_or_100_orders(api, products):
    # given 120 orders of two lines each
    make_orders(120)
    # when pages of 5 and of 100 are read
    small = _queries(api, ORDERS, limit=5)
    large = _queries(api, ORDERS, limit=100)
    filtered = _queries(api, ORDERS, limit=100, status="awaiting_fulfillment", q="BAR-A")
    # then they cost the same: token, orders, their lines, the status labels, the FOs with
    # their lines and holds, the shipments (none yet, so no query for their lines)
    assert small == large == filtered == 8


def test_reading_one_order_costs_the_same_for_1_or_200_lines(api, products):
    one = make_orders(1, line_count=1)[0]
    many = make_orders(1, line_count=200)[0]
    assert _queries(api, f"{ORDERS}/{one}") == _queries(api, f"{ORDERS}/{many}") == 8


def test_the_list_query_count_is_pinned(api, products, django_assert_num_queries):
    make_orders(30)
    status_labels_forget()
    with django_assert_num_queries(8):
        assert len(_ids(api.get(ORDERS, limit=25))) == 25
