"""Currencies (ISO 4217) and amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

import pycountry

MAX_AMOUNT = Decimal("9999999999.9999")


@cache
def currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)


def is_currency(code: str) -> bool:
    return code in currency_codes()


def parse_amount(value: object) -> Decimal | None:
    """A non-negative amount with at most four decimals, else None."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        return None
    return amount
