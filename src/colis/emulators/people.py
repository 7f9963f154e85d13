"""Believable buyers, addresses and baskets for the emulators' orders: valid postal addresses in
a few countries, names with accents, prices with cents. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

FIRST = (
    "Camille",
    "Léa",
    "Hugo",
    "Émile",
    "Olivia",
    "James",
    "Noah",
    "Sofía",
    "Lukas",
    "Mia",
    "Chloé",
    "Jonas",
    "Zoë",
    "Mateo",
    "Ana",
    "Théo",
    "Grace",
    "Liam",
    "Inès",
    "Oskar",
)
LAST = (
    "Martin",
    "Bernard",
    "Müller",
    "Smith",
    "García",
    "Dubois",
    "O'Brien",
    "Schmidt",
    "Johnson",
    "Lefèvre",
    "Rossi",
    "Brown",
    "Moreau",
    "Fischer",
    "Wilson",
    "Lambert",
)

# (country, region, city, postal code, street) that pass address validation.
PLACES = (
    ("US", "CA", "San Francisco", "94107", "{n} Townsend St"),
    ("US", "NY", "New York", "10001", "{n} W 34th St"),
    ("US", "WA", "Seattle", "98101", "{n} Pine St"),
    ("US", "TX", "Austin", "78701", "{n} Congress Ave"),
    ("FR", "", "Paris", "75011", "{n} rue de la Roquette"),
    ("FR", "", "Lyon", "69002", "{n} rue de la République"),
    ("DE", "", "Berlin", "10115", "Invalidenstraße {n}"),
    ("GB", "", "London", "SW1A 1AA", "{n} Whitehall"),
    ("CA", "ON", "Toronto", "M5V 2T6", "{n} King St W"),
)
CARRIED = ("Standard", "Expedited", "Priority", "Economy")


@dataclass(frozen=True, kw_only=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    country: str
    region: str
    city: str
    postal_code: str
    line1: str
    line2: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def person(rng: random.Random, index: int) -> Person:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country, region, city, postal, street = rng.choice(PLACES)
    local = "".join(
        c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
    )
    phone = {
        "US": "+1 415 555 01{:02d}",
        "CA": "+1 416 555 01{:02d}",
        "FR": "+33 1 42 00 00 {:02d}",
        "DE": "+49 30 1234 56{:02d}",
        "GB": "+44 20 7946 00{:02d}",
    }[country].format(index % 100)
    return Person(
        first=first,
        last=last,
        email=f"{local}.{index}@example.com",
        phone=phone,
        country=country,
        region=region,
        city=city,
        postal_code=postal,
        line1=street.format(n=rng.randint(1, 180)),
        line2=rng.choice(("", "", "", f"Apt {rng.randint(1, 40)}")),
    )


def basket(rng: random.Random, skus: list[str]) -> list[tuple[str, int, Decimal]]:
    """One to three distinct SKUs with quantities and unit prices."""
    chosen = rng.sample(skus, k=min(len(skus), rng.choice((1, 1, 2, 3))))
    return [
        (sku, rng.choice((1, 1, 1, 2, 3)), Decimal(rng.randint(399, 8999)) / 100) for sku in chosen
    ]
