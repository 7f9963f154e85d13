"""Listeners told, after a commit, that stock arrived at some levels (received, counted up,
returned, put back). Fulfillment routes its backorders from here; inventory does not import it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

logger = logging.getLogger(__name__)

Listener = Callable[[set[int]], None]
_LISTENERS: list[Listener] = []


def stock_arrival_listen(listener: Listener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def stock_arrived(product_ids: Iterable[int]) -> None:
    """Tell the listeners once the current transaction commits (at once outside one).

    A listener that fails is logged, not raised: the stock change itself is done, and the
    worker's housekeeping routes backorders again later.
    """
    ids = set(product_ids)
    if not ids:
        return

    def notify() -> None:
        for listener in _LISTENERS:
            try:
                listener(ids)
            except Exception:
                logger.exception("stock arrival listener %s failed", listener)

    transaction.on_commit(notify)
