"""Check-digit algorithms named by the tracking-number data (`validation.checksum.name`).

Each function takes the serial number (spaces removed, any `prepend_if` content added), the check
character, and the checksum's parameters from the data, and says whether the check character is
the one the serial number calls for. Letters in a serial count as the data's reference
implementations count them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Checksum = Callable[[str, str, Mapping[str, Any]], bool]

_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _digit(char: str) -> int:
    """A digit's value; a letter maps to (code point - 3) mod 10, as UPS serials are counted."""
    return int(char) if char.isdigit() else (ord(char) - 3) % 10


def _check_int(check: str) -> int | None:
    return int(check) if len(check) == 1 and check.isdigit() else None


def mod10(serial: str, check: str, spec: Mapping[str, Any]) -> bool:
    """Alternate weights (`evens_multiplier` at index 0, 2, ...; `odds_multiplier` at 1, 3, ...),
    counted from the right when `reverse` is true; the check digit tops the sum up to a ten."""
    chars = serial[::-1] if spec.get("reverse") else serial
    evens = int(spec.get("evens_multiplier", 1))
    odds = int(spec.get("odds_multiplier", 1))
    total = sum(_digit(c) * (odds if i % 2 else evens) for i, c in enumerate(chars))
    return _check_int(check) == (10 - total % 10) % 10


def mod7(serial: str, check: str, spec: Mapping[str, Any]) -> bool:
    """The serial read as a number, modulo 7."""
    return serial.isdigit() and _check_int(check) == int(serial) % 7


def luhn(serial: str, check: str, spec: Mapping[str, Any]) -> bool:
    """Luhn: double every second digit from the right, starting next to the check digit."""
    if not serial.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(serial)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return _check_int(check) == (10 - total % 10) % 10


def s10(serial: str, check: str, spec: Mapping[str, Any]) -> bool:
    """UPU S10: weights 8 6 4 2 3 5 9 7, modulo 11; 11 - r, with 10 -> 0 and 11 -> 5."""
    weights = spec.get("weightings") or [8, 6, 4, 2, 3, 5, 9, 7]
    modulo = int(spec.get("modulo", 11))
    if not serial.isdigit() or len(serial) != len(weights):
        return False
    total = sum(int(c) * int(w) for c, w in zip(serial, weights, strict=True))
    expected = modulo - total % modulo
    expected = {10: 0, 11: 5}.get(expected, expected)
    return _check_int(check) == expected


def sum_product_with_weightings_and_modulo(
    serial: str, check: str, spec: Mapping[str, Any]
) -> bool:
    """Sum of digit x weight, then modulo `modulo1`, then modulo `modulo2` (FedEx)."""
    weights = [int(w) for w in spec.get("weightings") or []]
    if not serial.isdigit() or len(serial) != len(weights):
        return False
    total = sum(int(c) * w for c, w in zip(serial, weights, strict=True))
    return _check_int(check) == total % int(spec["modulo1"]) % int(spec["modulo2"])


def mod_37_36(serial: str, check: str, spec: Mapping[str, Any]) -> bool:
    """ISO/IEC 7064 MOD 37,36 (hybrid system) over the data's `alphabet` (DPD)."""
    alphabet = str(spec.get("alphabet") or _ALPHANUMERIC)
    modulo = int(spec.get("modulo", 36))
    product = modulo
    for char in serial:
        value = alphabet.find(char)
        if value < 0:
            return False
        total = (product + value) % modulo or modulo
        product = (total * 2) % (modulo + 1)
    expected = (modulo + 1 - product) % modulo
    return check == alphabet[expected]


CHECKSUMS: dict[str, Checksum] = {
    "mod10": mod10,
    "mod7": mod7,
    "luhn": luhn,
    "s10": s10,
    "sum_product_with_weightings_and_modulo": sum_product_with_weightings_and_modulo,
    "mod_37_36": mod_37_36,
}
