"""Rate limits for the public pages: token buckets kept in the database, so every web process
takes from the same bucket. Keys are keyed hashes: neither addresses nor what a visitor typed
are stored."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils.crypto import salted_hmac

from colis.channels.limits import bucket_take
from colis.web.models import RateLimit

# A bucket untouched this long is full again, so its row can go.
FORGET_AFTER = 24 * 3600


@dataclass(frozen=True, kw_only=True, slots=True)
class Limit:
    """`burst` requests at once, then one every `per / burst` seconds."""

    name: str
    burst: int
    per: float

    @property
    def rate(self) -> float:
        return self.burst / self.per


def limit_key(limit: Limit, value: str) -> str:
    digest = salted_hmac("colis.web.ratelimit", f"{limit.name}\0{value}", algorithm="sha256")
    return f"{limit.name}:{digest.hexdigest()[:64]}"


def limit_take(limit: Limit, value: str, *, now: float | None = None) -> float:
    """Take one request from the bucket of `value` under `limit`: 0 when allowed, else the
    seconds until the next one is (a refused request takes nothing)."""
    key = limit_key(limit, value)
    now = time.time() if now is None else now
    with transaction.atomic():
        rows = RateLimit.objects.select_for_update().filter(key=key)
        bucket = rows.first()
        if bucket is None:
            RateLimit.objects.filter(updated_at__lt=now - FORGET_AFTER).delete()
            # Another process may be creating the same bucket at this moment.
            RateLimit.objects.bulk_create(
                [RateLimit(key=key, tokens=limit.burst, updated_at=now)], ignore_conflicts=True
            )
            bucket = rows.get()
        left, wait = bucket_take(bucket.tokens, now - bucket.updated_at, limit.rate, limit.burst)
        # Refused: keep the refill, give the token back (waiting callers do not go into debt).
        bucket.tokens = left if wait == 0 else left + 1
        bucket.updated_at = now
        bucket.save(update_fields=["tokens", "updated_at"])
    return wait
