"""The client side of the vendors' rate limits: a token bucket per (channel, operation) that a
call takes from before it goes, and the cache of OAuth access tokens.

`MemoryLimiter` keeps its buckets in the process (one client, tests); `DbLimiter` keeps them in
the database so every worker and web process shares one bucket per channel and operation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

SLACK = 0.02  # seconds added to every wait


class NoLimiter:
    """Limits off (emulators with limits off, sandboxes)."""

    def acquire(self, operation: str) -> None:
        return None

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        return None


def bucket_take(tokens: float, elapsed: float, rate: float, burst: int) -> tuple[float, float]:
    """Refill a bucket for `elapsed` seconds and take one token (into debt if need be): the
    tokens left and the seconds to wait before calling."""
    left = min(float(burst), tokens + max(0.0, elapsed) * rate) - 1
    # A little slack: the vendor's own clock and bucket are not ours to the millisecond.
    return left, (0.0 if left >= 0 else -left / rate + SLACK)


class _Reserving:
    """A limiter whose `reserve` takes a token and says how long to wait for it."""

    _sleep: Callable[[float], None]

    def reserve(self, operation: str) -> float:
        raise NotImplementedError

    def acquire(self, operation: str) -> None:
        wait = self.reserve(operation)
        if wait > 0:
            self._sleep(wait)

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        return None


class MemoryLimiter(_Reserving):
    """Buckets in this process: `rates` maps operation -> (requests per second, burst)."""

    def __init__(self, rates: Mapping[str, tuple[float, int]], *, sleep=time.sleep) -> None:
        self.rates = dict(rates)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}  # operation -> (tokens, at)

    def reserve(self, operation: str) -> float:
        """Take a token (going into debt if need be); the seconds to wait before calling."""
        if operation not in self.rates:
            return 0.0
        rate, burst = self.rates[operation]
        with self._lock:
            now = time.monotonic()
            tokens, at = self._state.get(operation, (float(burst), now))
            left, wait = bucket_take(tokens, now - at, rate, burst)
            self._state[operation] = (left, now)
        return wait


class MemoryTokens:
    """An access token cached in this process until shortly before it expires."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._until = 0.0

    def get(self) -> str | None:
        return self._token if time.monotonic() < self._until else None

    def put(self, token: str, expires_in: float) -> None:
        self._token, self._until = token, time.monotonic() + max(0.0, expires_in - 60)


class DbLimiter(_Reserving):
    """Buckets in the database (table RateBucket), one per (channel, operation): every process
    that calls this vendor account takes from the same bucket, so together they never exceed
    the published rate. A call that finds the bucket empty reserves its token (the count goes
    below zero) and sleeps until it is due, so waiting callers go in turn."""

    def __init__(
        self, channel_id: int, rates: Mapping[str, tuple[float, int]], *, sleep=time.sleep
    ) -> None:
        self.channel_id = channel_id
        self.rates = dict(rates)
        self._sleep = sleep

    def reserve(self, operation: str) -> float:
        from django.db import transaction

        from colis.channels.models import RateBucket

        if operation not in self.rates:
            return 0.0
        rate, burst = self.rates[operation]
        with transaction.atomic():
            rows = RateBucket.objects.select_for_update().filter(
                channel_id=self.channel_id, operation=operation
            )
            bucket = rows.first()
            now = time.time()
            if bucket is None:
                # First call for this operation; another process may be creating it too.
                RateBucket.objects.bulk_create(
                    [RateBucket(channel_id=self.channel_id, operation=operation,
                                tokens=burst, updated_at=now)],
                    ignore_conflicts=True,
                )  # fmt: skip
                bucket = rows.get()
            left, wait = bucket_take(bucket.tokens, now - bucket.updated_at, rate, burst)
            bucket.tokens, bucket.updated_at = left, now
            bucket.save()
        return wait


class ChannelTokens:
    """The channel's access token, sealed in its row and shared by every process; this process
    keeps its copy in memory until shortly before it expires."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id
        self._token: str | None = None
        self._until = 0.0

    def get(self) -> str | None:
        from django.utils import timezone

        from colis.channels.models import Channel
        from colis.channels.secrets import unseal

        if self._token is not None and time.monotonic() < self._until:
            return self._token
        row = (
            Channel.objects.filter(pk=self.channel_id)
            .values("token_sealed", "token_expires_at")
            .first()
        )
        if not row or not row["token_sealed"] or not row["token_expires_at"]:
            return None
        left = (row["token_expires_at"] - timezone.now()).total_seconds()
        if left <= 0:
            return None
        try:
            token = unseal(row["token_sealed"])
        except ValueError:
            return None
        self._token, self._until = token, time.monotonic() + left
        return token

    def put(self, token: str, expires_in: float) -> None:
        from datetime import timedelta

        from django.utils import timezone

        from colis.channels.models import Channel
        from colis.channels.secrets import seal

        usable = max(0.0, expires_in - 60)
        Channel.objects.filter(pk=self.channel_id).update(
            token_sealed=seal(token),
            token_expires_at=timezone.now() + timedelta(seconds=usable),
        )
        self._token, self._until = (token, time.monotonic() + usable) if usable else (None, 0.0)
