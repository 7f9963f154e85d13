"""The buyer's self-service returns page: order number and email, then the lines that may
still come back, then the return.

A miss (no such order, another email, a redacted order, nothing returnable within the shop's
window) gets the very same page after the same database work, so orders cannot be enumerated.
Lookups are rate-limited per client address and per order number. The step between lookup and
request carries a signed, expiring token, never the order's id in a field. The API's middleware
stack has no CSRF middleware, so these views protect their forms themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from colis.core.actor import Actor
from colis.core.errors import DomainError
from colis.core.models import Shop
from colis.core.shop import shop_snapshot
from colis.orders.models import Order
from colis.returns.models import Return
from colis.returns.selectors import Returnable, returnable_lines
from colis.returns.services import MAX_TEXT, ReturnLineDraft, return_create
from colis.returns.status import ReturnReason, ReturnSource, ReturnState
from colis.web.ratelimit import Limit, limit_take
from colis.web.returns_text import TEXT, lang_from_header, lang_short, reasons

SALT = "colis.returns.portal"
DONE_SALT = "colis.returns.portal.done"
TOKEN_MAX_AGE = 30 * 60
DONE_MAX_AGE = 24 * 3600
LOOKUP_PER_ADDRESS = Limit(name="returns-address", burst=10, per=600)
LOOKUP_PER_NUMBER = Limit(name="returns-number", burst=5, per=600)
REQUEST_PER_ADDRESS = Limit(name="returns-request", burst=20, per=600)
BUYER = Actor(kind="system", label="buyer")
# Peers taken for a reverse proxy on this machine, whose X-Forwarded-For is believed.
LOCAL_PEERS = frozenset({"127.0.0.1", "::1"})
# A missing order's email is compared with this, so a miss costs what a mismatch costs.
_NOBODY = hashlib.sha256(b"nobody@colis.invalid").digest()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class HttpResponseSeeOther(HttpResponseRedirect):
    status_code = 303


def client_address(request: HttpRequest) -> str:
    """The visitor's address: the peer, or, when the peer is a proxy on this machine, the
    address that proxy saw (the last X-Forwarded-For entry, the one it appended)."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    if peer in LOCAL_PEERS:
        last = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")[-1].strip()
        if last:
            return last[:64]
    return peer


def _single_line(value: str, limit: int) -> str:
    """A typed one-line value, or "" when it is too long or holds control characters."""
    value = value.strip()
    return "" if len(value) > limit or _CONTROL.search(value) else value


def _visitor_lang(request: HttpRequest) -> str:
    """Before an order is found the page speaks the browser's language (then the shop's):
    never the order's, which would tell that the order exists."""
    return (
        lang_from_header(request.headers.get("Accept-Language", ""))
        or lang_short(shop_snapshot().locale)
        or "en"
    )


def _order_lang(request: HttpRequest, order: Order) -> str:
    return lang_short(order.locale) or _visitor_lang(request)


def _page(
    request: HttpRequest, name: str, lang: str, status: int = 200, **context: Any
) -> HttpResponse:
    context.update(t=TEXT[lang], lang=lang, shop=shop_snapshot().name)
    return render(request, f"returns/{name}.html", context, status=status)


def _lookup_page(
    request: HttpRequest, lang: str, message: str = "", status: int = 200
) -> HttpResponse:
    return _page(request, "lookup", lang, status=status, message=message)


def _nothing(request: HttpRequest, lang: str) -> HttpResponse:
    return _lookup_page(request, lang, TEXT[lang]["nothing"])


def _too_many(request: HttpRequest, lang: str, wait: float) -> HttpResponse:
    response = _lookup_page(request, lang, TEXT[lang]["too_many"], status=429)
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _redacted(order: Order) -> bool:
    return order.redacted_at is not None


def order_match(number: str, email: str) -> Order | None:
    """The order with this number whose email is this one (compared case-insensitively, in
    constant time), unless its buyer data was redacted. One query and one comparison whether
    or not the order exists."""
    order = Order.objects.filter(number=number).first()
    given = hashlib.sha256(email.strip().casefold().encode()).digest()
    stored = hashlib.sha256(order.email.strip().casefold().encode()).digest() if order else _NOBODY
    same = hmac.compare_digest(given, stored)
    if order is None or not same or not email or _redacted(order):
        return None
    return order


def _instructions() -> str:
    shop = Shop.objects.filter(pk=1).only("return_instructions").first()
    return shop.return_instructions if shop else ""


def _token(order: Order) -> str:
    return signing.dumps({"order": order.pk}, salt=SALT)


def _token_order(token: str) -> int | None:
    """The order id a lookup token carries, or None when it is forged or expired."""
    try:
        data = signing.loads(token[:500], salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    value = data.get("order") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(kw_only=True)
class ReturnForm:
    """What the buyer entered per line (to show it again), the drafts made of it, and what is
    wrong with it."""

    values: dict[int, dict[str, str]] = field(default_factory=dict)
    drafts: list[ReturnLineDraft] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _line_name(line: Returnable) -> str:
    return f"{line.sku} ({line.title})" if line.title else line.sku


def form_read(post: QueryDict, lines: list[Returnable], lang: str) -> ReturnForm:
    """Read the quantity, reason and note of each returnable line; a line with quantity 0 is
    not returned. Errors name the line."""
    t = TEXT[lang]
    form = ReturnForm()
    for line in lines:
        raw = post.get(f"quantity-{line.line_id}", "").strip()
        reason = post.get(f"reason-{line.line_id}", "")[:40]
        note = _CONTROL_IN_TEXT.sub("", post.get(f"note-{line.line_id}", "")).strip()
        form.values[line.line_id] = {"quantity": raw[:7], "reason": reason, "note": note[:MAX_TEXT]}
        name = _line_name(line)
        if not raw:
            continue
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
            form.errors.append(t["bad_quantity"].format(line=name, n=line.quantity))
            continue
        quantity = int(raw)
        if quantity == 0:
            continue
        if quantity > line.quantity:
            form.errors.append(t["too_much"].format(line=name, n=line.quantity))
        elif reason not in ReturnReason.values:
            form.errors.append(t["reason_needed"].format(line=name))
        elif reason == ReturnReason.OTHER and not note:
            form.errors.append(t["note_needed"].format(line=name))
        elif len(note) > MAX_TEXT:
            form.errors.append(t["note_too_long"].format(line=name, n=MAX_TEXT))
        else:
            form.drafts.append(
                ReturnLineDraft(line_id=line.line_id, quantity=quantity, reason=reason, note=note)
            )
    if not form.errors and not form.drafts:
        form.errors.append(t["none_chosen"])
    return form


def _refusal(exc: DomainError, form: ReturnForm, lines: list[Returnable], lang: str) -> str:
    """A refusal of the return service as the buyer reads it, naming the lines at fault."""
    names = {ln.line_id: _line_name(ln) for ln in lines}
    said = []
    for key, value in exc.fields.items():
        parts = str(key).split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(form.drafts):
                said.append(f"{names.get(form.drafts[index].line_id or 0, '')}: {value}")
    return TEXT[lang]["refused"].format(message=" ".join(said) or exc.message)


def _lines_page(
    request: HttpRequest,
    order: Order,
    lines: list[Returnable],
    *,
    form: ReturnForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    lang = _order_lang(request, order)
    values = form.values if form else {}
    rows = [
        {"line": ln, **values.get(ln.line_id, {"quantity": "0", "reason": "", "note": ""})}
        for ln in lines
    ]
    return _page(
        request,
        "lines",
        lang,
        status=status,
        rows=rows,
        reasons=reasons(lang),
        token=_token(order),
        choose=TEXT[lang]["choose"].format(number=order.number),
        errors=errors if errors is not None else (form.errors if form else []),
    )


@require_http_methods(["GET", "POST"])
@never_cache
@xframe_options_deny
@csrf_protect
def returns_lookup(request: HttpRequest) -> HttpResponse:
    """GET: the lookup form. POST: the order's returnable lines, or the one answer for every
    miss."""
    lang = _visitor_lang(request)
    if request.method == "GET":
        return _lookup_page(request, lang)
    number = _single_line(request.POST.get("number", ""), 64).lstrip("#").strip()
    email = _single_line(request.POST.get("email", ""), 254)
    wait = limit_take(LOOKUP_PER_ADDRESS, client_address(request)) or limit_take(
        LOOKUP_PER_NUMBER, number.casefold()
    )
    if wait:
        return _too_many(request, lang, wait)
    order = order_match(number, email)
    # The same reads run for a miss, on an order that cannot exist.
    lines = returnable_lines(order=order or Order(pk=0), within_window=True)
    if order is None or not lines:
        return _nothing(request, lang)
    return _lines_page(request, order, lines)


@require_http_methods(["POST"])
@never_cache
@xframe_options_deny
@csrf_protect
def returns_request(request: HttpRequest) -> HttpResponse:
    """Create the return from the chosen lines; then the confirmation page."""
    lang = _visitor_lang(request)
    wait = limit_take(REQUEST_PER_ADDRESS, client_address(request))
    if wait:
        return _too_many(request, lang, wait)
    order_id = _token_order(request.POST.get("token", ""))
    if order_id is None:
        return _lookup_page(request, lang, TEXT[lang]["expired"], status=400)
    order = Order.objects.filter(pk=order_id).first()
    if order is None or _redacted(order):
        return _nothing(request, lang)
    lines = returnable_lines(order=order, within_window=True)
    if not lines:
        return _nothing(request, lang)
    form = form_read(request.POST, lines, _order_lang(request, order))
    if form.errors:
        return _lines_page(request, order, lines, form=form, status=422)
    try:
        rma = return_create(
            order_id=order.pk,
            lines=form.drafts,
            source=ReturnSource.BUYER,
            require_window=True,
            actor=BUYER,
        )
    except DomainError as exc:
        message = _refusal(exc, form, lines, _order_lang(request, order))
        return _lines_page(
            request, order, lines, form=form, errors=[message], status=exc.http_status
        )
    done = signing.dumps({"return": rma.pk}, salt=DONE_SALT)
    return HttpResponseSeeOther(reverse("returns-done", args=[done]))


@require_http_methods(["GET"])
@never_cache
@xframe_options_deny
def returns_done(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation: the return's number and state; once approved, how and where to send
    the items."""
    lang = _visitor_lang(request)
    try:
        data = signing.loads(token[:500], salt=DONE_SALT, max_age=DONE_MAX_AGE)
    except signing.BadSignature:
        data = None
    return_id = data.get("return") if isinstance(data, dict) else None
    rma = (
        Return.objects.select_related("order", "location").filter(pk=return_id).first()
        if isinstance(return_id, int) and not isinstance(return_id, bool)
        else None
    )
    if rma is None or _redacted(rma.order):
        return _lookup_page(request, lang, TEXT[lang]["expired"], status=400)
    lang = _order_lang(request, rma.order)
    t = TEXT[lang]
    approved = rma.state == ReturnState.APPROVED
    labels = dict(reasons(lang))
    location = rma.location
    address = {"name": location.name, **(location.address or {})} if location else {}
    return _page(
        request,
        "done",
        lang,
        rma=rma,
        approved=approved,
        said=(t["done_approved"] if approved else t["done_requested"]).format(number=rma.number),
        state=t.get(rma.state, rma.state),
        lines=[
            {
                "sku": ln.sku,
                "title": ln.order_line.title,
                "quantity": ln.quantity,
                "reason": labels.get(ln.reason, ln.reason),
            }
            for ln in rma.lines.select_related("order_line").order_by("pk")
        ],  # fmt: skip
        instructions=_instructions() if approved else "",
        address=address if approved and address.get("line1") else {},
        mark=t["mark"].format(number=rma.number),
    )


urlpatterns = [
    path("", returns_lookup, name="returns"),
    path("request", returns_request, name="returns-request"),
    path("done/<str:token>/", returns_done, name="returns-done"),
]
