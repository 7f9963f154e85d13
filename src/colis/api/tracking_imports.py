"""HTTP API: tracking-number imports (a CSV of tracking numbers, dry run or apply)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from colis.accounts.roles import ORDERS_WRITE
from colis.api.auth import require
from colis.core.errors import ValidationError
from colis.shipping.tracking_import import (
    ImportReport,
    tracking_import_apply,
    tracking_import_check,
)

router = Router(tags=["tracking_imports"])

# What browsers and tools send for a .csv file; anything else is refused before reading.
CSV_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/plain",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def report_out(report: ImportReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "rows": report.rows,
        "ok": report.ok,
        "errors": [{"row": e.row, "code": e.code, "message": e.message} for e in report.errors],
        "already_applied": [
            {"row": s.row, "code": s.code, "message": s.message} for s in report.skipped
        ],
        "shipments_planned": len(report.shipments),
        "created_shipments": report.created_shipments,
        "shipment_ids": report.created_shipment_ids,
    }


def _file(request: HttpRequest) -> bytes:
    content_type = (request.content_type or "").lower()
    if content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError(
                "Send the CSV as the multipart field `file`.",
                code="file_required",
                fields={"file": "Required."},
            )
        return upload.read()
    if request.body and content_type not in CSV_TYPES:
        raise ValidationError(
            f"Send the file as text/csv or as multipart field `file`, not {content_type!r}.",
            code="not_csv",
            fields={"Content-Type": "text/csv or multipart/form-data."},
        )
    return request.body


@router.post(
    "",
    summary="Import tracking numbers from a CSV; dry_run=true reports without changing anything",
    openapi_extra=_BODY,
)
def tracking_imports_create(request: HttpRequest, dry_run: bool = True) -> Any:
    who = require(request, ORDERS_WRITE)
    data = _file(request)
    if dry_run:
        return report_out(tracking_import_check(data=data, actor=who))
    return report_out(tracking_import_apply(data=data, actor=who))
