from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.pagination import CREATED, check_limit, cursor_decode, page
from colis.core.errors import NotFound, ValidationError
from colis.shipping.models import Carrier
from colis.shipping.resolve import carriers_for, tracking_url_for
from colis.shipping.selectors import (
    carrier_find,
    carrier_get_by_code,
    carrier_has_formats,
    carrier_list,
)
from colis.shipping.services import UNSET, CarrierData, carrier_create, carrier_update
from colis.shipping.tracking import tracking_check, tracking_data, tracking_matches

router = Router(tags=["carriers"])


class CarrierIn(Schema):
    code: str = Field(max_length=50)
    name: str = Field(max_length=100)
    tracking_url_template: str = Field("", max_length=500)
    data_courier_codes: list[str] = Field(default_factory=list, max_length=20)
    channel_codes: dict[str, str] = Field(default_factory=dict, max_length=10)
    active: bool = True


class CarrierPatch(Schema):
    code: str | None = Field(None, max_length=50)
    name: str | None = Field(None, max_length=100)
    tracking_url_template: str | None = Field(None, max_length=500)
    data_courier_codes: list[str] | None = Field(None, max_length=20)
    channel_codes: dict[str, str] | None = Field(None, max_length=10)
    active: bool | None = None


def carrier_out(carrier: Carrier) -> dict[str, Any]:
    return {
        "code": carrier.code,
        "name": carrier.name,
        "tracking_url_template": carrier.tracking_url_template,
        "channel_codes": carrier.channel_codes,
        "active": carrier.active,
        "has_formats": carrier_has_formats(carrier),
        "data_courier_codes": carrier.data_courier_codes,
    }


def _data(body: Schema, *, partial: bool) -> CarrierData:
    given = body.model_dump(exclude_unset=partial)
    return CarrierData(**{k: (v if v is not None else UNSET) for k, v in given.items()})


@router.get("", summary="List carriers by name")
def carriers_list(
    request: HttpRequest, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    rows = list(carrier_list(active=active))
    if (after := cursor_decode(cursor)) is not None:
        ids = [r.pk for r in rows]
        rows = rows[ids.index(after) + 1 :] if after in ids else []
    return page(rows[: limit + 1], limit, carrier_out)


@router.post("", response=CREATED, summary="Add a carrier")
def carriers_create(request: HttpRequest, body: CarrierIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    return Status(201, carrier_out(carrier_create(data=_data(body, partial=False), actor=who)))


@router.get("/detect", summary="Tell the carrier from a tracking number")
def carriers_detect(
    request: HttpRequest,
    number: str = Query(..., min_length=1, max_length=100),
    carrier: str | None = Query(None, max_length=100),
) -> Any:
    """Without `carrier`: the registry carrier the number fits (null when none, or several).
    With `carrier`: whether the number fits that carrier's formats. `valid` is true when no
    format data is installed, or the carrier has no formats in it."""
    require(request, READ)
    if not number.strip():
        raise ValidationError(
            "A tracking number is required.", code="invalid", fields={"number": "Blank."}
        )
    matches = tracking_matches(number)
    if carrier:
        found = carrier_find(value=carrier)
        if found is None:
            raise NotFound(
                f"No carrier has the code or name {carrier!r}.", code="carrier_not_found"
            )
        valid = tracking_check(number, found.code) is not False
        candidates = [found]
    else:
        candidates = carriers_for(matches)
        valid = bool(matches) or not tracking_data().available
    chosen = candidates[0] if len(candidates) == 1 else None
    url = tracking_url_for(chosen, number) if chosen else None
    return {
        "carrier": chosen.code if chosen else None,
        "valid": valid,
        "tracking_url": url or (matches[0].tracking_url if matches else None),
        "candidates": [c.code for c in candidates],
        "courier": matches[0].courier_code if matches else None,
        "format": matches[0].tracking_name if matches else None,
    }


@router.get("/{code}", summary="Read a carrier")
def carriers_read(request: HttpRequest, code: str) -> Any:
    require(request, READ)
    return carrier_out(carrier_get_by_code(code=code))


@router.patch("/{code}", summary="Change a carrier (its code stays)")
def carriers_update(request: HttpRequest, code: str, body: CarrierPatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    return carrier_out(carrier_update(code=code, data=_data(body, partial=True), actor=who))
