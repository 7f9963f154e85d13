from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from colis.accounts.models import User
from colis.accounts.services import token_create
from colis.catalog.models import Product
from colis.inventory.services import inventory_adjust
from colis.locations.models import Location
from tests.factories import ACTOR, LocationFactory, ProductFactory, UserFactory


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self._headers(None))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            path,
            body if body is not None else {},
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            path, body, content_type="application/json", headers=self._headers(None)
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self._headers(None))


@pytest.fixture
def make_api(db: None) -> Callable[[str], ApiClient]:
    def make(role: str = "owner") -> ApiClient:
        user = UserFactory(role=role)
        return ApiClient(token_create(user=user, actor=ACTOR).raw)

    return make


@pytest.fixture
def api(make_api: Callable[[str], ApiClient]) -> ApiClient:
    return make_api("owner")


@pytest.fixture
def anon(db: None) -> ApiClient:
    return ApiClient(None)


@pytest.fixture
def location(db: None) -> Location:
    return LocationFactory(is_default=True)


@pytest.fixture
def stocked(location: Location) -> Callable[..., Product]:
    """A product with `qty` on hand at the default location."""

    def make(sku: str | None = None, qty: int = 50, at: Location | None = None) -> Product:
        product = ProductFactory(**({"sku": sku} if sku else {}))
        inventory_adjust(
            product_id=product.pk,
            location_id=(at or location).pk,
            reason="received",
            delta=qty,
            actor=ACTOR,
        )
        return product

    return make


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory(role="owner")


@pytest.fixture
def shop(stocked: Callable[..., Product]) -> None:
    """Two stocked SKUs, BAR-A and BAR-B, at the default location."""
    stocked("BAR-A")
    stocked("BAR-B")


def order_counts() -> tuple[int, int, int]:
    """(orders, order lines, timeline events): what a refused order must leave unchanged."""
    from colis.core.models import Event
    from colis.orders.models import Order, OrderLine

    return Order.objects.count(), OrderLine.objects.count(), Event.objects.count()


@pytest.fixture(autouse=True)
def _process_caches_cleared() -> None:
    """Per-process snapshots (shop settings, carrier registry, status labels) start empty in
    every test, since each test's data is rolled back under them."""
    from colis.core.cache import snapshots_forget

    snapshots_forget()
