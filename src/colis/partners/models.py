"""Fulfillment services: 3PLs and dropship suppliers. Each owns a location, so routing treats
it like any other place stock ships from."""

from __future__ import annotations

from django.db import models

from colis.locations.models import Location


class ServiceKind(models.TextChoices):
    THIRD_PARTY = "3pl"
    DROPSHIP = "dropship"


class NotifyMethod(models.TextChoices):
    EMAIL = "email"
    WEBHOOK = "webhook"
    PORTAL = "portal"  # the service reads its portal link or the API; nothing is sent


class OnReject(models.TextChoices):
    REROUTE = "reroute"
    HOLD = "hold"


class FulfillmentService(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=ServiceKind.choices)
    email = models.CharField(max_length=254, blank=True, default="")
    notify_method = models.CharField(
        max_length=10, choices=NotifyMethod.choices, default=NotifyMethod.EMAIL
    )
    webhook_url = models.CharField(max_length=500, blank=True, default="")
    webhook_secret = models.CharField(max_length=200, blank=True, default="")
    # Private and loopback webhook addresses are refused unless the merchant allows them here.
    webhook_allow_private = models.BooleanField(default=False)
    manages_own_stock = models.BooleanField(default=True)
    on_reject = models.CharField(max_length=10, choices=OnReject.choices, default=OnReject.REROUTE)
    location = models.OneToOneField(Location, on_delete=models.PROTECT, related_name="service")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class ServiceToken(models.Model):
    """An API token scoped to one fulfillment service: it sees and acts on that service's FOs
    only. Stored as a SHA-256 hash, like staff tokens."""

    service = models.ForeignKey(FulfillmentService, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=20)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
