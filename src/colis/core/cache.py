"""Per-process snapshots of small settings read on hot paths (the shop's settings, status
labels, the carrier registry): loaded at most once per TTL, cleared at once by a write in this
process; other processes see a change within the TTL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

TTL_SECONDS = 2.0
_ALL: list[Snapshot[object]] = []


class Snapshot(Generic[T]):
    def __init__(self, load: Callable[[], T], ttl: float = TTL_SECONDS) -> None:
        self._load = load
        self._ttl = ttl
        self._value: tuple[float, T] | None = None
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self) -> T:
        cached = self._value
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with self._lock:
            value = self._load()
            self._value = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        self._value = None


def snapshots_forget() -> None:
    """Clear every snapshot (tests, after a restore)."""
    for snapshot in _ALL:
        snapshot.forget()
