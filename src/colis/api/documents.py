"""HTTP API: documents (packing slips, pick lists, labels as PDF) and the packing slip template."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router, Schema
from pydantic import Field

from colis.accounts.roles import ORDERS_WRITE, READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.filters import OrderFilterIn
from colis.api.pagination import Id
from colis.core.errors import ValidationError
from colis.documents.html import slips_html
from colis.documents.logo import html_logo_load
from colis.documents.markup import SAMPLE_CONTEXT, MarkupError, markup_render, template_compile
from colis.documents.render import context_pdf, labels_pdf, packing_slips_pdf, pick_list_pdf
from colis.documents.selectors import (
    MAX_ORDERS,
    document_order_ids,
    order_require,
    places_load,
    slip_chunks,
)
from colis.documents.services import orders_mark_printed
from colis.documents.templates import (
    DocumentTemplateView,
    document_template_get,
    document_template_reset,
    document_template_update,
    preview_source,
    template_refusal,
    template_source,
)

router = Router(tags=["documents"])
PDF = {"responses": {200: {"description": "A PDF", "content": {"application/pdf": {}}}}}
HTML = {"responses": {200: {"description": "A page", "content": {"text/html": {}}}}}


class DocumentsIn(Schema):
    order_ids: list[Id] | None = Field(None, max_length=MAX_ORDERS)
    filter: OrderFilterIn | None = None
    location_id: Id | None = Field(None, description="Only what ships from this location.")
    group_by: Literal["fulfillment_order", "order"] = "fulfillment_order"
    mark_printed: bool = False
    move_to_awaiting_shipment: bool = False


class TemplatePatch(Schema):
    source: str = Field(max_length=20_000)


class PreviewIn(Schema):
    source: str | None = Field(None, max_length=20_000)
    order_id: Id | None = None
    format: Literal["pdf", "html"] = "pdf"


def _order_ids(body: DocumentsIn) -> list[int]:
    if body.order_ids:
        return document_order_ids(order_ids=body.order_ids)
    if body.filter is None:
        raise ValidationError(
            "Say which orders: order_ids or a filter.",
            code="orders_required",
            fields={"order_ids": "Required without a filter."},
        )
    return document_order_ids(filters=body.filter.to_filters())


def _pdf(pieces: Iterator[bytes], filename: str) -> StreamingHttpResponse:
    """Stream the PDF; its first piece is made here so a template error is still a 422."""
    try:
        first = next(pieces)
    except MarkupError as exc:
        raise template_refusal(exc) from None
    response = StreamingHttpResponse(chain([first], pieces), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _print(request: HttpRequest, body: DocumentsIn, document: str) -> StreamingHttpResponse:
    who = require(request, ORDERS_WRITE)
    ids = _order_ids(body)
    if document == "packing_slips":
        pieces = packing_slips_pdf(
            ids,
            source=template_source("packing_slip"),
            location_id=body.location_id,
            group_by=body.group_by,
        )
    elif document == "pick_list":
        pieces = pick_list_pdf(ids, location_id=body.location_id)
    else:
        pieces = labels_pdf(ids, location_id=body.location_id)
    response = _pdf(pieces, f"{document.replace('_', '-')}.pdf")
    if body.mark_printed or body.move_to_awaiting_shipment:
        orders_mark_printed(
            order_ids=ids,
            document=document,
            move_to_awaiting_shipment=body.move_to_awaiting_shipment,
            actor=who,
        )
    return response


@router.post("/documents/packing-slips", openapi_extra=PDF, summary="Packing slips as one PDF")
def documents_packing_slips(request: HttpRequest, body: DocumentsIn) -> Any:
    return _print(request, body, "packing_slips")


@router.post("/documents/pick-lists", openapi_extra=PDF, summary="A pick list as a PDF")
def documents_pick_list(request: HttpRequest, body: DocumentsIn) -> Any:
    return _print(request, body, "pick_list")


@router.post("/documents/labels", openapi_extra=PDF, summary="4x6 in shipping labels")
def documents_labels(request: HttpRequest, body: DocumentsIn) -> Any:
    return _print(request, body, "labels")


@router.get(
    "/orders/{order_id}/packing-slip.pdf",
    openapi_extra=PDF,
    summary="An order's packing slip (one page per FO)",
)
def order_packing_slip_pdf(request: HttpRequest, order_id: Id) -> Any:
    require(request, READ)
    order_require(order_id)
    source = template_source("packing_slip")
    return _pdf(packing_slips_pdf([order_id], source=source), f"packing-slip-{order_id}.pdf")


def _slips_html(order_id: int, source: str) -> HttpResponse:
    template = template_compile(source)
    markups = [
        markup_render(template, context, source)
        for contexts in slip_chunks([order_id], places=places_load())
        for context in contexts
    ]
    page = slips_html(markups, "Packing slip", html_logo_load())
    return HttpResponse(page, content_type="text/html")


@router.get(
    "/orders/{order_id}/packing-slip.html",
    openapi_extra=HTML,
    summary="An order's packing slip as a page to print from a browser",
)
def order_packing_slip_html(request: HttpRequest, order_id: Id) -> Any:
    require(request, READ)
    order_require(order_id)
    try:
        return _slips_html(order_id, template_source("packing_slip"))
    except MarkupError as exc:
        raise template_refusal(exc) from None


def template_out(view: DocumentTemplateView) -> dict[str, Any]:
    return {
        "name": view.name,
        "source": view.source,
        "customized": view.customized,
        "default": view.default,
    }


@router.get("/document-templates/{name}", summary="A document template (Liquid)")
def document_templates_read(request: HttpRequest, name: str) -> Any:
    require(request, READ)
    return template_out(document_template_get(name=name))


@router.patch("/document-templates/{name}", summary="Edit a document template")
def document_templates_update(request: HttpRequest, name: str, body: TemplatePatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    return template_out(document_template_update(name=name, source=body.source, actor=who))


@router.post(
    "/document-templates/{name}/preview",
    openapi_extra={"responses": {200: {"description": "A PDF or an HTML page"}}},
    summary="Render the template (saved or a draft) with an order or sample data",
)
def document_templates_preview(request: HttpRequest, name: str, body: PreviewIn) -> Any:
    require(request, SETTINGS_WRITE)
    source = preview_source(name=name, draft=body.source)
    try:
        if body.order_id is not None:
            order_require(body.order_id)
            if body.format == "html":
                return _slips_html(body.order_id, source)
            return _pdf(packing_slips_pdf([body.order_id], source=source), "preview.pdf")
        if body.format == "html":
            markup = markup_render(template_compile(source), SAMPLE_CONTEXT, source)
            page = slips_html([markup], "Preview", html_logo_load())
            return HttpResponse(page, content_type="text/html")
        return HttpResponse(context_pdf(SAMPLE_CONTEXT, source=source), "application/pdf")
    except MarkupError as exc:
        raise template_refusal(exc) from None


@router.post("/document-templates/{name}/reset", summary="Back to the default template")
def document_templates_reset(request: HttpRequest, name: str) -> Any:
    who = require(request, SETTINGS_WRITE)
    return template_out(document_template_reset(name=name, actor=who))
