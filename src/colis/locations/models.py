from __future__ import annotations

from django.db import models
from django.db.models import Q


class Location(models.Model):
    """A place stock lives and orders ship from. `priority` 1 is tried first by routing."""

    name = models.CharField(max_length=200)
    address = models.JSONField(default=dict)
    phone = models.CharField(max_length=32, blank=True, default="")
    fulfills_online_orders = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    priority = models.PositiveIntegerField(default=0)
    allow_negative_stock = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_location"
            )
        ]
