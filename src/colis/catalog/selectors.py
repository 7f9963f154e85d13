from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from colis.catalog.models import Product, sku_key
from colis.core.errors import NotFound
from colis.core.sql import fetch_all, in_list


def product_get(*, product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.", code="product_not_found")
    return product


@dataclass(frozen=True, slots=True)
class ProductRef:
    pk: int
    sku: str
    title: str


def product_refs_by_skus(skus: Iterable[str]) -> dict[str, ProductRef]:
    """(id, sku, title) by upper-cased SKU key, in one plain query (the order hot path)."""
    keys = sorted({sku_key(s) for s in skus if s})
    found: dict[str, ProductRef] = {}
    # PostgreSQL takes at most 65,535 parameters a statement.
    for start in range(0, len(keys), 10_000):
        part = keys[start : start + 10_000]
        rows = fetch_all(
            f"SELECT id, sku, title, sku_key FROM {Product._meta.db_table} "
            f"WHERE sku_key IN ({in_list(part)})",
            part,
        )
        found.update((key, ProductRef(pk, sku, title)) for pk, sku, title, key in rows)
    return found


def product_list(*, q: str = "", active: bool | None = None) -> QuerySet[Product]:
    qs = Product.objects.all()
    if q:
        qs = qs.filter(Q(sku_key=sku_key(q)) | Q(title__icontains=q) | Q(barcode=q.strip()))
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def product_barcodes(*, product_ids: Iterable[int]) -> dict[int, str]:
    """Product id -> barcode (blank when it has none), in one query."""
    return dict(Product.objects.filter(pk__in=set(product_ids)).values_list("pk", "barcode"))
