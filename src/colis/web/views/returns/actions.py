"""A return's actions, each one domain service: approve, reject, cancel, receive (with the
condition, inspecting at once), inspect, restock, close, refund."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from colis.accounts.roles import ORDERS_WRITE, REFUNDS_WRITE
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.returns.receiving import ReceivedUnits, return_inspect, return_receive, return_restock
from colis.returns.refunds import refund_create
from colis.returns.selectors import return_get
from colis.returns.services import return_approve, return_cancel, return_close, return_reject
from colis.web.access import ui_view
from colis.web.views.order_page.forms import form_error, int_or_none
from colis.web.views.returns.pages import return_render


def _units(
    request: HttpRequest, prefix: str, *, inspecting: bool
) -> tuple[list[ReceivedUnits], dict[str, str]]:
    """Units posted as `<prefix>_qty_<order line id>` and `<prefix>_cond_<order line id>`; and
    the error key of each unit's index (`lines.<i>.` -> the line's own field)."""
    units: list[ReceivedUnits] = []
    rename: dict[str, str] = {}
    bad: dict[str, str] = {}
    marker = f"{prefix}_qty_"
    for key, raw in request.POST.items():
        if not key.startswith(marker):
            continue
        line_id, qty = int_or_none(key[len(marker) :]), int_or_none(raw.strip() or "0")
        if line_id is None or qty is None:
            bad[key] = _("A whole number.")
            continue
        if not qty:
            continue
        i = len(units)
        for field in ("quantity", "condition", "disposition", "line_id"):
            rename[f"lines.{i}.{field}"] = f"{prefix}_{line_id}"
        units.append(
            ReceivedUnits(
                line_id=line_id,
                quantity=qty,
                condition=request.POST.get(f"{prefix}_cond_{line_id}", ""),
            )
        )
    if bad:
        raise ValidationError(
            _("Quantities are whole numbers."), code="invalid_receipt", fields=bad
        )
    if not units:
        raise ValidationError(
            _("Say how many units of which line.")
            if not inspecting
            else _("Say how many units of which line were inspected."),
            code="invalid_receipt",
        )
    return units, rename


def _attempt(
    request: HttpRequest, return_id: int, form: str, work: Callable[[], dict[str, str] | None]
) -> HttpResponse:
    rename: dict[str, str] = {}
    try:
        rename = work() or {}
    except DomainError as exc:
        return return_render(request, return_id, form_error(form, exc, rename=rename), request.POST)
    return HttpResponseRedirect(f"/app/returns/{return_id}/?done={form}")


@ui_view(write=ORDERS_WRITE)
@require_POST
def return_action(request: HttpRequest, return_id: int, action: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    post = request.POST
    notify = post.get("notify_customer") == "on"
    renames: dict[str, str] = {}

    def approve() -> None:
        return_approve(return_id=return_id, location_id=int_or_none(post.get("location_id")),
                       notify_customer=notify, actor=actor)  # fmt: skip

    def reject() -> None:
        return_reject(return_id=return_id, reason=post.get("reason", "").strip()[:500],
                      notify_customer=notify, actor=actor)  # fmt: skip

    def cancel() -> None:
        return_cancel(return_id=return_id, reason=post.get("reason", "")[:500], actor=actor)

    def receive() -> None:
        units, rename = _units(request, "rcv", inspecting=False)
        renames.update(rename)
        return_receive(return_id=return_id, location_id=int_or_none(post.get("location_id")),
                       lines=units, notify_customer=notify, actor=actor)  # fmt: skip

    def inspect() -> None:
        units, rename = _units(request, "insp", inspecting=True)
        renames.update(rename)
        return_inspect(return_id=return_id, lines=units, actor=actor)

    def restock() -> None:
        return_restock(return_id=return_id, actor=actor)

    def close() -> None:
        return_close(return_id=return_id, actor=actor)

    works: dict[str, Callable[[], None]] = {
        "approve": approve, "reject": reject, "cancel": cancel, "receive": receive,
        "inspect": inspect, "restock": restock, "close": close,
    }  # fmt: skip
    work = works.get(action)
    if work is None:
        raise Http404("No such action.")
    try:
        return_get(return_id=return_id)
    except NotFound:
        raise Http404("No such return.") from None
    try:
        work()
    except DomainError as exc:
        error = form_error(action, exc, rename=renames)
        return return_render(request, return_id, error, post)
    return HttpResponseRedirect(f"/app/returns/{return_id}/?done={action}")


@ui_view(write=REFUNDS_WRITE)
@require_POST
def refund(request: HttpRequest, return_id: int) -> HttpResponse:
    try:
        rma = return_get(return_id=return_id)
    except NotFound:
        raise Http404("No such return.") from None

    def work() -> dict[str, str] | None:
        amount = request.POST.get("amount", "").strip().replace(",", ".")
        if not amount:
            raise ValidationError(
                _("Say how much to refund."),
                code="invalid_refund",
                fields={"amount": _("Required.")},
            )
        refund_create(
            order_id=rma.order_id,
            return_id=rma.pk,
            amount=amount,
            currency=rma.order.currency,
            reason=request.POST.get("reason", "").strip()[:500],
            notify_customer=request.POST.get("notify_customer") == "on",
            actor=request.actor,  # type: ignore[attr-defined]
        )
        return None

    return _attempt(request, return_id, "refund", work)
