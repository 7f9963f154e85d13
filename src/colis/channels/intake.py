"""Webhooks from the vendors (Shopify, BigCommerce): checked, recorded once, and the orders
they name read again from the vendor and brought in (a webhook body is a hint, never the truth:
the order is always read back through the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from colis.channels.connectors.base import WebhookRefused
from colis.channels.importing import channel_order_refresh
from colis.channels.models import Channel, SyncState, WebhookReceipt
from colis.channels.records import sync_record_write
from colis.core.errors import NotAuthenticated, NotFound


def channel_webhook_receive(
    *, channel_id: int, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """Handle one incoming webhook. Raises NotFound, NotAuthenticated (bad signature)."""
    from colis.channels.services import channel_connector

    channel = Channel.objects.filter(pk=channel_id, active=True).first()
    if channel is None:
        raise NotFound("No such channel.", code="channel_not_found")
    connector = channel_connector(channel)
    try:
        notice = connector.webhook_parse(headers, body)
    except WebhookRefused as exc:
        sync_record_write(channel=channel, direction="webhook", operation="webhook",
                          state=SyncState.FAILED, message=f"Refused: {exc}")  # fmt: skip
        raise NotAuthenticated(str(exc), code="webhook_refused") from exc
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(
                channel=channel, webhook_id=notice.webhook_id[:200], received_at=timezone.now()
            )
    except IntegrityError:
        return {"duplicate": True, "webhook_id": notice.webhook_id}
    try:
        summary = channel_order_refresh(channel=channel, external_ids=notice.external_ids)
    except Exception:
        # Not handled after all: let the vendor's next delivery of it through.
        WebhookReceipt.objects.filter(channel=channel, webhook_id=notice.webhook_id[:200]).delete()
        raise
    sync_record_write(
        channel=channel,
        direction="webhook",
        operation=notice.topic[:60],
        state=SyncState.SUCCEEDED if not summary.errors else SyncState.FAILED,
        request={"webhook_id": notice.webhook_id, "orders": list(notice.external_ids)},
        response={k: v for k, v in summary.as_dict().items() if v},
    )
    return {"duplicate": False, "webhook_id": notice.webhook_id, **summary.as_dict()}
