"""Tracking import: upload a CSV of tracking numbers, read the dry run row by row, then apply
the same file.

Between the two steps the uploaded bytes stay on the server, compressed in the user's session
(at most one pending file, capped in size) under a random id; the page carries only that id,
signed, so the apply reads exactly the file the dry run checked."""

from __future__ import annotations

import base64
import hashlib
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from colis.accounts.roles import ORDERS_WRITE
from colis.core.errors import DomainError, ValidationError
from colis.shipping.tracking_import import (
    MAX_BYTES,
    ImportReport,
    ImportRow,
    tracking_import_apply,
    tracking_import_check,
    tracking_import_read,
)
from colis.web.access import ui_view

TEMPLATE = "app/tracking/import.html"
SESSION_KEY = "colis_tracking_import"
SALT = "colis.tracking-import"
# What the session may hold between the dry run and the apply (compressed): a file of tracking
# numbers compresses about tenfold, so this takes the largest files the import reads.
MAX_STASHED = 2 * 1024 * 1024
TOKEN_AGE = 3600
MAX_SHOWN = 1000


@dataclass(frozen=True, kw_only=True, slots=True)
class RowResult:
    row: int
    order: str
    tracking: str
    carrier: str
    code: str
    message: str

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def _stash(request: HttpRequest, data: bytes, filename: str) -> str:
    packed = zlib.compress(data, 6)
    if len(packed) > MAX_STASHED:
        raise ValidationError(
            _("This file is too large to check here; import it with the API or the command line."),
            code="file_too_large",
            fields={"file": _("Too large.")},
        )
    stash_id = secrets.token_urlsafe(16)
    request.session[SESSION_KEY] = {
        "id": stash_id,
        "data": base64.b64encode(packed).decode("ascii"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "name": filename[:200],
    }
    return signing.dumps({"id": stash_id, "user": request.user.pk}, salt=SALT)


def _unstash(request: HttpRequest, token: str) -> tuple[bytes, str]:
    """The file the dry run checked; ValidationError when the token is stale or not this
    user's."""
    stale = ValidationError(
        _("This upload has expired or was replaced; upload the file again."),
        code="upload_expired",
        fields={"file": _("Upload again.")},
    )
    try:
        signed = signing.loads(token, salt=SALT, max_age=TOKEN_AGE)
    except signing.BadSignature:
        raise stale from None
    stash = request.session.get(SESSION_KEY) or {}
    if signed.get("user") != request.user.pk or signed.get("id") != stash.get("id"):
        raise stale
    data = zlib.decompress(base64.b64decode(stash["data"]))
    if hashlib.sha256(data).hexdigest() != stash.get("sha256"):
        raise stale
    return data, stash.get("name", "")


def _results(rows: list[ImportRow], report: ImportReport) -> list[RowResult]:
    """One line per data row, with its outcome; only the rows with an issue when the file is
    long."""
    issues: dict[int, list[tuple[str, str]]] = {}
    for issue in [*report.errors, *report.skipped]:
        issues.setdefault(issue.row, []).append((issue.code, issue.message))
    carriers = {
        n: planned.tracking.carrier_name or planned.tracking.carrier_code
        for planned in report.shipments
        for n in planned.rows
    }
    shown = rows if len(rows) <= MAX_SHOWN else [r for r in rows if r.row in issues]
    out = []
    for row in shown[:MAX_SHOWN]:
        found = issues.get(row.row) or [("ok", "")]
        out.append(
            RowResult(
                row=row.row,
                order=row.order_number or row.channel_order_id,
                tracking=row.tracking_number,
                carrier=carriers.get(row.row) or row.carrier,
                code=", ".join(code for code, _m in found),
                message=" ".join(m for _c, m in found if m),
            )
        )
    return out


def _summary(report: ImportReport) -> dict[str, Any]:
    return {
        "rows": report.rows,
        "ok": report.ok,
        "errors": len({e.row for e in report.errors}),
        "skipped": len({s.row for s in report.skipped}),
        "planned": len(report.shipments),
        "created": report.created_shipments,
    }


def _upload(request: HttpRequest) -> tuple[bytes, str]:
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError(
            _("Choose a CSV file."), code="file_required", fields={"file": _("Required.")}
        )
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)s MB; split it.") % {"mb": MAX_BYTES // 2**20},
            code="file_too_large",
            fields={"file": _("Too large.")},
        )
    return upload.read(MAX_BYTES + 1), upload.name or ""


def _refused(request: HttpRequest, exc: DomainError, **extra: Any) -> HttpResponse:
    status = exc.http_status if 400 <= exc.http_status < 500 else 422
    context = {"error": exc.message, "errors": {k: str(v) for k, v in exc.fields.items()}, **extra}
    return render(request, TEMPLATE, context, status=status)


@ui_view(write=ORDERS_WRITE)
def tracking_import(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST: the dry run of the uploaded file, and the Apply button."""
    if request.method == "GET":
        return render(request, TEMPLATE, {"errors": {}})
    try:
        data, filename = _upload(request)
        rows = tracking_import_read(data=data)
        report = tracking_import_check(data=data, actor=request.actor)  # type: ignore[attr-defined]
        token = _stash(request, data, filename) if report.shipments else ""
    except DomainError as exc:
        return _refused(request, exc)
    context = {
        "errors": {},
        "step": "checked",
        "filename": filename,
        "token": token,
        "summary": _summary(report),
        "results": _results(rows, report),
        "partial_list": len(rows) > MAX_SHOWN,
    }
    return render(request, TEMPLATE, context)


@ui_view(write=ORDERS_WRITE)
def tracking_import_apply_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, TEMPLATE, {"errors": {}})
    try:
        data, filename = _unstash(request, request.POST.get("token", "")[:1000])
        rows = tracking_import_read(data=data)
        report = tracking_import_apply(data=data, actor=request.actor)  # type: ignore[attr-defined]
    except DomainError as exc:
        return _refused(request, exc)
    request.session.pop(SESSION_KEY, None)
    context = {
        "errors": {},
        "step": "applied",
        "filename": filename,
        "summary": _summary(report),
        "results": _results(rows, report),
        "partial_list": len(rows) > MAX_SHOWN,
    }
    return render(request, TEMPLATE, context)


urlpatterns = [
    path("", tracking_import, name="app-tracking-import"),
    path("apply/", tracking_import_apply_view, name="app-tracking-import-apply"),
]
