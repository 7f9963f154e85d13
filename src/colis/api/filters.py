"""The orders list's filters, as query parameters or as a JSON `filter` object (bulk actions,
documents): one place turns them into the selector's OrderFilters."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from colis.api.pagination import datetime_in_range
from colis.orders.selectors import OrderFilters


def order_filters(
    *,
    status: str = "",
    fulfillment_status: str = "",
    channel: str = "",
    q: str = "",
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    location_id: int | None = None,
    prefix: str = "",
) -> OrderFilters:
    """Raises ValidationError naming `{prefix}created_after` or `…before` out of range."""
    return OrderFilters(
        status=status,
        fulfillment_status=fulfillment_status,
        channel=channel,
        q=q[:200],
        created_after=datetime_in_range(created_after, f"{prefix}created_after"),
        created_before=datetime_in_range(created_before, f"{prefix}created_before"),
        location_id=location_id,
    )


class OrderFilterIn(Schema):
    """The filters of the orders list (`location` is the list's older name of `location_id`)."""

    status: str = Field("", max_length=500)
    fulfillment_status: str = Field("", max_length=500)
    channel: str = Field("", max_length=64)
    location: int | None = Field(None, ge=1, le=2**63 - 1)
    location_id: int | None = Field(None, ge=1, le=2**63 - 1)
    q: str = Field("", max_length=200)
    created_after: datetime | None = None
    created_before: datetime | None = None

    def to_filters(self) -> OrderFilters:
        return order_filters(
            status=self.status,
            fulfillment_status=self.fulfillment_status,
            channel=self.channel,
            q=self.q,
            created_after=self.created_after,
            created_before=self.created_before,
            location_id=self.location_id if self.location_id is not None else self.location,
            prefix="filter.",
        )
