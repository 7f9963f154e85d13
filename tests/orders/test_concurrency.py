"""Order creation against a concurrent writer (PostgreSQL): the loser replays or refuses, never
fails. The other writer holds its row uncommitted until our insert waits on it, so the race is
reproduced every time, without sleeps."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from colis.orders.drafts import LineDraft, OrderDraft
from colis.orders.models import Order
from colis.orders.services import orders_create
from tests.factories import ACTOR, ADDRESS_FR, ProductFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two live writers"),
    pytest.mark.django_db(transaction=True),
]


def _draft(**extra) -> OrderDraft:
    return OrderDraft(
        email="buyer@example.com",
        shipping_address=dict(ADDRESS_FR),
        currency="EUR",
        financial_status="paid",
        lines=(LineDraft(sku="BAR-A", quantity=1, unit_price=Decimal("5")),),
        **extra,
    )


def _hold_an_order_until_someone_waits(number: str, external_id: str | None, ready, done):
    """In its own connection: insert an order, keep it uncommitted until another backend
    waits on a lock, then commit."""
    try:
        with transaction.atomic():
            now = timezone.now()
            Order.objects.create(
                number=number,
                channel="shop",
                external_id=external_id,
                currency="EUR",
                financial_status="paid",
                status=11,
                created_at=now,
                updated_at=now,
            )
            ready.set()
            with connection.cursor() as cursor:
                for _ in range(100_000):
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                    if cursor.fetchone()[0]:
                        break
    finally:
        done.set()
        connection.close()


def _against_a_concurrent_writer(number: str, external_id: str | None, draft: OrderDraft):
    ready, done = threading.Event(), threading.Event()
    other = threading.Thread(
        target=_hold_an_order_until_someone_waits, args=(number, external_id, ready, done)
    )
    other.start()
    try:
        assert ready.wait(30)
        return orders_create(drafts=[draft], actor=ACTOR)[0]
    finally:
        other.join(60)


def test_a_channel_order_committed_by_another_writer_meanwhile_is_replayed():
    # given a product, and another writer inserting channel order shop/EXT-1 right now
    ProductFactory(sku="BAR-A")
    # when we create the same channel order while its row is not yet committed
    result = _against_a_concurrent_writer(
        "OTHER-1", "EXT-1", _draft(channel="shop", external_id="EXT-1")
    )
    # then we get the other writer's order back, and it exists once
    theirs = Order.objects.get(number="OTHER-1")
    assert (result.ok, result.created, result.order_id) == (True, False, theirs.pk)
    assert Order.objects.filter(channel="shop", external_id="EXT-1").count() == 1


def test_a_number_taken_by_another_writer_meanwhile_is_refused_by_field():
    ProductFactory(sku="BAR-A")
    result = _against_a_concurrent_writer("N-1", None, _draft(number="N-1"))
    assert not result.ok
    assert "number" in result.errors
    assert Order.objects.filter(number="N-1").count() == 1
