"""Bulk actions from the orders list: the selection and the action are posted, the dry run is
shown (what each order would get, or why it is skipped), and a second post runs it: in the
request for a few orders, as a job on the worker with a progress page for many. Printing answers
with the PDF; export with the CSV."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from colis.accounts.roles import ORDERS_WRITE
from colis.core.errors import DomainError, NotFound, ValidationError
from colis.core.exports import csv_stream
from colis.core.jobs import FINISHED, job_codes, job_get, job_items_page
from colis.documents.markup import MarkupError
from colis.documents.render import labels_pdf, packing_slips_pdf, pick_list_pdf
from colis.documents.templates import template_source
from colis.fulfillment.services import HOLDABLE
from colis.orders.bulk_actions import (
    JOB_PREFIX,
    MAX_ORDERS,
    SYNC_LIMIT,
    BulkAction,
    BulkReport,
    OrderOutcome,
    bulk_action_build,
    bulk_run,
    bulk_start,
    bulk_targets,
)
from colis.orders.selectors import (
    ORDER_EXPORT_HEADER,
    order_export_rows,
    order_list_ids,
    status_labels,
)
from colis.orders.status import STATUS_BY_NAME
from colis.web.access import ui_view

# The menu's choices: (bulk action, fixed options); None: export, which changes nothing.
CHOICES: dict[str, tuple[str, dict[str, Any]] | None] = {
    "fulfill": ("fulfill", {}),
    "packing_slips": ("print", {"document": "packing_slip"}),
    "pick_list": ("print", {"document": "pick_list"}),
    "labels": ("print", {"document": "label"}),
    "set-status": ("set-status", {}),
    "hold": ("hold", {}),
    "release": ("release", {}),
    "cancel": ("cancel", {}),
    "export": None,
}
CHOICE_LABELS = {
    "fulfill": _("Fulfill everything left"),
    "packing_slips": _("Print packing slips"),
    "pick_list": _("Print a pick list"),
    "labels": _("Print labels"),
    "set-status": _("Set status"),
    "hold": _("Hold"),
    "release": _("Release holds"),
    "cancel": _("Cancel"),
    "export": _("Export as CSV"),
}
HOLD_LABELS = {
    "awaiting_payment": _("Awaiting payment"),
    "incorrect_address": _("Incorrect address"),
    "high_risk_of_fraud": _("High risk of fraud"),
    "awaiting_return_items": _("Awaiting return items"),
    "unknown_delivery_date": _("Unknown delivery date"),
    "other": _("Other"),
}
# Why an order is skipped, in the user's language (the domain's English message otherwise).
REASONS = {
    "order_not_found": _("This order does not exist."),
    "order_cancelled": _("This order is cancelled."),
    "order_already_cancelled": _("This order is already cancelled."),
    "order_has_shipments": _("Part of this order has shipped; cancel its open items instead."),
    "order_shipped": _("This order has shipped."),
    "nothing_to_ship": _("Nothing is left to ship on this order."),
    "nothing_to_hold": _("This order has no open fulfillment order to hold."),
    "already_on_hold": _("This order is already on hold for this reason."),
    "not_on_hold": _("This order is not on hold."),
    "out_of_stock_hold": _("This order waits for stock; it is released when stock arrives."),
    "status_unchanged": _("The order already has this status."),
    "invalid_status_transition": _("The order cannot move to this status from its current one."),
    "fulfillment_order_on_hold": _("Part of this order is on hold."),
    "fulfillment_order_has_packed_shipments": _(
        "Packed shipments wait to leave; ship or cancel them first."
    ),
    "fulfillment_order_required": _("This order ships from several places: fulfill it alone."),
    "insufficient_stock": _("Not enough stock."),
    "internal_error": _("This order could not be processed."),
}


CHOICE_LABELS_BY_DOCUMENT = {
    "packing_slip": _("Packing slip"),
    "pick_list": _("Pick list"),
    "label": _("Label"),
}


# What a refused option means, in the user's language.
FIELD_ERRORS = {
    "order_ids": _("Select at least one order."),
    "status": _("Choose a status."),
    "reason": _("Choose a hold reason."),
}


def hold_reasons() -> list[tuple[str, Any]]:
    return [(r, HOLD_LABELS.get(r, r)) for r in sorted(HOLDABLE)]


def _ids(raw: list[str]) -> list[int]:
    ids = [int(v) for v in raw if v.isascii() and v.isdigit() and 0 < len(v) <= 18]
    return list(dict.fromkeys(ids))[: MAX_ORDERS + 1]


def _options(choice: str, post: Any) -> dict[str, Any]:
    spec = CHOICES[choice]
    assert spec is not None
    options = dict(spec[1])
    checked = post.get("notify_customer") == "on"
    if choice == "fulfill":
        options["notify_customer"] = checked
    elif choice == "set-status":
        options["status"] = post.get("status", "")[:40]
        options["note"] = post.get("note", "")[:1000]
    elif choice == "hold":
        options["reason"] = post.get("reason", "")[:40]
        options["notes"] = post.get("notes", "")[:1000]
        options["notify_customer"] = checked
    elif choice == "cancel":
        options["reason"] = post.get("cancel_reason", "")[:200]
    elif spec[0] == "print":
        options["mark_awaiting_shipment"] = post.get("mark_awaiting_shipment") == "on"
    return options


def _back(request: HttpRequest) -> str:
    back = request.POST.get("back", "")
    ok = back.startswith("/app/orders/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}
    )
    return back if ok else "/app/orders/"


def _describe(action: BulkAction, detail: dict[str, Any] | None) -> str:
    """What an order gets, in a few words."""
    detail = detail or {}
    labels = status_labels()
    if "status" in detail and detail["status"]:
        moved = detail["status"]
        before, after = STATUS_BY_NAME.get(moved["from"]), STATUS_BY_NAME.get(moved["to"])
        text = _("Status %(from)s → %(to)s") % {
            "from": labels.get(before, moved["from"]) if before is not None else moved["from"],
            "to": labels.get(after, moved["to"]) if after is not None else moved["to"],
        }
        if action.name == "print":
            return f"{CHOICE_LABELS_BY_DOCUMENT.get(detail.get('printed', ''), '')}; {text}"
        return str(text)
    if action.name == "hold":
        return str(HOLD_LABELS.get(detail.get("reason", ""), detail.get("reason", "")))
    if action.name == "release":
        return ", ".join(str(HOLD_LABELS.get(r, r)) for r in detail.get("reasons", []))
    if action.name == "fulfill":
        units = sum(q for s in detail.get("shipments", []) for q in s.get("lines", {}).values())
        return str(_("%(units)s units in %(shipments)s shipments")) % {
            "units": units,
            "shipments": len(detail.get("shipments", [])),
        }
    if action.name == "print":
        return str(CHOICE_LABELS_BY_DOCUMENT.get(detail.get("printed", ""), ""))
    return ""


def _reason(skipped: dict[str, Any] | None) -> str:
    skipped = skipped or {}
    code = skipped.get("code", "")
    return str(REASONS[code]) if code in REASONS else str(skipped.get("message", code))


def outcome_rows(action: BulkAction, outcomes: list[OrderOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": o.order_id,
            "number": o.number or f"#{o.order_id}",
            "ok": o.ok,
            "text": _describe(action, o.detail) if o.ok else _reason(o.skipped),
            "code": (o.skipped or {}).get("code", ""),
        }
        for o in outcomes
    ]


def _review(
    request: HttpRequest,
    *,
    choice: str,
    ids: list[int],
    action: BulkAction | None,
    report: BulkReport | None,
    errors: dict[str, str],
    done: bool = False,
    status: int = 200,
) -> HttpResponse:
    ok = sum(o.ok for o in report.outcomes) if report else 0
    rows = outcome_rows(action, report.outcomes) if action and report else []
    reasons: dict[str, int] = {}
    for row in rows:
        if not row["ok"]:
            reasons[row["text"]] = reasons.get(row["text"], 0) + 1
    context = {
        "choice": choice,
        "choice_label": CHOICE_LABELS.get(choice, choice),
        "ids": ids,
        "post": request.POST,
        # the skipped orders first: they are what the user has to read
        "rows": sorted(rows, key=lambda r: r["ok"]),
        "reasons": sorted(reasons.items(), key=lambda kv: -kv[1]),
        "ok_count": ok,
        "skipped_count": len(report.outcomes) - ok if report else 0,
        "errors": errors,
        "done": done,
        "back": _back(request),
        "is_print": choice in ("packing_slips", "pick_list", "labels"),
        "hidden": _hidden(choice, request.POST),
        "runs_as_job": len(ids) > SYNC_LIMIT,
    }
    return render(request, "app/orders/bulk.html", context, status=status)


def _hidden(choice: str, post: Any) -> list[tuple[str, str]]:
    """The options to post again with the confirmation."""
    keep = ("status", "note", "reason", "notes", "cancel_reason")
    out = [(k, post.get(k, "")) for k in keep if post.get(k)]
    for box in ("notify_customer", "mark_awaiting_shipment"):
        if post.get(box) == "on":
            out.append((box, "on"))
    return out


def _export(ids: list[int]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_stream(ORDER_EXPORT_HEADER, order_export_rows(ids)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _pdf(choice: str, ids: list[int]) -> StreamingHttpResponse:
    """Raises MarkupError (the packing slip template) before the response starts."""
    if choice == "packing_slips":
        pieces = packing_slips_pdf(ids, source=template_source("packing_slip"))
    elif choice == "pick_list":
        pieces = pick_list_pdf(ids)
    else:
        pieces = labels_pdf(ids)
    first = next(pieces)

    def chain() -> Any:
        yield first
        yield from pieces

    response = StreamingHttpResponse(chain(), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{choice.replace("_", "-")}.pdf"'
    return response


@ui_view(write=ORDERS_WRITE)
def orders_bulk(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("/app/orders/")
    choice = request.POST.get("action", "")
    ids = _ids(request.POST.getlist("ids"))
    if choice not in CHOICES:
        errors = {"action": str(_("Choose an action."))}
        return _review(
            request, choice=choice, ids=ids, action=None, report=None, errors=errors, status=422
        )
    run = request.POST.get("step") == "run"
    spec = CHOICES[choice]
    everything = request.POST.get("all_matching") == "on" and not run
    try:
        if everything:
            ids = _matching(
                request.POST.get("filters", ""), print_=spec is not None and spec[0] == "print"
            )
        targets = bulk_targets(order_ids=ids)
        if spec is None:
            return _export(targets)
        action = bulk_action_build(
            name=spec[0], options=_options(choice, request.POST), dry_run=not run
        )
    except DomainError as exc:
        errors = {k: str(FIELD_ERRORS.get(k, v)) for k, v in exc.fields.items()}
        errors = errors or {"": exc.message}
        return _review(
            request, choice=choice, ids=ids, action=None, report=None, errors=errors, status=422
        )
    actor = request.actor  # type: ignore[attr-defined]
    if not run and len(targets) > SYNC_LIMIT:
        # Too many to check within the request: the dry run is a job too, and its page offers
        # the real run when it is done.
        job = bulk_start(action=action, order_ids=targets, actor=actor)
        return redirect(f"/app/orders/jobs/{job.pk}/")
    if not run:
        report = bulk_run(action=action, order_ids=targets, actor=actor)
        return _review(request, choice=choice, ids=targets, action=action, report=report, errors={})
    if spec[0] != "print" and len(targets) > SYNC_LIMIT:
        job = bulk_start(action=action, order_ids=targets, actor=actor)
        return redirect(f"/app/orders/jobs/{job.pk}/")
    report = bulk_run(action=action, order_ids=targets, actor=actor)
    printed = [o.order_id for o in report.outcomes if o.ok]
    if spec[0] == "print" and printed:
        try:
            return _pdf(choice, printed)
        except MarkupError:
            errors = {"": str(_("The packing slip template is not valid; fix it in Settings."))}
            return _review(
                request,
                choice=choice,
                ids=targets,
                action=action,
                report=report,
                errors=errors,
                done=True,
                status=422,
            )
    return _review(
        request, choice=choice, ids=targets, action=action, report=report, errors={}, done=True
    )


def _matching(filters: str, *, print_: bool) -> list[int]:
    """Every order the list's filters find (the list's own query string). Raises
    ValidationError when there are more than a bulk action takes (or than printing takes from
    here: one PDF in the request)."""
    from colis.web.views.orders_list.listing import list_request

    asked = list_request(QueryDict(filters[:2000]))
    most = SYNC_LIMIT if print_ else MAX_ORDERS
    ids = order_list_ids(asked.query, limit=most + 1)
    if len(ids) > most:
        raise ValidationError(
            "Too many orders.",
            code="too_many_orders",
            fields={
                "all_matching": _("More than %(most)s orders match; narrow the filters.")
                % {"most": f"{most:,}"}
            },
        )
    return ids


@ui_view(write=ORDERS_WRITE)
def bulk_job_run(request: HttpRequest, job_id: int) -> HttpResponse:
    """Run for real what a finished dry-run job checked, on the same orders."""
    if request.method != "POST":
        return redirect(f"/app/orders/jobs/{job_id}/")
    try:
        job = job_get(job_id=job_id)
    except NotFound:
        raise Http404 from None
    action = BulkAction.from_json(job.params)
    if not job.kind.startswith(JOB_PREFIX) or not action.dry_run or job.status not in FINISHED:
        raise Http404
    real = replace(action, dry_run=False)
    actor = request.actor  # type: ignore[attr-defined]
    started = bulk_start(action=real, order_ids=job.subject_ids, actor=actor)
    return redirect(f"/app/orders/jobs/{started.pk}/")


@ui_view()
def bulk_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """A bulk job's progress and results; htmx asks again every second until it finishes."""
    try:
        job = job_get(job_id=job_id)
    except NotFound:
        raise Http404 from None
    if not job.kind.startswith(JOB_PREFIX):
        raise Http404
    finished = job.status in FINISHED
    action = BulkAction.from_json(job.params)
    items = job_items_page(job_id=job.pk, after_id=None, limit=200)[:200] if finished else []
    outcomes = [
        OrderOutcome(
            order_id=item.subject_id,
            number=(item.result or {}).get("number"),
            ok=item.ok,
            detail=(item.result or {}).get("did") or (item.result or {}).get("would"),
            skipped=(item.result or {}).get("skipped"),
        )
        for item in items
    ]
    choice = action.name
    context = {
        "job": job,
        "dry_run": action.dry_run,
        "can_run": action.dry_run and job.status == "succeeded" and job.ok_count > 0,
        "finished": finished,
        "percent": int(job.done * 100 / job.total) if job.total else 100,
        "skipped": job.done - job.ok_count,
        "codes": [(str(REASONS.get(c, c)), n) for c, n in job_codes(job_id=job.pk).items()]
        if finished
        else [],
        "rows": outcome_rows(action, outcomes),
        "choice_label": CHOICE_LABELS.get(choice, choice),
        "more": finished and job.total > len(items),
    }
    template = (
        "app/orders/_job.html" if request.headers.get("HX-Request") else "app/orders/job.html"
    )
    return render(request, template, context)
