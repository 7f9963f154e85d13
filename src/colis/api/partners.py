"""HTTP API for fulfillment services (3PLs and dropship suppliers)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.locations import AddressIn
from colis.api.pagination import CREATED, Id
from colis.partners.models import FulfillmentService
from colis.partners.selectors import service_get, service_list
from colis.partners.services import (
    UNSET,
    ServiceData,
    service_create,
    service_portal_link,
    service_token_issue,
    service_update,
)

router = Router(tags=["fulfillment services"])
Kind = Literal["3pl", "dropship"]
Notify = Literal["email", "webhook", "portal"]
OnReject = Literal["reroute", "hold"]


class ServiceIn(Schema):
    name: str = Field(max_length=200)
    kind: Kind
    email: str = Field("", max_length=254)
    notify_method: Notify = "email"
    webhook_url: str = Field("", max_length=500)
    webhook_allow_private: bool = False
    manages_own_stock: bool = True
    on_reject: OnReject = "reroute"
    address: AddressIn


class ServicePatch(Schema):
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    notify_method: Notify | None = None
    webhook_url: str | None = Field(None, max_length=500)
    webhook_allow_private: bool | None = None
    manages_own_stock: bool | None = None
    on_reject: OnReject | None = None
    active: bool | None = None


class PortalIn(Schema):
    days: int = Field(30, ge=1, le=365)


def service_out(service: FulfillmentService) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "kind": service.kind,
        "email": service.email,
        "notify_method": service.notify_method,
        "webhook_url": service.webhook_url,
        "webhook_allow_private": service.webhook_allow_private,
        "manages_own_stock": service.manages_own_stock,
        "on_reject": service.on_reject,
        "location_id": service.location_id,
        "active": service.active,
        "created_at": service.created_at,
        "updated_at": service.updated_at,
    }


@router.get("", summary="List fulfillment services")
def services_list(request: HttpRequest) -> Any:
    require(request, READ)
    return {"items": [service_out(s) for s in service_list()], "next_cursor": None}


@router.post("", response=CREATED, summary="Add a 3PL or dropship supplier (with its location)")
def services_create(request: HttpRequest, response: HttpResponse, body: ServiceIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    data = ServiceData(**body.model_dump(exclude={"address"}))
    service = service_create(data=data, address=body.address.__dict__, actor=who)
    out = service_out(service)
    if service.webhook_secret:
        out["webhook_secret"] = service.webhook_secret
        response["Cache-Control"] = "no-store"  # a secret: also kept out of idempotency records
    return Status(201, out)


@router.get("/{service_id}", summary="Read a fulfillment service")
def services_read(request: HttpRequest, service_id: Id) -> Any:
    require(request, READ)
    return service_out(service_get(service_id=service_id))


@router.patch("/{service_id}", summary="Change a fulfillment service")
def services_update(request: HttpRequest, service_id: Id, body: ServicePatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    data = ServiceData(**{k: given.get(k, UNSET) for k in given})
    return service_out(service_update(service_id=service_id, data=data, actor=who))


@router.post("/{service_id}/tokens", response=CREATED, summary="Issue a token scoped to it")
def services_token(request: HttpRequest, response: HttpResponse, service_id: Id) -> Any:
    who = require(request, SETTINGS_WRITE)
    token, raw = service_token_issue(service_id=service_id, actor=who)
    response["Cache-Control"] = "no-store"
    return Status(201, {"id": token.pk, "prefix": token.prefix, "token": raw})


@router.post("/{service_id}/portal-link", summary="A signed, expiring link to its portal")
def services_portal(
    request: HttpRequest, response: HttpResponse, service_id: Id, body: PortalIn | None = None
) -> Any:
    require(request, SETTINGS_WRITE)
    response["Cache-Control"] = "no-store"
    return {"url": service_portal_link(service_id=service_id, days=body.days if body else 30)}
