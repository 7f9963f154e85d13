from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page
from colis.shipping.models import PackagePreset
from colis.shipping.selectors import package_get, package_list
from colis.shipping.services import UNSET, PackageData, package_create, package_update

router = Router(tags=["packages"])


class PackageIn(Schema):
    name: str = Field(max_length=100)
    length_mm: int
    width_mm: int
    height_mm: int
    weight_grams: int = 0
    is_default: bool = False
    active: bool = True


class PackagePatch(Schema):
    name: str | None = Field(None, max_length=100)
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_grams: int | None = None
    is_default: bool | None = None
    active: bool | None = None


def package_out(preset: PackagePreset) -> dict[str, Any]:
    return {
        "id": preset.pk,
        "name": preset.name,
        "length_mm": preset.length_mm,
        "width_mm": preset.width_mm,
        "height_mm": preset.height_mm,
        "weight_grams": preset.weight_grams,
        "is_default": preset.is_default,
        "active": preset.active,
    }


def _data(body: Schema, *, partial: bool) -> PackageData:
    given = body.model_dump(exclude_unset=partial)
    return PackageData(**{k: (v if v is not None else UNSET) for k, v in given.items()})


@router.get("", summary="List package presets")
def packages_list(
    request: HttpRequest, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    rows = package_list(active=active)
    if (after := cursor_decode(cursor)) is not None:
        rows = rows.filter(pk__gt=after)
    return page(list(rows[: limit + 1]), limit, package_out)


@router.post("", response=CREATED, summary="Add a package preset")
def packages_create(request: HttpRequest, body: PackageIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    return Status(201, package_out(package_create(data=_data(body, partial=False), actor=who)))


@router.get("/{package_id}", summary="Read a package preset")
def packages_read(request: HttpRequest, package_id: Id) -> Any:
    require(request, READ)
    return package_out(package_get(package_id=package_id))


@router.patch("/{package_id}", summary="Change a package preset (is_default moves the default)")
def packages_update(request: HttpRequest, package_id: Id, body: PackagePatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    return package_out(
        package_update(package_id=package_id, data=_data(body, partial=True), actor=who)
    )
