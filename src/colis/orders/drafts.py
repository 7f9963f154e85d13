"""Values passed into the order services: what an order looks like before it exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


# Drafts are built by the thousand per bulk call: a frozen dataclass sets each field through
# object.__setattr__ and costs three times as much to build, so these are plain (but slotted)
# values that no service mutates.
@dataclass(kw_only=True, slots=True)
class LineDraft:
    sku: str
    quantity: int
    unit_price: Decimal
    title: str = ""
    external_line_id: str = ""


@dataclass(kw_only=True, slots=True)
class OrderDraft:
    email: str
    shipping_address: dict[str, Any]
    currency: str
    financial_status: str
    lines: tuple[LineDraft, ...]
    number: str | None = None
    channel: str | None = None
    external_id: str | None = None
    # The channel record an imported order comes from (`channel` then holds its name).
    channel_id: int | None = None
    phone: str = ""
    locale: str = ""
    billing_address: dict[str, Any] | None = None
    shipping_method: str = ""
    shipping_price: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    total: Decimal | None = None
    ship_by: datetime | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    note: str = ""
    # Send the buyer the order confirmation (off by default, as orders usually arrive from a
    # store or marketplace that confirmed them already).
    notify_customer: bool = False
    # False: someone else fulfils the order (a marketplace's own warehouses); Colis keeps it to
    # track it, without fulfillment orders and without committing stock.
    route: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderResult:
    """One outcome of a batch: the order (new, or existing for a replayed channel id) or errors."""

    index: int
    order_id: int | None = None
    number: str | None = None
    created: bool = False
    errors: dict[str, Any] | None = None
    order: Any = None  # the created Order with its lines, when asked for

    @property
    def ok(self) -> bool:
        return self.errors is None
