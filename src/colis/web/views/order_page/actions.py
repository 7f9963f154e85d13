"""The order page's writes: one small view per form, each calling one domain service. A refusal
shows the page again with the message next to the form (nothing is applied); success goes
back to the page with a note of what was done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from colis.accounts.roles import ORDERS_WRITE
from colis.channels.records import sync_record_retry
from colis.core.errors import DomainError, ValidationError
from colis.fulfillment.models import FulfillmentOrder
from colis.fulfillment.reshape import fulfillment_order_move, fulfillment_order_split
from colis.fulfillment.services import (
    LinePick,
    fulfillment_order_hold,
    fulfillment_order_release,
)
from colis.orders.services import order_note_add, order_shipping_address_set, order_status_set
from colis.returns.services import ReturnLineDraft, return_create
from colis.web.access import ui_view
from colis.web.views.order_page.forms import form_error, int_or_none
from colis.web.views.order_page.page import ADDRESS_KEYS, order_render


def _back(order_id: int, done: str, **extra: Any) -> HttpResponse:
    query = "&".join([f"done={done}", *(f"{k}={v}" for k, v in extra.items())])
    return HttpResponseRedirect(f"/app/orders/{order_id}/?{query}")


def _attempt(
    request: HttpRequest,
    order_id: int,
    form: str,
    work: Callable[[], Any],
    done: str,
    *,
    strip: tuple[str, ...] = (),
    rename: dict[str, str] | None = None,
) -> HttpResponse:
    try:
        work()
    except DomainError as exc:
        error = form_error(form, exc, strip=strip, rename=rename)
        return order_render(request, order_id, error, request.POST)
    return _back(order_id, done)


def _fo_of(order_id: int, fo_id: int) -> None:
    """An FO posted to an order's page must belong to that order."""
    if not FulfillmentOrder.objects.filter(pk=fo_id, order_id=order_id).exists():
        raise ValidationError(
            _("This fulfillment order is not part of the order."),
            code="fulfillment_order_not_found",
        )


@ui_view(write=ORDERS_WRITE)
@require_POST
def status_set(request: HttpRequest, order_id: int) -> HttpResponse:
    def work() -> None:
        status = int_or_none(request.POST.get("status"))
        if status is None:
            raise ValidationError(
                _("Choose a status."),
                code="invalid_status",
                fields={"status": _("Required.")},
            )
        order_status_set(
            order_id=order_id,
            status=status,
            note=request.POST.get("note", "")[:500],
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, "status", work, "status")


@ui_view(write=ORDERS_WRITE)
@require_POST
def address_set(request: HttpRequest, order_id: int) -> HttpResponse:
    address = {k: request.POST.get(k, "") for k in ADDRESS_KEYS}
    return _attempt(
        request,
        order_id,
        "address",
        lambda: order_shipping_address_set(
            order_id=order_id,
            address=address,
            actor=request.actor,  # type: ignore[attr-defined]
        ),
        "address",
        strip=("shipping_address.",),
    )


@ui_view(write=ORDERS_WRITE)
@require_POST
def note_add(request: HttpRequest, order_id: int) -> HttpResponse:
    return _attempt(
        request,
        order_id,
        "note",
        lambda: order_note_add(
            order_id=order_id,
            text=request.POST.get("text", ""),
            actor=request.actor,  # type: ignore[attr-defined]
        ),
        "note",
    )


@ui_view(write=ORDERS_WRITE)
@require_POST
def fo_hold(request: HttpRequest, order_id: int, fo_id: int) -> HttpResponse:
    def work() -> None:
        _fo_of(order_id, fo_id)
        fulfillment_order_hold(
            fo_id=fo_id,
            reason=request.POST.get("reason", ""),
            notes=request.POST.get("notes", "")[:1000],
            notify_customer=request.POST.get("notify_customer") == "on",
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, f"hold-{fo_id}", work, "held")


@ui_view(write=ORDERS_WRITE)
@require_POST
def fo_release(request: HttpRequest, order_id: int, fo_id: int) -> HttpResponse:
    def work() -> None:
        _fo_of(order_id, fo_id)
        reason = request.POST.get("reason", "")
        fulfillment_order_release(
            fo_id=fo_id,
            reasons=[reason] if reason else None,
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, f"fo-{fo_id}", work, "released")


@ui_view(write=ORDERS_WRITE)
@require_POST
def fo_move(request: HttpRequest, order_id: int, fo_id: int) -> HttpResponse:
    def work() -> None:
        _fo_of(order_id, fo_id)
        location_id = int_or_none(request.POST.get("location_id"))
        if location_id is None:
            raise ValidationError(
                _("Choose a location."),
                code="location_required",
                fields={"location_id": _("Required.")},
            )
        fulfillment_order_move(
            fo_id=fo_id,
            location_id=location_id,
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, f"move-{fo_id}", work, "moved")


@ui_view(write=ORDERS_WRITE)
@require_POST
def fo_split(request: HttpRequest, order_id: int, fo_id: int) -> HttpResponse:
    """Quantities posted as `split_<order line id>`; blank or 0 leaves a line where it is."""

    def work() -> None:
        _fo_of(order_id, fo_id)
        picks, bad = [], {}
        for key, raw in request.POST.items():
            if not key.startswith("split_"):
                continue
            line_id, qty = int_or_none(key[6:]), int_or_none(raw or "0")
            if line_id is None or qty is None:
                bad[key] = _("A whole number.")
            elif qty:
                picks.append(LinePick(line_id=line_id, quantity=qty))
        if bad:
            raise ValidationError(
                _("Quantities are whole numbers."), code="invalid_lines", fields=bad
            )
        if not picks:
            raise ValidationError(
                _("Say how many of which line go to the new fulfillment order."),
                code="invalid_lines",
            )
        fulfillment_order_split(
            fo_id=fo_id,
            lines=picks,
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, f"split-{fo_id}", work, "split")


@ui_view(write=ORDERS_WRITE)
@require_POST
def sync_retry(request: HttpRequest, order_id: int, record_id: int) -> HttpResponse:
    from colis.orders.selectors import order_get

    def work() -> None:
        order = order_get(order_id=order_id)
        sync_record_retry(
            record_id=record_id,
            channel_id=order.channel_record_id or 0,
            actor=request.actor,  # type: ignore[attr-defined]
        )

    return _attempt(request, order_id, "sync", work, "retried")


@ui_view(write=ORDERS_WRITE)
@require_POST
def return_add(request: HttpRequest, order_id: int) -> HttpResponse:
    """Lines posted as `return_qty_<order line id>` and `return_reason_<order line id>`."""
    holder: dict[str, int] = {}

    def work() -> None:
        drafts, bad = [], {}
        for key, raw in request.POST.items():
            if not key.startswith("return_qty_"):
                continue
            line_id, qty = int_or_none(key[11:]), int_or_none(raw or "0")
            if line_id is None or qty is None:
                bad[key] = _("A whole number.")
            elif qty:
                drafts.append(
                    ReturnLineDraft(
                        line_id=line_id,
                        quantity=qty,
                        reason=request.POST.get(f"return_reason_{line_id}", "other"),
                        note=request.POST.get(f"return_note_{line_id}", "")[:1000],
                    )
                )
        if bad:
            raise ValidationError(
                _("Quantities are whole numbers."), code="invalid_return", fields=bad
            )
        if not drafts:
            raise ValidationError(
                _("Say how many of which line come back."),
                code="invalid_return",
            )
        rma = return_create(
            order_id=order_id,
            lines=drafts,
            source="staff",
            note=request.POST.get("note", ""),
            notify_customer=request.POST.get("notify_customer") == "on",
            actor=request.actor,  # type: ignore[attr-defined]
        )
        holder["id"] = rma.pk

    try:
        work()
    except DomainError as exc:
        return order_render(request, order_id, form_error("return", exc), request.POST)
    return HttpResponseRedirect(f"/app/returns/{holder['id']}/?done=created")
