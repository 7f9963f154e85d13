from __future__ import annotations

from django.db import models


class WeightUnit(models.TextChoices):
    GRAM = "g"
    KILOGRAM = "kg"
    OUNCE = "oz"
    POUND = "lb"


GRAMS_PER_UNIT = {"g": 1.0, "kg": 1000.0, "oz": 28.349523125, "lb": 453.59237}


class Product(models.Model):
    """One SKU. `sku` keeps the merchant's spelling; `sku_key` (upper-cased) makes it unique."""

    sku = models.CharField(max_length=100)
    sku_key = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, default="", db_index=True)
    weight = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    weight_unit = models.CharField(max_length=2, choices=WeightUnit.choices, default="g")
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    hs_code = models.CharField(max_length=16, blank=True, default="")
    country_of_origin = models.CharField(max_length=2, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    @property
    def weight_grams(self) -> int | None:
        if self.weight is None:
            return None
        return round(float(self.weight) * GRAMS_PER_UNIT[self.weight_unit])


def sku_key(sku: str) -> str:
    return sku.strip().upper()
