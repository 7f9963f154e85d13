"""Return states, reasons, unit conditions and dispositions; one table of moves, one check."""

from __future__ import annotations

from django.db import models

from colis.core.errors import Conflict


class ReturnState(models.TextChoices):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_OR_FIT = "size_or_fit"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


class Condition(models.TextChoices):
    """What inspection found a returned unit to be."""

    RESELLABLE = "resellable"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"


class Disposition(models.TextChoices):
    """What happens to inspected units: back on sale, kept aside as unsellable, or written off."""

    RESTOCK = "restock"
    UNSELLABLE = "unsellable"
    WRITE_OFF = "write_off"


class ReturnSource(models.TextChoices):
    STAFF = "staff"
    API = "api"
    SERVICE = "service"
    BUYER = "buyer"
    CHANNEL = "channel"


R = ReturnState
TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.REJECTED, R.CANCELLED}),
    R.APPROVED: frozenset({R.IN_TRANSIT, R.RECEIVED, R.INSPECTED, R.CANCELLED}),
    R.IN_TRANSIT: frozenset({R.RECEIVED, R.INSPECTED, R.CANCELLED}),
    # Received in part: more may arrive (received again), inspection may follow.
    R.RECEIVED: frozenset({R.RECEIVED, R.INSPECTED, R.CLOSED}),
    R.INSPECTED: frozenset({R.RECEIVED, R.INSPECTED, R.CLOSED}),
    R.REJECTED: frozenset(),
    R.CLOSED: frozenset(),
    R.CANCELLED: frozenset(),
}
# Where units may arrive: an approved return, one on its way, or one received in part.
RECEIVABLE = frozenset({R.APPROVED, R.IN_TRANSIT, R.RECEIVED, R.INSPECTED})
# States in which the return still counts against the quantities a line may return.
LIVE = frozenset({R.REQUESTED, R.APPROVED, R.IN_TRANSIT, R.RECEIVED, R.INSPECTED, R.CLOSED})


def return_transition_check(current: str, target: str) -> None:
    """Raise Conflict(`invalid_return_transition`) unless a return may move to `target`."""
    if target not in TRANSITIONS[current]:
        raise Conflict(
            f"A return that is {current} cannot become {target}.",
            code="invalid_return_transition",
            fields={
                "state": {"from": current, "to": target, "allowed": sorted(TRANSITIONS[current])}
            },
        )
