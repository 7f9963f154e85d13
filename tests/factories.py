"""Factories for the domain: real rows through the real services where rules apply."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from colis.accounts.models import User
from colis.catalog.models import Product, sku_key
from colis.core.actor import Actor
from colis.locations.models import Location

ACTOR = Actor.system("tests")

ADDRESS_FR: dict[str, str] = {
    "name": "Jeanne Martin",
    "company": "",
    "line1": "12 rue de la Paix",
    "line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75002",
    "country": "FR",
    "phone": "+33 1 42 68 53 00",
}
ADDRESS_US: dict[str, str] = {
    "name": "Sam Carter",
    "company": "",
    "line1": "350 5th Ave",
    "line2": "",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "+1 212-736-3100",
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = "owner"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    sku_key = factory.LazyAttribute(lambda o: sku_key(o.sku))
    title = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    weight = Decimal("250")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Warehouse {n}")
    address = factory.LazyFunction(lambda: dict(ADDRESS_FR, phone=""))
    priority = factory.Sequence(lambda n: n + 1)


def order_body(lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    """The JSON of one order, as an integrator sends it."""
    body: dict[str, Any] = {
        "email": "buyer@example.com",
        "shipping_address": ADDRESS_FR,
        "currency": "EUR",
        "financial_status": "paid",
        "lines": [{"sku": sku, "quantity": q, "unit_price": "12.50"} for sku, q in lines],
    }
    body.update(extra)
    return body
