"""The public pages' rate limits: token buckets in the database, one per key, shared by every
process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from colis.web.models import RateLimit
from colis.web.ratelimit import FORGET_AFTER, Limit, limit_take

LIMIT = Limit(name="test", burst=3, per=60)  # three at once, then one every 20 seconds


def test_a_bucket_allows_its_burst_then_refills_at_its_rate(db):
    t = 1_000_000.0
    assert [limit_take(LIMIT, "a", now=t) for _ in range(3)] == [0, 0, 0]
    wait = limit_take(LIMIT, "a", now=t)
    assert 19.9 < wait < 20.5
    assert limit_take(LIMIT, "b", now=t) == 0  # another key has its own bucket
    for _ in range(5):  # refused requests do not dig the bucket deeper
        assert limit_take(LIMIT, "a", now=t + 1) > 0
    assert limit_take(LIMIT, "a", now=t + 21) == 0
    assert limit_take(LIMIT, "a", now=t + 21) > 0


def test_buckets_left_alone_for_a_day_are_forgotten(db):
    limit_take(LIMIT, "old", now=1_000.0)
    limit_take(LIMIT, "new", now=1_000.0 + FORGET_AFTER + 1)
    assert RateLimit.objects.count() == 1
    assert "old" not in RateLimit.objects.get().key


@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_share_one_bucket():
    def take(_: int) -> float:
        try:
            return limit_take(LIMIT, "shared", now=5_000.0)
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        waits = list(pool.map(take, range(12)))
    assert sum(1 for w in waits if w == 0) == 3
    assert RateLimit.objects.count() == 1
