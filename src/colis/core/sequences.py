"""Named sequences (order numbers), advanced under a row lock so no two callers share a value."""

from __future__ import annotations

from django.db import transaction

from colis.core.locks import lock_by_pk
from colis.core.models import Counter


def counter_allocate(*, name: str, count: int = 1, start: int = 1000) -> int:
    """Reserve `count` consecutive values; return the first. Call inside a transaction."""
    with transaction.atomic():
        Counter.objects.get_or_create(name=name, defaults={"value": start})
        counter = lock_by_pk(Counter.objects.all(), [name])[name]  # type: ignore[list-item]
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
    return first
