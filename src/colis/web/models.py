from __future__ import annotations

from django.db import models


class RateLimit(models.Model):
    """A token bucket for the public pages, per key (a keyed hash of a client address or of
    what was typed), shared by every web process."""

    key = models.CharField(max_length=100, unique=True)
    tokens = models.FloatField()
    updated_at = models.FloatField(db_index=True)  # unix time of the last refill
