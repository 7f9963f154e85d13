from __future__ import annotations

from django.db import models
from django.db.models import Q


class Carrier(models.Model):
    """One carrier of the registry. `data_courier_codes` names what it claims in the
    tracking-number data (`courier`, `courier:format_id` or `courier:COUNTRY`); `channel_codes`
    holds its name on each sales channel (keys shopify, bigcommerce, amazon, ebay)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    tracking_url_template = models.CharField(max_length=500, blank=True, default="")
    data_courier_codes = models.JSONField(default=list, blank=True)
    channel_codes = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.code


class PackagePreset(models.Model):
    """A box the warehouse ships in: inside dimensions and the weight of the empty box."""

    name = models.CharField(max_length=100, unique=True)
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    weight_grams = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_package"
            )
        ]

    def __str__(self) -> str:
        return self.name
