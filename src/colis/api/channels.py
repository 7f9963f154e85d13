"""HTTP API for sales channels: connect and configure, import now, the pending queue, the SKU
mapping, sync records, and the vendors' incoming webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from colis.accounts.roles import ORDERS_WRITE, READ, SETTINGS_WRITE
from colis.api.auth import require
from colis.api.pagination import CREATED, NO_CONTENT, Id, check_limit, cursor_decode, page
from colis.channels.importing import channel_import, pending_order_retry
from colis.channels.intake import channel_webhook_receive
from colis.channels.models import Channel, ChannelOrder, SkuMapping, SyncRecord
from colis.channels.records import sync_record_retry
from colis.channels.scheduler import channel_import_task
from colis.channels.services import (
    carrier_mapping_gaps,
    channel_create,
    channel_get,
    channel_update,
    sku_mapping_delete,
    sku_mapping_set,
    sku_mappings_upload,
)
from colis.core.errors import NotFound, ValidationError
from colis.core.models import OutboxMessage

router = Router(tags=["channels"])

MAX_MAPPING_FILE = 5 * 1024 * 1024


class ChannelOptions(Schema):
    active: bool | None = None
    import_enabled: bool | None = None
    import_interval_seconds: int | None = Field(None, ge=60, le=86_400)
    import_start: datetime | None = None
    import_fba: bool | None = None
    stock_policy: Literal["hold", "wait"] | None = None
    fulfillment_sync: bool | None = None
    cancellation_sync: bool | None = None
    require_tracking: bool | None = None
    notify_buyer: bool | None = None
    refund_sync: bool | None = None
    rate_limits: Literal["published", "off"] | None = None
    # Days buyer personal data is kept once an order is done; null keeps it (not for Amazon).
    retention_days: int | None = Field(None, ge=1, le=3650)


class ChannelIn(ChannelOptions):
    kind: Literal["amazon", "ebay", "shopify", "bigcommerce"]
    name: str = Field(max_length=64)
    credentials: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


class ChannelPatch(ChannelOptions):
    name: str | None = Field(None, max_length=64)
    credentials: dict[str, str] | None = None
    settings: dict[str, Any] | None = None


class MappingIn(Schema):
    channel_sku: str = Field(max_length=200)
    sku: str = Field(max_length=100)


class RetryIn(Schema):
    force: bool = False


def channel_out(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "settings": channel.settings,
        "credentials": {"set": bool(channel.credentials_sealed)},
        "active": channel.active,
        "import_enabled": channel.import_enabled,
        "import_interval_seconds": channel.import_interval_seconds,
        "import_start": channel.import_start,
        "import_fba": channel.import_fba,
        "stock_policy": channel.stock_policy,
        "fulfillment_sync": channel.fulfillment_sync,
        "cancellation_sync": channel.cancellation_sync,
        "require_tracking": channel.require_tracking,
        "notify_buyer": channel.notify_buyer,
        "refund_sync": channel.refund_sync,
        "rate_limits": channel.rate_limits,
        "retention_days": channel.retention_days,
        "connected_at": channel.created_at,
        "last_import_at": channel.last_import_at,
        "import_cursor": channel.import_cursor,
        "webhook_path": f"/api/v1/channels/{channel.pk}/webhooks",
    }


def record_out(r: SyncRecord, next_retry: Any = None) -> dict[str, Any]:
    return {
        "id": r.pk,
        "direction": r.direction,
        "operation": r.operation,
        "state": r.state,
        "order_id": r.order_id,
        "shipment_id": r.shipment_id,
        "request": r.request,
        "response": r.response,
        "vendor_id": r.vendor_id,
        "message": r.message,
        "attempts": r.attempts,
        "next_retry_at": next_retry,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def pending_out(r: ChannelOrder) -> dict[str, Any]:
    data = r.data or {}
    return {
        "id": r.pk,
        "external_id": r.external_id,
        "state": r.state,
        "number": data.get("number", ""),
        "placed_at": data.get("placed_at"),
        "email": data.get("email", ""),
        "lines": [
            {"sku": ln.get("sku"), "quantity": ln.get("quantity"), "title": ln.get("title")}
            for ln in data.get("lines", [])
        ],
        "shipping_address": data.get("shipping_address"),
        "checks": r.checks,
        "failing": [c for c in r.checks if not c.get("ok")],
        "order_id": r.order_id,
        "forced": r.forced,
        "attempts": r.attempts,
        "first_seen_at": r.first_seen_at,
        "checked_at": r.checked_at,
    }


def _options(body: ChannelOptions) -> dict[str, Any]:
    options = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if k in ChannelOptions.model_fields and v is not None}  # fmt: skip
    if "retention_days" in body.model_fields_set:  # an explicit null means "keep"
        options["retention_days"] = body.retention_days
    return options


@router.get("", summary="List channels")
def channels_list(request: HttpRequest) -> Any:
    require(request, READ)
    return {"items": [channel_out(c) for c in Channel.objects.order_by("pk")], "next_cursor": None}


@router.post("", response=CREATED, summary="Connect a channel (credentials are never shown)")
def channels_create(request: HttpRequest, body: ChannelIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    channel = channel_create(
        kind=body.kind,
        name=body.name,
        credentials=body.credentials,
        settings=body.settings,
        options=_options(body),
        actor=who,
    )
    gaps = carrier_mapping_gaps(channel.kind)
    return Status(201, {**channel_out(channel), "carrier_codes_missing": gaps})


@router.get("/{channel_id}", summary="Read a channel")
def channels_read(request: HttpRequest, channel_id: Id) -> Any:
    require(request, READ)
    channel = channel_get(channel_id=channel_id)
    return {**channel_out(channel), "carrier_codes_missing": carrier_mapping_gaps(channel.kind)}


@router.patch("/{channel_id}", summary="Change a channel")
def channels_update(request: HttpRequest, channel_id: Id, body: ChannelPatch) -> Any:
    who = require(request, SETTINGS_WRITE)
    channel = channel_update(
        channel_id=channel_id,
        name=body.name,
        credentials=body.credentials,
        settings=body.settings,
        options=_options(body),
        actor=who,
    )
    return channel_out(channel)


@router.post("/{channel_id}/sync", summary="Import now (queued; ?wait=true runs it in the call)")
def channels_sync(request: HttpRequest, response: HttpResponse, channel_id: Id,
                  wait: bool = False) -> Any:  # fmt: skip
    who = require(request, ORDERS_WRITE)
    channel = channel_get(channel_id=channel_id)
    if wait:
        return channel_import(channel_id=channel.pk, actor=who).as_dict()
    channel_import_task.enqueue(channel.pk, False)
    return Status(202, {"queued": True})


@router.get("/{channel_id}/sync-records", summary="Every exchange with the vendor, newest first")
def channels_sync_records(
    request: HttpRequest,
    channel_id: Id,
    direction: str = "",
    state: str = "",
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    channel_get(channel_id=channel_id)
    qs = SyncRecord.objects.filter(channel_id=channel_id).order_by("-pk")
    if direction:
        qs = qs.filter(direction=direction)
    if state:
        qs = qs.filter(state=state)
    if order_id:
        qs = qs.filter(order_id=order_id)
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    due = dict(
        OutboxMessage.objects.filter(
            pk__in=[r.outbox_message_id for r in rows if r.outbox_message_id],
            status="pending",
        ).values_list("pk", "next_attempt_at")
    )
    return page(rows, limit, lambda r: record_out(r, due.get(r.outbox_message_id)))


@router.post("/{channel_id}/sync-records/{record_id}/retry", summary="Retry a failed push")
def channels_sync_retry(request: HttpRequest, channel_id: Id, record_id: Id) -> Any:
    who = require(request, ORDERS_WRITE)
    return record_out(sync_record_retry(record_id=record_id, channel_id=channel_id, actor=who))


@router.get("/{channel_id}/pending-orders", summary="Orders waiting on a failing check")
def channels_pending(
    request: HttpRequest,
    channel_id: Id,
    state: Literal["pending", "ignored", "imported"] = "pending",
    cursor: str | None = None,
    limit: int = 50,
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    channel_get(channel_id=channel_id)
    qs = ChannelOrder.objects.filter(channel_id=channel_id, state=state).order_by("-pk")
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__lt=after)
    return page(list(qs[: limit + 1]), limit, pending_out)


@router.get("/{channel_id}/pending-orders/{record_id}", summary="One order of the queue")
def channels_pending_read(request: HttpRequest, channel_id: Id, record_id: Id) -> Any:
    require(request, READ)
    record = ChannelOrder.objects.filter(channel_id=channel_id, pk=record_id).first()
    if record is None:
        raise NotFound("No such order in this channel's queue.", code="pending_order_not_found")
    return pending_out(record)


@router.post("/{channel_id}/pending-orders/{record_id}/retry",
             summary="Check again (or force past the checks that can be waived)")  # fmt: skip
def channels_pending_retry(
    request: HttpRequest, channel_id: Id, record_id: Id, body: RetryIn | None = None
) -> Any:
    who = require(request, ORDERS_WRITE)
    record = pending_order_retry(
        channel_id=channel_id, record_id=record_id, force=bool(body and body.force), actor=who
    )
    return pending_out(record)


@router.get("/{channel_id}/sku-mappings", summary="The channel's SKU mapping")
def channels_mappings(
    request: HttpRequest, channel_id: Id, cursor: str | None = None, limit: int = 250
) -> Any:
    require(request, READ)
    limit = check_limit(limit)
    channel_get(channel_id=channel_id)
    qs = SkuMapping.objects.filter(channel_id=channel_id).order_by("pk")
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__gt=after)
    return page(list(qs[: limit + 1]), limit,
                lambda m: {"id": m.pk, "channel_sku": m.channel_sku, "sku": m.sku})  # fmt: skip


@router.post("/{channel_id}/sku-mappings", response=CREATED, summary="Map a channel SKU to ours")
def channels_mapping_set(request: HttpRequest, channel_id: Id, body: MappingIn) -> Any:
    who = require(request, SETTINGS_WRITE)
    m = sku_mapping_set(
        channel_id=channel_id, channel_sku=body.channel_sku, sku=body.sku, actor=who
    )
    return Status(201, {"id": m.pk, "channel_sku": m.channel_sku, "sku": m.sku})


@router.post("/{channel_id}/sku-mappings/upload",
             summary="Upload a CSV of channel_sku,sku (all rows or none)")  # fmt: skip
def channels_mapping_upload(request: HttpRequest, channel_id: Id) -> Any:
    who = require(request, SETTINGS_WRITE)
    raw = request.FILES["file"].read() if "file" in request.FILES else request.body
    if len(raw) > MAX_MAPPING_FILE:
        raise ValidationError("The file is too large (5 MB at most).", code="file_too_large",
                              fields={"file": "5 MB at most."})  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text.", code="invalid_csv",
                              fields={"file": "UTF-8 CSV expected."}) from exc  # fmt: skip
    return sku_mappings_upload(channel_id=channel_id, text=text, actor=who)


@router.delete("/{channel_id}/sku-mappings/{mapping_id}", response=NO_CONTENT,
               summary="Remove a mapping")  # fmt: skip
def channels_mapping_delete(request: HttpRequest, channel_id: Id, mapping_id: Id) -> Any:
    who = require(request, SETTINGS_WRITE)
    sku_mapping_delete(channel_id=channel_id, mapping_id=mapping_id, actor=who)
    return Status(204, None)


@router.post("/{channel_id}/webhooks", auth=None,
             summary="Vendor webhooks (checked by their signature, no token)")  # fmt: skip
def channels_webhook(request: HttpRequest, channel_id: Id) -> Any:
    headers = {k: v for k, v in request.headers.items()}
    return channel_webhook_receive(channel_id=channel_id, headers=headers, body=request.body)
