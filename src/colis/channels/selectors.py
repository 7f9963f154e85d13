"""Reads of channels, their order queue, their sync records and their SKU mapping."""

from __future__ import annotations

from django.db.models import QuerySet

from colis.channels.models import Channel, ChannelOrder, SkuMapping, SyncRecord


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.order_by("pk")


def channel_orders(*, channel_id: int, state: str = "pending") -> QuerySet[ChannelOrder]:
    """The channel's queued (or ignored, or imported) vendor orders, newest first."""
    return ChannelOrder.objects.filter(channel_id=channel_id, state=state).order_by("-pk")


def sync_records(*, channel_id: int, direction: str = "", state: str = "") -> QuerySet[SyncRecord]:
    """Every exchange with the vendor, newest first."""
    qs = SyncRecord.objects.filter(channel_id=channel_id).order_by("-pk")
    if direction:
        qs = qs.filter(direction=direction)
    if state:
        qs = qs.filter(state=state)
    return qs


def sku_mappings(*, channel_id: int) -> QuerySet[SkuMapping]:
    return SkuMapping.objects.filter(channel_id=channel_id).order_by("channel_sku", "pk")
