"""The fulfillment-service portal: a signed, expiring link (no login) that shows one service
its own FOs and lets it accept, reject, and enter shipments with tracking."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from colis.core.actor import Actor
from colis.core.errors import DomainError, NotFound
from colis.core.shop import shop_get
from colis.fulfillment.models import FulfillmentOrder
from colis.fulfillment.requests import fulfillment_order_accept, fulfillment_order_reject
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.fulfillment.status import LIVE_FO, FOStatus
from colis.partners.models import FulfillmentService
from colis.partners.services import portal_service, purchase_order_number


def _actor(service: FulfillmentService) -> Actor:
    return Actor(kind="service", id=service.pk, label=service.name, role="service")


def _page(
    request: HttpRequest,
    service: FulfillmentService,
    token: str,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    fos = (
        FulfillmentOrder.objects.filter(location_id=service.location_id, status__in=LIVE_FO)
        .select_related("order")
        .prefetch_related("lines", "holds")
        .order_by("pk")[:200]
    )
    return render(
        request,
        "portal/index.html",
        {"service": service, "fos": fos, "token": token, **extra},
        status=status,
    )


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/invalid.html", status=404)


@require_http_methods(["GET"])
@csrf_protect
def portal_index(request: HttpRequest, token: str) -> HttpResponse:
    try:
        service = portal_service(token)
    except NotFound:
        return _not_found(request)
    return _page(request, service, token)


@require_http_methods(["GET"])
def portal_purchase_order(request: HttpRequest, token: str, fo_id: int) -> HttpResponse:
    """The printable purchase order a supplier ships one FO from: number, date, ship-to,
    method, ship-by date, items and quantities, notes, and whose name the parcel goes out in.
    No prices: the buyer's parcel must not show them."""
    try:
        service = portal_service(token)
    except NotFound:
        return _not_found(request)
    fo = (
        FulfillmentOrder.objects.filter(pk=fo_id, location_id=service.location_id)
        .exclude(status=FOStatus.CANCELLED)
        .select_related("order")
        .prefetch_related("lines", "order__lines")
        .first()
    )
    if fo is None:
        return _not_found(request)
    titles = {ln.pk: ln.title for ln in fo.order.lines.all()}
    items = [
        {"sku": ln.sku, "title": titles.get(ln.order_line_id, ""), "quantity": ln.quantity,
         "remaining": ln.remaining}
        for ln in fo.lines.all()
    ]  # fmt: skip
    return render(
        request,
        "portal/purchase_order.html",
        {
            "service": service,
            "shop": shop_get(),
            "fo": fo,
            "order": fo.order,
            "items": items,
            "number": purchase_order_number(fo.pk),
            "token": token,
        },
    )


@require_http_methods(["POST"])
@csrf_protect
def portal_action(request: HttpRequest, token: str, fo_id: int, action: str) -> HttpResponse:
    try:
        service = portal_service(token)
    except NotFound:
        return _not_found(request)
    fo = FulfillmentOrder.objects.filter(pk=fo_id, location_id=service.location_id).first()
    if fo is None:
        return _not_found(request)
    who = _actor(service)
    try:
        if action == "accept":
            fulfillment_order_accept(fo_id=fo.pk, actor=who)
        elif action == "reject":
            fulfillment_order_reject(fo_id=fo.pk, reason=request.POST.get("reason", ""), actor=who)
        elif action == "ship":
            numbers = [n for n in request.POST.get("tracking_numbers", "").split() if n]
            shipment_create(
                order_id=fo.order_id,
                draft=ShipmentDraft(
                    fulfillment_order_id=fo.pk,
                    carrier=request.POST.get("carrier") or None,
                    tracking_numbers=numbers,
                ),
                actor=who,
            )
        else:
            return _not_found(request)
    except DomainError as exc:
        return _page(
            request, service, token, status=exc.http_status, error=exc.message, fields=exc.fields
        )
    return HttpResponseRedirect(f"/portal/{token}/")


urlpatterns = [
    path("<str:token>/", portal_index, name="portal"),
    path("<str:token>/fo/<int:fo_id>/", portal_purchase_order, name="portal-purchase-order"),
    path("<str:token>/fo/<int:fo_id>/<str:action>", portal_action, name="portal-action"),
]
