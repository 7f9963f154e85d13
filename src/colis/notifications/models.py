"""The merchant's own versions of the buyer emails, and which ones are switched off."""

from __future__ import annotations

from django.db import models


class EmailTemplate(models.Model):
    """One buyer email. `parts` holds the merchant's versions by locale ({"fr": {"subject",
    "text", "html"}}); a locale without one uses the default."""

    name = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=True)
    parts = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)
