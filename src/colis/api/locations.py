from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel, Field

from colis.accounts.roles import LOCATIONS_WRITE, READ
from colis.api.auth import require
from colis.api.pagination import CREATED, NO_CONTENT, Id, check_limit, cursor_decode, page
from colis.locations.models import Location
from colis.locations.selectors import location_get, location_list
from colis.locations.services import (
    UNSET,
    LocationData,
    location_create,
    location_delete,
    location_reorder,
    location_update,
)

router = Router(tags=["locations"])


class AddressIn(BaseModel):
    name: str = Field("", max_length=255)
    company: str = Field("", max_length=255)
    line1: str = Field("", max_length=255)
    line2: str = Field("", max_length=255)
    city: str = Field("", max_length=255)
    region: str = Field("", max_length=255)
    postal_code: str = Field("", max_length=32)
    country: str = Field("", max_length=2)
    phone: str = Field("", max_length=40)


class LocationIn(Schema):
    name: str = Field(max_length=200)
    address: AddressIn
    phone: str = Field("", max_length=40)
    fulfills_online_orders: bool = True
    active: bool = True
    is_default: bool = False
    allow_negative_stock: bool = False


class LocationPatch(Schema):
    name: str | None = Field(None, max_length=200)
    address: AddressIn | None = None
    phone: str | None = Field(None, max_length=40)
    fulfills_online_orders: bool | None = None
    active: bool | None = None
    is_default: bool | None = None
    allow_negative_stock: bool | None = None


class PriorityIn(Schema):
    location_ids: list[Id] = Field(max_length=10_000)


def location_out(loc: Location) -> dict[str, Any]:
    return {
        "id": loc.pk,
        "name": loc.name,
        "address": loc.address,
        "phone": loc.phone,
        "fulfills_online_orders": loc.fulfills_online_orders,
        "active": loc.active,
        "is_default": loc.is_default,
        "priority": loc.priority,
        "allow_negative_stock": loc.allow_negative_stock,
    }


def _data(body: Schema, *, partial: bool) -> LocationData:
    given = body.model_dump(exclude_unset=partial)
    return LocationData(**{k: (v if v is not None else UNSET) for k, v in given.items()})


@router.get("", summary="List locations by priority")
def locations_list(
    request: HttpRequest, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    rows = list(location_list(active=active))
    if (after := cursor_decode(cursor)) is not None:
        ids = [r.pk for r in rows]
        rows = rows[ids.index(after) + 1 :] if after in ids else []
    return page(rows[: limit + 1], limit, location_out)


@router.post(
    "", response=CREATED, summary="Create a location (it goes to the bottom of the priority list)"
)
def locations_create(request: HttpRequest, body: LocationIn) -> Any:
    who = require(request, LOCATIONS_WRITE)
    return Status(201, location_out(location_create(data=_data(body, partial=False), actor=who)))


@router.post("/priority", summary="Reorder every location's priority at once")
def locations_priority(request: HttpRequest, body: PriorityIn) -> Any:
    who = require(request, LOCATIONS_WRITE)
    locations = location_reorder(location_ids=body.location_ids, actor=who)
    return {"items": [location_out(loc) for loc in locations], "next_cursor": None}


@router.get("/{location_id}", summary="Read a location")
def locations_read(request: HttpRequest, location_id: Id) -> Any:
    require(request, READ)
    return location_out(location_get(location_id=location_id))


@router.patch("/{location_id}", summary="Change a location (deactivate with active=false)")
def locations_update(request: HttpRequest, location_id: Id, body: LocationPatch) -> Any:
    who = require(request, LOCATIONS_WRITE)
    return location_out(
        location_update(location_id=location_id, data=_data(body, partial=True), actor=who)
    )


@router.delete(
    "/{location_id}",
    response=NO_CONTENT,
    summary="Delete a location with no stock and no open work",
)
def locations_delete(request: HttpRequest, location_id: Id) -> Any:
    who = require(request, LOCATIONS_WRITE)
    location_delete(location_id=location_id, actor=who)
    return Status(204, None)
