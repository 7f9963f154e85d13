"""Data for the browser tests, made in the test thread through the API (as an integrator would)
and the domain services; the live server reads the same database."""

from __future__ import annotations

from typing import Any

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
from colis.accounts.services import token_create
from colis.core.cache import snapshots_forget
from colis.core.outbox import outbox_pump
from colis.inventory.services import inventory_adjust
from colis.shipping.models import Carrier
from colis.shipping.seed import carriers_apply
from tests.conftest import ApiClient
from tests.factories import ACTOR, LocationFactory, ProductFactory, UserFactory, order_body

ORDERS = "/api/v1/orders"
SKUS = ("BAR-A", "BAR-B")


class Shop:
    """A default location with two stocked SKUs and an owner's API client."""

    def __init__(self) -> None:
        # A transactional test starts from empty tables: the carriers the migrations seed too.
        if carriers_apply(Carrier):
            snapshots_forget()
        self.location = LocationFactory(name="Paris WH", is_default=True, priority=1)
        for sku in SKUS:
            product = ProductFactory(sku=sku, title=f"Bar {sku[-1]}")
            inventory_adjust(product_id=product.pk, location_id=self.location.pk,
                             reason="received", delta=500, actor=ACTOR)  # fmt: skip
        user = UserFactory(role="owner", email="integrator@example.com")
        self.api = ApiClient(token_create(user=user, actor=ACTOR).raw)

    def order(self, lines: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
        response = self.api.post(ORDERS, order_body(lines, **extra))
        assert response.status_code == 201, response.content
        return response.json()

    def orders(self, count: int, lines: list[tuple[str, int]] | None = None) -> list[dict]:
        """`count` orders through the bulk endpoint ({"id", "number"} each), oldest first."""
        body = {"orders": [order_body(lines or [("BAR-A", 1)]) for _ in range(count)]}
        response = self.api.post(f"{ORDERS}/bulk", body)
        assert response.status_code in (200, 201, 207), response.content
        results = response.json()["results"]
        return [r["order"] for r in results]

    def ship(self, order_id: int, tracking: str, **extra: Any) -> dict[str, Any]:
        body = {"carrier": "ups", "tracking_numbers": [tracking], **extra}
        response = self.api.post(f"{ORDERS}/{order_id}/shipments", body)
        assert response.status_code == 201, response.content
        return response.json()


def outbox_deliver() -> int:
    """Deliver everything waiting in the outbox (emails to the SMTP capture, ...)."""
    total = 0
    while done := outbox_pump(worker_id="t"):
        total += done
    return total
