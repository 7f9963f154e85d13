"""The returns list (keyset paging, filters) and one return's page."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from colis.core.errors import NotFound
from colis.core.money import money_format
from colis.locations.selectors import location_list
from colis.returns.models import Return
from colis.returns.selectors import return_events, return_get, return_page
from colis.returns.status import RECEIVABLE, Condition, ReturnReason, ReturnState
from colis.web.access import ui_view
from colis.web.views.order_page.forms import FormError, int_or_none
from colis.web.views.order_page.labels import (
    CONDITIONS,
    DISPOSITIONS,
    SOURCES,
    condition_label,
    event_text,
    reason_label,
    return_state_label,
)

PAGE_SIZE = 50


def _tone(state: str) -> str:
    return {"closed": "ok", "rejected": "bad", "cancelled": "bad", "requested": "warn"}.get(
        state, ""
    )


@ui_view()
def return_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    state = state if state in ReturnState.values else ""
    reason = request.GET.get("reason", "")
    reason = reason if reason in ReturnReason.values else ""
    location_id = int_or_none(request.GET.get("location"))
    q = request.GET.get("q", "").strip()[:100]
    after = int_or_none(request.GET.get("after"))
    rows = return_page(
        after_id=after,
        limit=PAGE_SIZE,
        state=state,
        reason=reason,
        location_id=location_id,
        q=q,
    )
    shown = rows[:PAGE_SIZE]
    locations = list(location_list())
    names = {loc.pk: loc.name for loc in locations}
    params = {k: v for k, v in (("state", state), ("reason", reason), ("q", q),
              ("location", str(location_id or ""))) if v}  # fmt: skip
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return render(
        request,
        "app/returns/list.html",
        {
            "items": [
                {
                    "rma": r,
                    "state_label": return_state_label(r.state),
                    "tone": _tone(r.state),
                    "units": sum(ln.quantity for ln in r.lines.all()),
                    "reasons": sorted({reason_label(ln.reason) for ln in r.lines.all()}),
                    "location": names.get(r.location_id or 0, ""),
                }
                for r in shown
            ],
            "states": [(s.value, return_state_label(s.value)) for s in ReturnState],
            "reasons": [(r.value, reason_label(r.value)) for r in ReturnReason],
            "locations": locations,
            "filters": {"state": state, "reason": reason, "location": location_id, "q": q},
            "next_url": f"?{query}&after={shown[-1].pk}".replace("?&", "?")
            if len(rows) > PAGE_SIZE
            else "",
            "first_url": f"?{query}" if after else "",
        },
    )


def _lines(rma: Return) -> list[dict[str, Any]]:
    uninspected: dict[int, int] = {}
    for r in rma.receipts.all():
        if not r.condition:
            uninspected[r.line_id] = uninspected.get(r.line_id, 0) + r.quantity
    return [
        {
            "line": ln,
            "reason": reason_label(ln.reason),
            "outstanding": max(ln.quantity - ln.quantity_received, 0),
            "uninspected": uninspected.get(ln.pk, 0),
        }
        for ln in rma.lines.all()
    ]


def return_context(request: HttpRequest, return_id: int) -> dict[str, Any]:
    try:
        rma = return_get(return_id=return_id)
    except NotFound:
        raise Http404("No such return.") from None
    locale = (get_language() or "en")[:2]
    every = list(location_list())
    locations = [loc for loc in every if loc.active]
    names = {loc.pk: loc.name for loc in every}
    lines = _lines(rma)
    line_of = {ln["line"].pk: ln["line"] for ln in lines}
    receipts = [
        {
            "receipt": r,
            "sku": line_of[r.line_id].sku if r.line_id in line_of else "",
            "location": names.get(r.location_id, ""),
            "condition": condition_label(r.condition) if r.condition else "",
            "disposition": str(DISPOSITIONS.get(r.disposition, r.disposition)),
        }
        for r in rma.receipts.all()
    ]
    refunds = [
        {"refund": f, "amount": money_format(f.amount, f.currency, locale)}
        for f in rma.refunds.all()
    ]
    state = rma.state
    from colis.orders.selectors import status_labels

    labels = status_labels()
    return {
        "rma": rma,
        "order": rma.order,
        "state_label": return_state_label(state),
        "source_label": str(SOURCES.get(rma.source, rma.source)),
        "tone": _tone(state),
        "lines": lines,
        "receipts": receipts,
        "refunds": refunds,
        "events": [{"event": e, "text": event_text(e, labels)} for e in return_events(rma=rma)],
        "location_name": names.get(rma.location_id or 0, ""),
        "locations": locations,
        "conditions": [(c.value, str(CONDITIONS[c.value])) for c in Condition],
        "can_decide": state == ReturnState.REQUESTED,
        "can_receive": state in RECEIVABLE and any(ln["outstanding"] for ln in lines),
        "can_inspect": any(ln["uninspected"] for ln in lines),
        "can_restock": any(r.condition and r.applied_at is None for r in rma.receipts.all()),
        "can_close": state in (ReturnState.RECEIVED, ReturnState.INSPECTED),
        "can_cancel": state
        in (ReturnState.REQUESTED, ReturnState.APPROVED, ReturnState.IN_TRANSIT),  # fmt: skip
        "can_refund": state not in (ReturnState.REJECTED, ReturnState.CANCELLED),
        "done": request.GET.get("done", ""),
    }


def return_render(
    request: HttpRequest, return_id: int, error: FormError | None = None, values: Any = None
) -> HttpResponse:
    context = return_context(request, return_id)
    context["error"] = error
    context["values"] = values or {}
    return render(request, "app/returns/page.html", context, status=error.status if error else 200)


@ui_view()
def return_view(request: HttpRequest, return_id: int) -> HttpResponse:
    return return_render(request, return_id)
