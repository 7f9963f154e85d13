"""Document templates: read, edit (validated), preview, reset.

A template is checked when saved: it must parse (a syntax error names its line), stay under the
size bound, render against sample data within the sandbox's limits, and render only markup
elements (`colis.documents.markup`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from colis.core.actor import Actor
from colis.core.errors import NotFound, ValidationError
from colis.core.timeline import event_record
from colis.documents.markup import PACKING_SLIP_DEFAULT, MarkupError, template_check
from colis.documents.models import DocumentTemplate

DEFAULTS = {"packing_slip": PACKING_SLIP_DEFAULT}


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentTemplateView:
    name: str
    source: str
    customized: bool
    default: str


def _check_name(name: str) -> None:
    if name not in DEFAULTS:
        raise NotFound("No such document template.", code="template_not_found")


def template_source(name: str) -> str:
    """The source in use: the merchant's, else the default. One query."""
    row = DocumentTemplate.objects.filter(name=name).values_list("source", flat=True).first()
    return row or DEFAULTS[name]


def document_template_get(*, name: str) -> DocumentTemplateView:
    _check_name(name)
    row = DocumentTemplate.objects.filter(name=name).first()
    return DocumentTemplateView(
        name=name,
        source=row.source if row else DEFAULTS[name],
        customized=row is not None,
        default=DEFAULTS[name],
    )


def template_refusal(exc: MarkupError) -> ValidationError:
    return ValidationError(
        "The template is not valid.", code="invalid_template", fields={"source": str(exc)}
    )


def document_template_update(*, name: str, source: str, actor: Actor) -> DocumentTemplateView:
    """Save the merchant's version. Raises NotFound, ValidationError (`invalid_template`, its
    `source` field naming the line)."""
    _check_name(name)
    try:
        template_check(source)
    except MarkupError as exc:
        raise template_refusal(exc) from None
    with transaction.atomic():
        row, _ = DocumentTemplate.objects.select_for_update().get_or_create(
            name=name, defaults={"source": source}
        )
        row.source = source
        row.save()
        event_record(
            subject_type="document_template",
            subject_id=row.pk,
            kind="document_template_updated",
            actor=actor,
            data={"name": name},
        )
    return document_template_get(name=name)


def document_template_reset(*, name: str, actor: Actor) -> DocumentTemplateView:
    """Back to the default."""
    _check_name(name)
    with transaction.atomic():
        row = DocumentTemplate.objects.select_for_update().filter(name=name).first()
        if row is not None:
            event_record(
                subject_type="document_template",
                subject_id=row.pk,
                kind="document_template_reset",
                actor=actor,
                data={"name": name},
            )
            row.delete()
    return document_template_get(name=name)


def preview_source(*, name: str, draft: str | None) -> str:
    """The source a preview renders: the unsaved draft (checked), else the one in use."""
    _check_name(name)
    if draft is None:
        return template_source(name)
    try:
        template_check(draft)
    except MarkupError as exc:
        raise template_refusal(exc) from None
    return draft
