"""The order page: everything about one order in a fixed number of queries, and the packing
slip streamed through the documents service."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext_lazy

from colis.accounts.roles import ORDERS_WRITE, role_allows
from colis.channels.records import order_sync_records
from colis.core.addresses import ADDRESS_FIELDS
from colis.core.errors import NotFound
from colis.core.money import money_format
from colis.documents.markup import MarkupError
from colis.documents.render import packing_slips_pdf
from colis.documents.selectors import order_require
from colis.documents.templates import template_source
from colis.fulfillment.models import FulfillmentOrder, Shipment
from colis.fulfillment.status import LIVE_FO, MANUAL_HOLDS, FOStatus, HoldReason
from colis.locations.selectors import location_list
from colis.orders.models import Order
from colis.orders.selectors import order_events_latest, order_get, status_labels
from colis.orders.status import TRANSITIONS, OrderStatus
from colis.returns.selectors import return_page, returnable_lines
from colis.returns.status import ReturnReason
from colis.web.access import ui_view
from colis.web.views.order_page.forms import FormError
from colis.web.views.order_page.labels import (
    event_text,
    fo_state_label,
    fulfillment_label,
    hold_label,
    payment_label,
    reason_label,
    return_state_label,
    shipment_status_label,
)

TIMELINE_LIMIT = 200
ADDRESS_KEYS = (*ADDRESS_FIELDS, "phone")
ADDRESS_LABELS = {
    "name": gettext_lazy("Name"),
    "company": gettext_lazy("Company"),
    "line1": gettext_lazy("Address"),
    "line2": gettext_lazy("Address line 2"),
    "city": gettext_lazy("City"),
    "region": gettext_lazy("Region or state"),
    "postal_code": gettext_lazy("Postal code"),
    "country": gettext_lazy("Country (two letters, e.g. FR)"),
    "phone": gettext_lazy("Phone"),
}


@dataclass(kw_only=True, slots=True)
class FoView:
    fo: FulfillmentOrder
    lines: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    live: bool
    held: bool
    shippable: bool
    remaining: int
    status_label: str = ""
    manual_holds: list[str] = field(default_factory=list)


def _tone(status: int) -> str:
    if status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        return "ok"
    if status in (OrderStatus.CANCELLED, OrderStatus.DECLINED, OrderStatus.DISPUTED):
        return "bad"
    if status in (OrderStatus.MANUAL_VERIFICATION_REQUIRED, OrderStatus.AWAITING_PAYMENT):
        return "warn"
    return ""


def _fo_views(order: Order, titles: dict[int, str]) -> list[FoView]:
    out = []
    for fo in order.fulfillment_orders.all():
        lines = [
            {
                "id": ln.pk,
                "line_id": ln.order_line_id,
                "sku": ln.sku,
                "title": titles.get(ln.order_line_id, ""),
                "quantity": ln.quantity,
                "fulfilled": ln.quantity_fulfilled,
                "remaining": ln.remaining,
            }
            for ln in fo.lines.all()
        ]
        holds = [
            {"reason": h.reason, "label": hold_label(h.reason), "notes": h.notes,
             "by": h.actor_label, "at": h.created_at, "manual": h.reason in MANUAL_HOLDS}
            for h in fo.holds.all()
        ]  # fmt: skip
        remaining = sum(ln["remaining"] for ln in lines)
        live = fo.status in LIVE_FO
        held = fo.status == FOStatus.ON_HOLD or bool(holds)
        placed = {h["reason"] for h in holds}
        out.append(
            FoView(
                fo=fo,
                lines=lines,
                holds=holds,
                live=live,
                held=held,
                shippable=live and not held and remaining > 0,
                remaining=remaining,
                status_label=fo_state_label(fo.status),
                manual_holds=[r for r in sorted(MANUAL_HOLDS) if r not in placed],
            )
        )
    return out


def _shipment_view(sh: Shipment, locations: dict[int, Any]) -> dict[str, Any]:
    urls = list(sh.tracking_urls or [])
    return {
        "shipment": sh,
        "status_label": shipment_status_label(sh.status),
        "tone": {"delivered": "ok", "failed": "bad", "cancelled": "bad"}.get(sh.status, ""),
        "tracking": [
            (number, urls[i] if i < len(urls) else "")
            for i, number in enumerate(sh.tracking_numbers or [])
        ],
        "location": locations.get(sh.location_id),
        "lines": list(sh.lines.all()),
    }


def order_context(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """Everything the page shows; the number of queries does not depend on how many lines,
    FOs, shipments, returns or events the order has."""
    try:
        order = order_get(order_id=order_id)
    except NotFound:
        raise Http404("No such order.") from None
    locale = (get_language() or "en")[:2]
    labels = status_labels()
    locations = {loc.pk: loc for loc in location_list()}
    order_lines = list(order.lines.all())
    titles = {ln.pk: ln.title for ln in order_lines}
    lines = [
        {
            "line": ln,
            "unit_price": money_format(ln.unit_price, order.currency, locale),
            "remaining": max(ln.quantity - ln.quantity_fulfilled - ln.quantity_cancelled, 0),
        }
        for ln in order_lines
    ]
    fos = _fo_views(order, titles)
    groups: dict[int, list[FoView]] = {}
    for view in fos:
        groups.setdefault(view.fo.location_id, []).append(view)
    shipments = [_shipment_view(sh, locations) for sh in order.shipments.all()]
    shipped_any = any(ln.quantity_fulfilled for ln in order_lines)
    writer = role_allows(request.user.role, ORDERS_WRITE)  # type: ignore[union-attr]
    returns = return_page(order_id=order.pk, after_id=None, limit=50)
    events = order_events_latest(order_id=order.pk, limit=TIMELINE_LIMIT)
    records = (
        order_sync_records(order_id=order.pk, channel_id=order.channel_record_id)
        if order.channel_record_id
        else []
    )
    current = OrderStatus(order.status)
    return {
        "order": order,
        "status_label": labels[order.status],
        "status_tone": _tone(order.status),
        "fulfillment_label": fulfillment_label(order.fulfillment_status),
        "payment_label": payment_label(order.financial_status),
        "targets": [(int(s), labels[s]) for s in sorted(TRANSITIONS[current])],
        "address": {k: (order.shipping_address or {}).get(k, "") for k in ADDRESS_KEYS},
        "billing": order.billing_address or None,
        "address_editable": not shipped_any and order.status != OrderStatus.CANCELLED,
        "lines": lines,
        "totals": {
            k: money_format(getattr(order, k), order.currency, locale)
            for k in ("subtotal", "shipping_price", "tax_total", "discount_total", "total")
        },
        "groups": [(locations.get(loc_id), views) for loc_id, views in groups.items()],
        "locations": [loc for loc in locations.values() if loc.active],
        "hold_reasons": [(r, hold_label(r)) for r in sorted(MANUAL_HOLDS)],
        "shipments": shipments,
        "returns": [
            {
                "rma": r,
                "state_label": return_state_label(r.state),
                "units": sum(ln.quantity for ln in r.lines.all()),
            }
            for r in returns[:50]
        ],  # fmt: skip
        "returnable": returnable_lines(order=order) if writer and shipped_any else [],
        "return_reasons": [(r.value, reason_label(r.value)) for r in ReturnReason],
        "records": records,
        "events": [{"event": e, "text": event_text(e, labels)} for e in events[:TIMELINE_LIMIT]],
        "events_more": len(events) > TIMELINE_LIMIT,
        "out_of_stock": HoldReason.INVENTORY_OUT_OF_STOCK,
        "done": request.GET.get("done", ""),
        "print_url": f"/app/orders/{order.pk}/packing-slip.pdf" if request.GET.get("print") else "",
    }


def order_render(
    request: HttpRequest, order_id: int, error: FormError | None = None, values: Any = None
) -> HttpResponse:
    context = order_context(request, order_id)
    context["error"] = error
    context["values"] = values or {}
    if error is not None and error.form == "address" and values:
        context["address"] = {k: values.get(k, "") for k in ADDRESS_KEYS}
    errors = error.fields if error is not None and error.form == "address" else {}
    context["address_form"] = [
        (key, ADDRESS_LABELS[key], context["address"][key], errors.get(key, ""))
        for key in ADDRESS_KEYS
    ]
    return render(request, "app/order/page.html", context, status=error.status if error else 200)


@ui_view()
def order_view(request: HttpRequest, order_id: int) -> HttpResponse:
    return order_render(request, order_id)


@ui_view()
def packing_slip(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order's packing slip (one page per fulfillment order), as the API serves it."""
    try:
        order_require(order_id)
    except NotFound:
        raise Http404("No such order.") from None
    pieces = packing_slips_pdf([order_id], source=template_source("packing_slip"))
    try:
        first = next(pieces)
    except MarkupError as exc:
        return HttpResponse(str(exc), status=422, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(chain([first], pieces), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="packing-slip-{order_id}.pdf"'
    return response
