"""Sales channels: the connected accounts, what each import saw and decided, and every call made
to a vendor (sync records)."""

from __future__ import annotations

from django.db import models


class ChannelKind(models.TextChoices):
    AMAZON = "amazon"
    EBAY = "ebay"
    SHOPIFY = "shopify"
    BIGCOMMERCE = "bigcommerce"


class StockPolicy(models.TextChoices):
    # Accept an order short of stock and put its fulfillment order on hold (backorder)...
    HOLD = "hold"
    # ...or keep it in the pending queue until the stock is there.
    WAIT = "wait"


class Channel(models.Model):
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=64, unique=True)
    # Fernet token of the JSON credentials (see channels.secrets); never returned by the API.
    credentials_sealed = models.TextField(blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    import_enabled = models.BooleanField(default=True)
    import_interval_seconds = models.PositiveIntegerField(default=300)
    # Orders placed before this are not imported (defaults to the moment of connection).
    import_start = models.DateTimeField()
    import_fba = models.BooleanField(default=False)
    stock_policy = models.CharField(
        max_length=10, choices=StockPolicy.choices, default=StockPolicy.HOLD
    )
    fulfillment_sync = models.BooleanField(default=True)
    cancellation_sync = models.BooleanField(default=True)
    require_tracking = models.BooleanField(default=True)
    notify_buyer = models.BooleanField(default=False)
    # Push refunds recorded in Colis to the channel (where its API can take them).
    refund_sync = models.BooleanField(default=False)
    # Days buyer personal data is kept once an order is done (orders.redaction); null: kept.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # The vendor's rate limits as published ("published") or none ("off": emulators, sandboxes).
    rate_limits = models.CharField(max_length=10, default="published")
    # Import bookkeeping: the high-water mark of the vendor's "last updated" seen so far.
    import_cursor = models.DateTimeField(null=True, blank=True)
    last_import_at = models.DateTimeField(null=True, blank=True)
    # The last reconciliation pass (a re-read of recent days, for what a lost webhook missed).
    reconciled_at = models.DateTimeField(null=True, blank=True)
    import_lease_until = models.DateTimeField(null=True, blank=True)
    # A cached OAuth access token (sealed) and its expiry, shared by every worker.
    token_sealed = models.TextField(blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()  # when it was connected
    updated_at = models.DateTimeField(auto_now=True)


class SkuMapping(models.Model):
    """The channel's SKU (or ASIN, item id) to ours."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sku_mappings")
    channel_sku = models.CharField(max_length=200)
    sku = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "channel_sku"], name="sku_mapping_once")
        ]


class ImportState(models.TextChoices):
    PENDING = "pending"  # failing a check: waits in the queue
    IMPORTED = "imported"
    IGNORED = "ignored"  # not for us (FBA, placed before the import start, cancelled unseen)


class ChannelOrder(models.Model):
    """One vendor order as last read, with the verdict of each check and what became of it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=128)
    state = models.CharField(max_length=10, choices=ImportState.choices)
    data = models.JSONField(default=dict)  # the normalised order (connectors.base.ChannelOrder)
    checks = models.JSONField(default=list)  # [{"check", "ok", "message"}]
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor_updated_at = models.DateTimeField(null=True, blank=True)
    forced = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="channel_order_once")
        ]
        indexes = [models.Index(fields=["channel", "state", "id"], name="channel_order_state_idx")]


class SyncState(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    FAILED = "failed"
    SKIPPED = "skipped"


class SyncRecord(models.Model):
    """One exchange with a vendor: an import page, a push, a webhook; what went and came back."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sync_records")
    direction = models.CharField(max_length=10)  # import | push | webhook
    operation = models.CharField(max_length=60)
    state = models.CharField(max_length=10, choices=SyncState.choices)
    order_id = models.BigIntegerField(null=True, blank=True)
    shipment_id = models.BigIntegerField(null=True, blank=True)
    outbox_message_id = models.BigIntegerField(null=True, blank=True)
    # One record per effect: a retried push updates its record instead of adding one.
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    vendor_id = models.CharField(max_length=128, blank=True, default="")
    message = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["channel", "-id"], name="sync_record_log_idx"),
            # An order's exchanges with its channel (the order page).
            models.Index(fields=["order_id", "-id"], name="sync_record_order_idx"),
        ]


class RateBucket(models.Model):
    """A token bucket per (channel, operation), shared by every process that calls the vendor."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    operation = models.CharField(max_length=60)
    tokens = models.FloatField()
    updated_at = models.FloatField()  # unix time of the last refill

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "operation"], name="rate_bucket_once")
        ]


class WebhookReceipt(models.Model):
    """An incoming vendor webhook already handled (vendors deliver at least once)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "webhook_id"], name="webhook_receipt_once")
        ]
