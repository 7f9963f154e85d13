"""The client side of the vendors' rate limits: a token bucket per (channel, operation) that a
call takes from before it goes, and the cache of OAuth access tokens.

`MemoryLimiter` keeps its buckets in the process (one client, tests); `DbLimiter` keeps them in
the database so every worker and web process shares one bucket per channel and operation."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping


class NoLimiter:
    """Limits off (emulators with limits off, sandboxes)."""

    def acquire(self, operation: str) -> None:
        return None

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        return None


class MemoryLimiter:
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
            tokens = min(float(burst), tokens + (now - at) * rate) - 1
            self._state[operation] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate

    def acquire(self, operation: str) -> None:
        wait = self.reserve(operation)
        if wait > 0:
            self._sleep(wait)

    def observe(self, operation: str, headers: Mapping[str, str]) -> None:
        return None


class MemoryTokens:
    """An access token cached in this process until shortly before it expires."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._until = 0.0

    def get(self) -> str | None:
        return self._token if time.monotonic() < self._until else None

    def put(self, token: str, expires_in: float) -> None:
        self._token, self._until = token, time.monotonic() + max(0.0, expires_in - 60)
