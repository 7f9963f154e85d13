"""Settings: supplier deliveries (expect, then receive) and transfers between locations."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _

from colis.accounts.roles import INVENTORY_WRITE
from colis.catalog.models import sku_key
from colis.catalog.selectors import product_refs_by_skus
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.inventory.receiving import (
    ProductQuantity,
    receipt_cancel,
    receipt_create,
    receipt_receive,
    transfer_cancel,
    transfer_create,
    transfer_receive,
)
from colis.inventory.selectors import receipt_get, receipt_list, transfer_list
from colis.locations.selectors import location_list
from colis.web.access import ui_view
from colis.web.views.settings.common import done, integer, page, refused, text

RECEIPTS = "/app/settings/inventory/receipts/"
TRANSFERS = "/app/settings/inventory/transfers/"
MAX_LINES = 500


def lines_parse(raw: str) -> list[ProductQuantity]:
    """Lines typed as "SKU quantity" (or "SKU, quantity"), one a line. Raises ValidationError
    naming every bad line under `lines`."""
    wanted: list[tuple[int, str, int | None]] = []
    for n, line in enumerate(raw.splitlines()[: MAX_LINES + 1], start=1):
        if not line.strip():
            continue
        parts = [p for p in re.split(r"[,;\t ]+", line.strip()) if p]
        quantity = integer(parts[-1]) if len(parts) > 1 else None
        wanted.append((n, " ".join(parts[:-1]) if len(parts) > 1 else parts[0], quantity))
    problems = []
    if len(wanted) > MAX_LINES:
        problems.append(_("At most %(n)s lines.") % {"n": MAX_LINES})
    products = product_refs_by_skus(sku for _, sku, _ in wanted)
    out = []
    for n, sku, quantity in wanted:
        product = products.get(sku_key(sku))
        if product is None:
            problems.append(_("Line %(n)s: unknown SKU %(sku)s.") % {"n": n, "sku": sku})
        elif quantity is None or quantity <= 0:
            problems.append(_("Line %(n)s: a positive quantity after the SKU.") % {"n": n})
        else:
            out.append(ProductQuantity(product_id=product.pk, quantity=quantity))
    if not wanted:
        problems.append(_("At least one line."))
    if problems:
        raise ValidationError(
            _("Some lines are not valid."),
            code="invalid_lines",
            fields={"lines": " ".join(problems)},
        )
    return out


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        raise ValidationError(
            _("The date is not valid."),
            code="invalid_date",
            fields={"expected_at": "YYYY-MM-DD"},
        ) from None


def _receipts(**extra: Any) -> dict[str, Any]:
    return {
        "section": "products",
        "receipts": [
            (r, [(ln, max(0, ln.expected - ln.received)) for ln in r.lines.all()])
            for r in receipt_list()
        ],
        "locations": [loc for loc in location_list() if loc.active],
        "form": {},
        **extra,
    }


@ui_view(write=INVENTORY_WRITE)
def receipts_view(request: HttpRequest) -> HttpResponse:
    template = "app/settings/receipts.html"
    if request.method == "GET":
        return page(request, template, _receipts())
    form = {
        "location_id": integer(request.POST.get("location_id")),
        "supplier": text(request, "supplier", 200),
        "reference": text(request, "reference", 100),
        "expected_at": text(request, "expected_at", 20),
        "lines": text(request, "lines", 50_000),
    }
    try:
        receipt_create(
            location_id=form["location_id"] or 0,
            lines=lines_parse(form["lines"]),
            supplier=form["supplier"],
            reference=form["reference"],
            expected_at=_date(form["expected_at"]),
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, template, _receipts(form=form), exc)
    return done(RECEIPTS, "receipt")


@ui_view(write=INVENTORY_WRITE)
def receipt_receive_view(request: HttpRequest, receipt_id: int) -> HttpResponse:
    """What arrived: one quantity per line of the receipt (`qty-<product id>`)."""
    if request.method != "POST":
        raise Http404
    try:
        receipt = receipt_get(receipt_id=receipt_id)
    except NotFound:
        raise Http404 from None
    lines = []
    for line in receipt.lines.all():
        quantity = integer(request.POST.get(f"qty-{line.product_id}"))
        if quantity:
            lines.append(ProductQuantity(product_id=line.product_id, quantity=quantity))
    try:
        if not lines:
            raise ValidationError(
                _("Type what arrived."),
                code="invalid_lines",
                fields={"lines": _("Nothing received.")},
            )
        receipt_receive(receipt_id=receipt.pk, lines=lines, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, "app/settings/receipts.html", _receipts(failed=receipt.pk), exc)
    return done(RECEIPTS, "received")


@ui_view(write=INVENTORY_WRITE)
def receipt_cancel_view(request: HttpRequest, receipt_id: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    try:
        receipt_cancel(receipt_id=receipt_id, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, "app/settings/receipts.html", _receipts(), exc)
    return done(RECEIPTS, "cancelled")


def _transfers(**extra: Any) -> dict[str, Any]:
    return {
        "section": "products",
        "transfers": transfer_list(),
        "locations": [loc for loc in location_list() if loc.active],
        "form": {},
        **extra,
    }


@ui_view(write=INVENTORY_WRITE)
def transfers_view(request: HttpRequest) -> HttpResponse:
    template = "app/settings/transfers.html"
    if request.method == "GET":
        return page(request, template, _transfers())
    form = {
        "origin_id": integer(request.POST.get("origin_id")),
        "destination_id": integer(request.POST.get("destination_id")),
        "reference": text(request, "reference", 100),
        "lines": text(request, "lines", 50_000),
    }
    try:
        transfer_create(
            origin_id=form["origin_id"] or 0,
            destination_id=form["destination_id"] or 0,
            lines=lines_parse(form["lines"]),
            reference=form["reference"],
            actor=request.actor,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return refused(request, template, _transfers(form=form), exc)
    return done(TRANSFERS, "transfer")


def _transfer_close(request: HttpRequest, transfer_id: int, *, receive: bool) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    close = transfer_receive if receive else transfer_cancel
    try:
        close(transfer_id=transfer_id, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return refused(request, "app/settings/transfers.html", _transfers(), exc)
    return done(TRANSFERS, "received" if receive else "cancelled")


@ui_view(write=INVENTORY_WRITE)
def transfer_receive_view(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _transfer_close(request, transfer_id, receive=True)


@ui_view(write=INVENTORY_WRITE)
def transfer_cancel_view(request: HttpRequest, transfer_id: int) -> HttpResponse:
    return _transfer_close(request, transfer_id, receive=False)


urlpatterns = [
    path("inventory/receipts/", receipts_view, name="settings-receipts"),
    path("inventory/receipts/<int:receipt_id>/receive/", receipt_receive_view),
    path("inventory/receipts/<int:receipt_id>/cancel/", receipt_cancel_view),
    path("inventory/transfers/", transfers_view, name="settings-transfers"),
    path("inventory/transfers/<int:transfer_id>/receive/", transfer_receive_view),
    path("inventory/transfers/<int:transfer_id>/cancel/", transfer_cancel_view),
]
