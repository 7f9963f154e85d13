"""Products."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry
from django.db import IntegrityError, transaction

from colis.catalog.models import Product, WeightUnit, sku_key
from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record

HS_CODE = re.compile(r"^\d{4}\.?\d{2}(\.?\d{2}){0,2}$")


@dataclass(frozen=True, kw_only=True)
class ProductData(Given):
    """Fields of a product; UNSET leaves a field as it is on update."""

    sku: str = UNSET
    title: str = UNSET
    barcode: str = UNSET
    weight: Decimal | None = UNSET
    weight_unit: str = UNSET
    length_mm: int | None = UNSET
    width_mm: int | None = UNSET
    height_mm: int | None = UNSET
    hs_code: str = UNSET
    country_of_origin: str = UNSET
    active: bool = UNSET


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out = dict(values)
    if "sku" in out:
        out["sku"] = (out["sku"] or "").strip()
        if not out["sku"]:
            errors["sku"] = "A SKU is required."
        elif len(out["sku"]) > 100 or any(c in out["sku"] for c in "\r\n\t"):
            errors["sku"] = "At most 100 characters, on one line."
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"]:
            errors["title"] = "A title is required."
    if out.get("weight_unit") not in (None, UNSET) and out["weight_unit"] not in WeightUnit.values:
        errors["weight_unit"] = f"One of {', '.join(WeightUnit.values)}."
    if out.get("weight") is not None and "weight" in out and out["weight"] < 0:
        errors["weight"] = "Must not be negative."
    for dim in ("length_mm", "width_mm", "height_mm"):
        if out.get(dim) is not None and out[dim] < 0:
            errors[f"dimensions_mm.{dim.removesuffix('_mm')}"] = "Must not be negative."
    if out.get("hs_code"):
        out["hs_code"] = out["hs_code"].strip()
        if not HS_CODE.match(out["hs_code"]):
            errors["hs_code"] = "An HS code has 6 to 10 digits (e.g. 6109.10)."
    if out.get("country_of_origin"):
        code = out["country_of_origin"].strip().upper()
        if pycountry.countries.get(alpha_2=code) is None:
            errors["country_of_origin"] = "An ISO 3166-1 alpha-2 country code is required."
        out["country_of_origin"] = code
    if errors:
        raise ValidationError("The product is not valid.", code="invalid_product", fields=errors)
    if "sku" in out:
        out["sku_key"] = sku_key(out["sku"])
    return out


def product_create(*, data: ProductData, actor: Actor) -> Product:
    """Create a product. Raises ValidationError, Conflict (`sku_taken`)."""
    values = _clean(data.given())
    if "sku" not in values or "title" not in values:
        missing = {f: "This field is required." for f in ("sku", "title") if f not in values}
        raise ValidationError("The product is not valid.", code="invalid_product", fields=missing)
    try:
        with transaction.atomic():
            product = Product.objects.create(**values)
            event_record(
                subject_type="product",
                subject_id=product.pk,
                kind="product_created",
                actor=actor,
                data={"sku": product.sku},
            )
    except IntegrityError:
        raise Conflict(
            f"SKU {values['sku']!r} exists.",
            code="sku_taken",
            fields={"sku": "Another product has this SKU."},
        ) from None
    return product


def product_update(*, product_id: int, data: ProductData, actor: Actor) -> Product:
    """Change some fields of a product. Raises NotFound, ValidationError, Conflict."""
    values = _clean(data.given())
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update().filter(pk=product_id).first()
            if product is None:
                raise NotFound("No such product.", code="product_not_found")
            changed = {k: v for k, v in values.items() if getattr(product, k) != v}
            for key, value in changed.items():
                setattr(product, key, value)
            if changed:
                product.save()
                event_record(
                    subject_type="product",
                    subject_id=product.pk,
                    kind="product_updated",
                    actor=actor,
                    data={k: str(v) for k, v in changed.items() if k != "sku_key"},
                )
    except IntegrityError:
        raise Conflict(
            f"SKU {values.get('sku')!r} exists.",
            code="sku_taken",
            fields={"sku": "Another product has this SKU."},
        ) from None
    return product
