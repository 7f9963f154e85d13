"""Cross-cutting tables: the timeline, the outbox, idempotency records, counters, the shop."""

from __future__ import annotations

from typing import Any

from django.db import models


class Shop(models.Model):
    """The merchant's shop settings: one row (pk=1)."""

    name = models.CharField(max_length=200, default="My shop")
    locale = models.CharField(max_length=10, default="en")
    currency = models.CharField(max_length=3, default="EUR")
    # How routing breaks ties between locations: "priority" (the merchant's order) or "most_stock".
    routing_strategy = models.CharField(max_length=20, default="priority")
    # Buyer emails come from this name and address; blank: the shop's name and COLIS_EMAIL_FROM.
    email_sender_name = models.CharField(max_length=200, blank=True, default="")
    email_sender_address = models.CharField(max_length=254, blank=True, default="")
    email_reply_to = models.CharField(max_length=254, blank=True, default="")
    # Send the shipping confirmation for a shipment that has no tracking number yet.
    notify_without_tracking = models.BooleanField(default=False)
    # Returns: how many days after delivery (or shipment) a buyer may ask, which reasons are
    # approved without a person, and what the approval email tells the buyer to do.
    return_window_days = models.PositiveIntegerField(default=30)
    return_auto_approve_reasons = models.JSONField(default=list, blank=True)
    return_instructions = models.TextField(blank=True, default="")
    # Days buyer personal data is kept once an order that came from no channel record is done
    # (channels have their own); null: kept. `redaction_ran_at`: the daily job's last run.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    redaction_ran_at = models.DateTimeField(null=True, blank=True)
    demo_loaded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class ShopLogo(models.Model):
    """The shop's logo, printed on packing slips: one row (pk=1) when set. Kept apart from
    `Shop` so the settings that hot paths read never carry the image."""

    content_type = models.CharField(max_length=20)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)


class Event(models.Model):
    """One row of the timeline: who did what to which subject, with its parameters."""

    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    order_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=60)
    actor_kind = models.CharField(max_length=20)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["order_id", "id"], name="event_order_idx"),
            # Events of an order are found through order_id; this one serves the others.
            models.Index(
                fields=["subject_type", "subject_id", "id"],
                name="event_subject_idx",
                condition=models.Q(order_id__isnull=True),
            ),
        ]


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxMessage(models.Model):
    """An effect outside the database, written in the same transaction as its cause."""

    # Not a column: what the handler's `prepare` loaded for this row in the worker's batch.
    prepared: Any = None

    kind = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField(default=dict)
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(
        max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=12)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
        ]


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed for the same key."""

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_uniq")
        ]


class Counter(models.Model):
    """A named sequence (order numbers), advanced under a row lock."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=200, blank=True, default="")
    pid = models.IntegerField(default=0)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(models.Model):
    """Work over many subjects (orders) that runs on the worker, one subject at a time.

    `subject_ids` is fixed when the job is created; each finished subject leaves a `JobItem`
    written in the same transaction as its change, so a job picked up again after its worker
    died goes on from the first subject without an item.
    """

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    subject_ids = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    actor_kind = models.CharField(max_length=20)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True, default="")
    actor_role = models.CharField(max_length=20, blank=True, default="")
    # The worker running it, until `lease_until`; a lease that ran out means the worker died.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "lease_until"], name="job_status_lease_idx")]


class JobItem(models.Model):
    """What a job did to one subject: written once, with the change itself."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    subject_id = models.BigIntegerField()
    ok = models.BooleanField()
    code = models.CharField(max_length=60, blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "subject_id"], name="job_item_subject_uniq")
        ]
        indexes = [models.Index(fields=["job", "position"], name="job_item_position_idx")]
