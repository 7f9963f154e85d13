"""The merchant's own versions of the document templates."""

from __future__ import annotations

from django.db import models


class DocumentTemplate(models.Model):
    """One document's Liquid template (`packing_slip`); without a row the default is used."""

    name = models.CharField(max_length=40, unique=True)
    source = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
