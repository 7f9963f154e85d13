"""Settings: products with their stock per location; adjust or count one product's stock."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import INVENTORY_WRITE
from colis.catalog.models import Product, sku_key
from colis.catalog.selectors import product_get, product_list
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.inventory.models import ADJUSTMENT_REASONS
from colis.inventory.selectors import LevelTotals, level_totals, product_levels
from colis.inventory.services import inventory_adjust
from colis.locations.selectors import location_list
from colis.web.access import ui_view
from colis.web.views.settings.common import done, integer, page, refused, text

PAGE_SIZE = 50
LIST = "app/settings/products.html"
DETAIL = "app/settings/product.html"
REASON_NAMES = {
    "correction": _("Correction"),
    "cycle_count": _("Cycle count"),
    "damaged": _("Damaged"),
    "lost": _("Lost"),
    "received": _("Received"),
    "returned": _("Returned"),
}
EMPTY = LevelTotals()


@ui_view()
def products_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    after = request.GET.get("after", "")[:100]
    locations = list(location_list())
    location_id = integer(request.GET.get("location"))
    if location_id is not None and location_id not in {loc.pk for loc in locations}:
        location_id = None
    qs = product_list(q=q).order_by("sku_key")
    if after:
        qs = qs.filter(sku_key__gt=sku_key(after))
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    totals = level_totals(product_ids=[p.pk for p in rows], location_id=location_id)
    params = {k: v for k, v in (("q", q), ("location", location_id or "")) if v}
    next_url = f"?{urlencode({**params, 'after': rows[-1].sku_key})}" if more and rows else ""
    return page(
        request,
        LIST,
        {
            "section": "products",
            "q": q,
            "locations": locations,
            "location_id": location_id,
            "products": [(p, totals.get(p.pk, EMPTY)) for p in rows],
            "next_url": next_url,
            "first_url": f"?{urlencode(params)}" if after else "",
        },
    )


def _product(product_id: int) -> Product:
    try:
        return product_get(product_id=product_id)
    except NotFound:
        raise Http404 from None


def _detail(product: Product, **extra: Any) -> dict[str, Any]:
    locations = list(location_list())
    levels = product_levels(product_id=product.pk)
    return {
        "section": "products",
        "product": product,
        "levels": [(loc, levels.get(loc.pk)) for loc in locations],
        "locations": [loc for loc in locations if loc.active],
        "reasons": [(r, REASON_NAMES.get(r, r)) for r in ADJUSTMENT_REASONS],
        "adjust": {"reason": "correction", "mode": "delta"},
        **extra,
    }


@ui_view(write=INVENTORY_WRITE)
def product_view(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product(product_id)
    if request.method == "GET":
        return page(request, DETAIL, _detail(product))
    form = {
        "location_id": integer(request.POST.get("location_id")),
        "reason": text(request, "reason", 30),
        "mode": "count" if request.POST.get("mode") == "count" else "delta",
        "quantity": text(request, "quantity", 20).strip(),
        "note": text(request, "note", 500),
    }
    quantity = integer(form["quantity"])
    try:
        if quantity is None:
            raise ValidationError(
                "Type a whole number.", code="invalid_adjustment",
                fields={"quantity": "A whole number is required."},
            )  # fmt: skip
        if form["location_id"] is None:
            raise ValidationError(
                "Choose a location.", code="invalid_adjustment",
                fields={"location_id": "Required."},
            )  # fmt: skip
        inventory_adjust(
            product_id=product.pk,
            location_id=form["location_id"],
            reason=form["reason"],
            delta=quantity if form["mode"] == "delta" else None,
            set_on_hand=quantity if form["mode"] == "count" else None,
            note=form["note"],
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, DETAIL, _detail(product, adjust=form), exc)
    return done(f"/app/settings/products/{product.pk}/", "adjusted")


urlpatterns = [
    path("products/", products_view, name="settings-products"),
    path("products/<int:product_id>/", product_view, name="settings-product"),
]
