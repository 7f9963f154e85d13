from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import CATALOG_WRITE, READ
from colis.api.auth import require
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page
from colis.catalog.models import Product
from colis.catalog.selectors import product_get, product_list
from colis.catalog.services import UNSET, ProductData, product_create, product_update

router = Router(tags=["products"])


class Dimensions(Schema):
    length: int | None = Field(None, ge=0, le=100_000)
    width: int | None = Field(None, ge=0, le=100_000)
    height: int | None = Field(None, ge=0, le=100_000)


class ProductIn(Schema):
    sku: str = Field(max_length=100)
    title: str = Field(max_length=255)
    barcode: str = Field("", max_length=64)
    weight_grams: int | None = Field(None, ge=0, le=10_000_000)
    weight: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=3)
    weight_unit: Literal["g", "kg", "oz", "lb"] = "g"
    dimensions_mm: Dimensions | None = None
    hs_code: str = Field("", max_length=16)
    country_of_origin: str = Field("", max_length=2)
    active: bool = True


class ProductPatch(Schema):
    sku: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=255)
    barcode: str | None = Field(None, max_length=64)
    weight_grams: int | None = Field(None, ge=0, le=10_000_000)
    weight: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=3)
    weight_unit: Literal["g", "kg", "oz", "lb"] | None = None
    dimensions_mm: Dimensions | None = None
    hs_code: str | None = Field(None, max_length=16)
    country_of_origin: str | None = Field(None, max_length=2)
    active: bool | None = None


def _data(body: Schema, *, partial: bool) -> ProductData:
    given = body.model_dump(exclude_unset=partial)
    values: dict[str, Any] = {}
    for name in ("sku", "title", "barcode", "hs_code", "country_of_origin", "active"):
        if name in given and given[name] is not None:
            values[name] = given[name]
    if given.get("weight_grams") is not None:
        values["weight"], values["weight_unit"] = Decimal(given["weight_grams"]), "g"
    elif given.get("weight") is not None:
        values["weight"] = given["weight"]
        values["weight_unit"] = given.get("weight_unit") or "g"
    dims = given.get("dimensions_mm")
    if dims:
        for axis in ("length", "width", "height"):
            if axis in dims:
                values[f"{axis}_mm"] = dims[axis]
    return ProductData(**{k: values.get(k, UNSET) for k in values})


def product_out(p: Product) -> dict[str, Any]:
    return {
        "id": p.pk,
        "sku": p.sku,
        "title": p.title,
        "barcode": p.barcode,
        "weight_grams": p.weight_grams,
        "weight": format(Decimal(p.weight).normalize(), "f") if p.weight is not None else None,
        "weight_unit": p.weight_unit,
        "dimensions_mm": {"length": p.length_mm, "width": p.width_mm, "height": p.height_mm},
        "hs_code": p.hs_code,
        "country_of_origin": p.country_of_origin,
        "active": p.active,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


@router.get("", summary="List products (cursor pagination)")
def products_list(
    request: HttpRequest,
    q: str = "",
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    qs = product_list(q=q, active=active).order_by("pk")
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__gt=after)
    return page(list(qs[: limit + 1]), limit, product_out)


@router.post("", response=CREATED, summary="Create a product")
def products_create(request: HttpRequest, body: ProductIn) -> Any:
    who = require(request, CATALOG_WRITE)
    return Status(201, product_out(product_create(data=_data(body, partial=False), actor=who)))


@router.get("/{product_id}", summary="Read a product")
def products_read(request: HttpRequest, product_id: Id) -> Any:
    require(request, READ)
    return product_out(product_get(product_id=product_id))


@router.patch("/{product_id}", summary="Change some fields of a product")
def products_update(request: HttpRequest, product_id: Id, body: ProductPatch) -> Any:
    who = require(request, CATALOG_WRITE)
    return product_out(
        product_update(product_id=product_id, data=_data(body, partial=True), actor=who)
    )
