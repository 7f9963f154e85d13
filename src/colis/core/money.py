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


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def money_format(amount: Decimal | None, currency: str, locale: str = "en") -> str:
    """An amount for people to read: "€12.50" in English, "12,50 €" in French; two decimals
    (none for JPY), the code when there is no common symbol."""
    if amount is None:
        return ""
    places = 0 if currency == "JPY" else 2
    text = f"{amount:,.{places}f}"
    symbol = _SYMBOLS.get(currency)
    if locale == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
        return f"{text}\u00a0{symbol or currency}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
