"""The orders list page and its CSV export (the same filters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from colis.core.errors import DomainError
from colis.core.exports import csv_stream
from colis.core.money import money_format
from colis.locations.selectors import location_list
from colis.orders.selectors import (
    LIST_SORTS,
    LIST_TABS,
    ORDER_EXPORT_HEADER,
    ListKey,
    OrderFilters,
    OrderListQuery,
    order_channel_choices,
    order_list_export_rows,
    order_list_page,
    status_labels_read,
)
from colis.orders.status import STATUS_NAMES, FulfillmentStatus
from colis.web.access import ui_view
from colis.web.views.orders_list.bulk import CHOICE_LABELS, hold_reasons

PAGE_SIZE = 50
FIELD_ERRORS = ("location", "from", "to", "status")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TAB_LABELS = {
    "all": _("All"),
    "unfulfilled": _("Unfulfilled"),
    "on_hold": _("On hold"),
    "awaiting_shipment": _("Awaiting shipment"),
    "partially_shipped": _("Partially shipped"),
    "shipped": _("Shipped"),
    "cancelled": _("Cancelled"),
    "returns": _("Returns"),
}
SORT_LABELS = {
    "-date": _("Newest first"),
    "date": _("Oldest first"),
    "ship_by": _("Ship-by, soonest first"),
    "-ship_by": _("Ship-by, latest first"),
}
FULFILLMENT_LABELS = {
    FulfillmentStatus.UNFULFILLED: (_("Unfulfilled"), ""),
    FulfillmentStatus.PARTIALLY_FULFILLED: (_("Partially fulfilled"), "warn"),
    FulfillmentStatus.FULFILLED: (_("Fulfilled"), "ok"),
    FulfillmentStatus.ON_HOLD: (_("On hold"), "bad"),
    FulfillmentStatus.IN_PROGRESS: (_("In progress"), ""),
    FulfillmentStatus.SCHEDULED: (_("Scheduled"), ""),
    FulfillmentStatus.REQUEST_DECLINED: (_("Request declined"), "bad"),
    FulfillmentStatus.RESTOCKED: (_("Restocked"), ""),
}
# The query parameters a page keeps when it links to another page of the same list.
FILTER_PARAMS = ("q", "channel", "location", "from", "to", "tag", "status", "late", "shipped")


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9998:
        errors[name] = str(_("Enter a date as YYYY-MM-DD."))
        return None
    return day


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def key_encode(key: ListKey) -> str:
    if key.at is None:
        return f"{key.id}.n"
    return f"{key.id}.{(key.at - EPOCH) // timedelta(microseconds=1)}"


def key_decode(raw: str, sort: str) -> ListKey | None:
    """A cursor from the page's link; anything else starts from the first page."""
    head, _sep, tail = raw.partition(".")
    if not head.isascii() or not head.isdigit() or len(head) > 18:
        return None
    if tail == "n" and "ship_by" in sort:
        return ListKey(id=int(head), at=None)
    if tail.isascii() and tail.lstrip("-").isdigit() and len(tail) <= 19:
        try:
            return ListKey(id=int(head), at=EPOCH + timedelta(microseconds=int(tail)))
        except OverflowError:
            return None
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class ListRequest:
    query: OrderListQuery
    values: dict[str, str]
    errors: dict[str, str]


def list_request(params: QueryDict) -> ListRequest:
    """The list's query from the page's parameters; a bad one is named in `errors` and left out."""
    values = {k: params.get(k, "").strip()[:200] for k in (*FILTER_PARAMS, "tab", "sort")}
    errors: dict[str, str] = {}
    if values["tab"] not in LIST_TABS:
        values["tab"] = "all"
    if values["sort"] not in LIST_SORTS:
        values["sort"] = "-date"
    location = values["location"]
    location_id = int(location) if location.isdigit() and len(location) <= 18 else None
    if location and location_id is None:
        errors["location"] = str(_("Choose a location from the list."))
    start = _day(values["from"], "from", errors)
    end = _day(values["to"], "to", errors)
    status = values["status"]
    if status and not (status.isdigit() and int(status) in STATUS_NAMES):
        errors["status"] = str(_("Choose a status from the list."))
        status = ""
    now = timezone.now()
    query = OrderListQuery(
        filters=OrderFilters(
            status=status,
            channel=values["channel"][:64],
            q=values["q"],
            created_after=_start_of(start) if start else None,
            created_before=_start_of(end + timedelta(days=1)) if end else None,
            location_id=location_id,
        ),
        tab=values["tab"],
        tag=values["tag"][:100],
        late_at=now if values["late"] == "1" else None,
        shipped_since=_start_of(timezone.localdate(now)) if values["shipped"] == "today" else None,
        sort=values["sort"],
    )
    return ListRequest(query=query, values=values, errors=errors)


def _link(values: dict[str, str], **changes: str) -> str:
    params = QueryDict(mutable=True)
    for k, v in {**values, **changes}.items():
        if v and not (k == "tab" and v == "all") and not (k == "sort" and v == "-date"):
            params[k] = v
    encoded = params.urlencode()
    return f"/app/orders/?{encoded}" if encoded else "/app/orders/"


def _rows(page: Any, labels: dict[int, str], now: datetime) -> list[dict[str, Any]]:
    language = get_language() or "en"
    rows = []
    for o in page.orders:
        label, tone = FULFILLMENT_LABELS.get(o.fulfillment_status, (o.fulfillment_status, ""))
        rows.append(
            {
                "id": str(o.pk),
                "number": o.number,
                "created_at": date_format(localtime(o.created_at), "SHORT_DATETIME_FORMAT"),
                "buyer": o.buyer_name or o.email,
                "channel": o.channel,
                "total": money_format(o.total, o.currency, language[:2]),
                "status": labels.get(o.status, ""),
                "fulfillment": str(label),
                "tone": tone,
                "items": str(page.items.get(o.pk, 0)),
                "ship_by": date_format(localtime(o.ship_by), "SHORT_DATE_FORMAT")
                if o.ship_by
                else "",
                "late": bool(o.ship_by and o.ship_by < now and o.fulfillment_status != "fulfilled"),
            }
        )
    return rows


@ui_view()
def orders_list(request: HttpRequest) -> HttpResponse:
    asked = list_request(request.GET)
    values, query = asked.values, asked.query
    after = key_decode(request.GET.get("after", ""), query.sort)
    before = key_decode(request.GET.get("before", ""), query.sort) if after is None else None
    errors = dict(asked.errors)
    page = None
    try:
        page = order_list_page(query=query, after=after, before=before, limit=PAGE_SIZE)
    except DomainError as exc:
        errors.update({k: str(v) for k, v in exc.fields.items()} or {"": exc.message})
    labels = status_labels_read()
    rows = _rows(page, labels, timezone.now()) if page else []
    context = {
        "rows": rows,
        "values": values,
        "errors": errors,
        "general_errors": [v for k, v in errors.items() if k not in FIELD_ERRORS],
        "tabs": [
            {
                "url": _link(values, tab=t),
                "label": str(TAB_LABELS[t]),
                "current": values["tab"] == t,
            }
            for t in LIST_TABS
        ],
        "sorts": [(s, str(SORT_LABELS[s])) for s in LIST_SORTS],
        "statuses": [(str(k), v) for k, v in sorted(labels.items())],
        "channels": order_channel_choices(),
        "locations": [(str(pk), name) for pk, name in location_list().values_list("pk", "name")],
        "next_url": _link(values, after=key_encode(page.next_key))
        if page and page.next_key
        else "",
        "prev_url": _link(values, before=key_encode(page.prev_key))
        if page and page.prev_key
        else "",
        "here": request.get_full_path(),
        "export_url": "/app/orders/export.csv?" + _link(values).partition("?")[2],
        "filters_query": _link(values).partition("?")[2],
        "special": values["late"] == "1" or values["shipped"] == "today",
        # said once, not once per row
        "select_order": str(_("Select order")),
        "late": str(_("late")),
        "choices": [(k, str(v)) for k, v in CHOICE_LABELS.items()],
        "hold_reasons": [(k, str(v)) for k, v in hold_reasons()],
    }
    return render(request, "app/orders/list.html", context, status=422 if errors else 200)


@ui_view()
def orders_export(request: HttpRequest) -> HttpResponse:
    """Every order the list's filters find, as CSV (the API's export columns), streamed."""
    asked = list_request(request.GET)
    rows = order_list_export_rows(asked.query)
    response = StreamingHttpResponse(
        csv_stream(ORDER_EXPORT_HEADER, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
