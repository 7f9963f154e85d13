"""Fulfill items: ship some or all of one fulfillment order (quantities, package, carrier,
tracking numbers), with a scan-to-verify mode, and the carrier told from a typed number."""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from colis.accounts.roles import ORDERS_WRITE
from colis.catalog.selectors import product_barcodes
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.fulfillment.services import LinePick
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.locations.selectors import location_list
from colis.orders.models import Order
from colis.orders.selectors import order_get
from colis.shipping.detection import carrier_detect
from colis.shipping.selectors import carrier_list, package_list
from colis.web.access import ui_view
from colis.web.views.order_page.forms import FormError, form_error, int_or_none
from colis.web.views.order_page.page import _fo_views

PACKAGE_FIELDS = ("length_mm", "width_mm", "height_mm", "weight_grams")
# Fields whose error shows next to them; any other shows at the top of the form.
SHOWN = frozenset({*PACKAGE_FIELDS, "preset", "tracking_numbers", "carrier", "service", "notes"})
_SPLIT = re.compile(r"[\s,;]+")


def _load(order_id: int, fo_id: int) -> tuple[Order, Any]:
    try:
        order = order_get(order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    titles = {ln.pk: ln.title for ln in order.lines.all()}
    for view in _fo_views(order, titles):
        if view.fo.pk == fo_id:
            return order, view
    raise Http404("No such fulfillment order on this order.")


def _numbers(raw: str) -> list[str]:
    return [n for n in _SPLIT.split(raw or "") if n]


def _page(
    request: HttpRequest,
    order_id: int,
    fo_id: int,
    error: FormError | None = None,
    status: int = 200,
) -> HttpResponse:
    order, view = _load(order_id, fo_id)
    posted = request.POST if request.method == "POST" else None
    barcodes = product_barcodes(product_ids=[ln.product_id for ln in view.fo.lines.all()])
    product_of = {ln.pk: ln.product_id for ln in view.fo.lines.all()}
    rows = []
    for line in view.lines:
        if not line["remaining"]:
            continue
        key = f"qty_{line['id']}"
        rows.append(
            {
                **line,
                "key": key,
                "value": posted.get(key, "") if posted is not None else line["remaining"],
                "barcode": barcodes.get(product_of[line["id"]], ""),
                "error": error.fields.get(key, "") if error else "",
            }
        )
    location = next((loc for loc in location_list() if loc.pk == view.fo.location_id), None)
    values: dict[str, Any] = {"notify_customer": True}
    if posted is not None:
        values = {
            k: posted.get(k, "")
            for k in ("preset", "carrier", "service", "tracking_numbers", "notes", *PACKAGE_FIELDS)
        }
        values["notify_customer"] = posted.get("notify_customer") == "on"
        values["print_after"] = posted.get("print_after") == "on"
        values["force"] = posted.get("force") == "on"
    return render(
        request,
        "app/order/fulfill.html",
        {
            "order": order,
            "view": view,
            "fo": view.fo,
            "location": location,
            "rows": rows,
            "carriers": list(carrier_list(active=True)),
            "presets": list(package_list(active=True)),
            "values": values,
            "error": error,
            "offer_force": bool(error and error.code == "invalid_tracking_number"),
            "other_errors": [
                text
                for key, text in (error.fields.items() if error else [])
                if key not in SHOWN and not key.startswith("qty_")
            ],
        },
        status=error.status if error else status,
    )


def _draft(request: HttpRequest, fo_id: int, rows: list[dict[str, Any]]) -> ShipmentDraft:
    """The shipment as the form describes it. Raises ValidationError for what the form itself
    can tell is wrong (not a whole number, nothing chosen)."""
    post = request.POST
    bad: dict[str, str] = {}
    picks: list[LinePick] = []
    for row in rows:
        raw = post.get(row["key"], "").strip() or "0"
        qty = int_or_none(raw)
        if qty is None:
            bad[row["key"]] = _("A whole number.")
        elif qty:
            picks.append(LinePick(line_id=row["line_id"], quantity=qty))
    package: dict[str, Any] = {}
    if post.get("preset", "").strip():
        package["preset"] = post["preset"].strip()
    for name in PACKAGE_FIELDS:
        raw = post.get(name, "").strip()
        if raw:
            value = int_or_none(raw)
            if value is None:
                bad[name] = _("A whole number.")
            else:
                package[name] = value
    if bad:
        raise ValidationError(_("Some values are not whole numbers."), code="invalid", fields=bad)
    if not picks:
        raise ValidationError(
            _("Choose at least one item to ship."),
            code="invalid_lines",
            fields={rows[0]["key"]: _("Nothing chosen.")} if rows else {},
        )
    return ShipmentDraft(
        fulfillment_order_id=fo_id,
        lines=picks,
        carrier=post.get("carrier", "").strip() or None,
        service=post.get("service", "").strip()[:100],
        tracking_numbers=_numbers(post.get("tracking_numbers", "")),
        package=package,
        notes=post.get("notes", ""),
        notify_customer=post.get("notify_customer") == "on",
        force=post.get("force") == "on",
    )


def _error(exc: DomainError, rows: list[dict[str, Any]]) -> FormError:
    rename = {f"lines[{i}].quantity": row["key"] for i, row in enumerate(
        r for r in rows if (int_or_none(r.get("posted") or "0") or 0) > 0)}  # fmt: skip
    error = form_error("ship", exc, strip=("package.",), rename=rename)
    fields: dict[str, str] = {}
    for key, text in error.fields.items():
        key = "tracking_numbers" if key.startswith("tracking_numbers") else key
        key = "carrier" if key == "carrier_name" else key
        fields[key] = f"{fields[key]} {text}" if key in fields else text
    return FormError(
        form="ship", code=error.code, message=error.message, fields=fields, status=error.status
    )


@ui_view(write=ORDERS_WRITE)
def fulfill(request: HttpRequest, order_id: int, fo_id: int) -> HttpResponse:
    if request.method != "POST":
        return _page(request, order_id, fo_id)
    _, view = _load(order_id, fo_id)
    rows = [
        {"key": f"qty_{ln['id']}", "line_id": ln["line_id"],
         "posted": request.POST.get(f"qty_{ln['id']}", "").strip()}
        for ln in view.lines if ln["remaining"]
    ]  # fmt: skip
    try:
        draft = _draft(request, fo_id, rows)
        shipment_create(order_id=order_id, draft=draft, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return _page(request, order_id, fo_id, _error(exc, rows))
    extra = "&print=1" if request.POST.get("print_after") == "on" else ""
    return HttpResponseRedirect(f"/app/orders/{order_id}/?done=shipped{extra}")


@ui_view()
def detect(request: HttpRequest) -> HttpResponse:
    """A fragment naming the carrier the first typed tracking number belongs to."""
    numbers = _numbers(request.GET.get("tracking_numbers", "") or request.GET.get("number", ""))
    found = carrier_detect(number=numbers[0]) if numbers else None
    return render(request, "app/order/_detected.html", {"found": found})
