"""Reads of fulfillment services, and the check of their scoped tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from colis.accounts.services import token_hash
from colis.core.actor import Actor
from colis.core.errors import NotFound
from colis.core.sql import fetch_all
from colis.partners.models import FulfillmentService, ServiceToken

SERVICE_TOKEN_PREFIX = "colis_svc_"
SERVICE_ROLE = "service"


def service_location_id(*, service_id: int | None) -> int:
    location_id = (
        FulfillmentService.objects.filter(pk=service_id)
        .values_list("location_id", flat=True)
        .first()
    )
    if location_id is None:
        raise NotFound("No such fulfillment service.", code="service_not_found")
    return location_id


def service_get(*, service_id: int) -> FulfillmentService:
    service = FulfillmentService.objects.select_related("location").filter(pk=service_id).first()
    if service is None:
        raise NotFound("No such fulfillment service.", code="service_not_found")
    return service


def service_list() -> QuerySet[FulfillmentService]:
    return FulfillmentService.objects.select_related("location").order_by("pk")


def service_token_authenticate(raw: str) -> Actor | None:
    """The service behind a live scoped token, as an Actor of kind "service", or None."""
    if not raw.startswith(SERVICE_TOKEN_PREFIX):
        return None
    rows = fetch_all(
        f"SELECT s.id, s.name FROM {ServiceToken._meta.db_table} t "
        f"JOIN {FulfillmentService._meta.db_table} s ON s.id = t.service_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND s.active",
        [token_hash(raw)],
    )
    if not rows:
        return None
    service_id, name = rows[0]
    return Actor(kind="service", id=service_id, label=name, role=SERVICE_ROLE)
