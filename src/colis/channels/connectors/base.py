"""What every channel connector offers, and the values that cross between a connector and the
import and push services. A connector is `client.py` (HTTP as the vendor documents it),
`mapping.py` (pure functions between the vendor's JSON and these values) and `connector.py`
(a subclass of `Connector` declaring its capabilities)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Literal, Protocol

OrderState = Literal["open", "cancelled", "shipped"]


@dataclass(frozen=True, kw_only=True)
class ChannelLine:
    external_line_id: str
    sku: str  # the channel's SKU (mapped to ours by the import)
    title: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, kw_only=True)
class ChannelShipment:
    """A shipment the channel already knows about (say, made on the marketplace itself)."""

    external_id: str
    carrier: str
    tracking_number: str
    lines: tuple[tuple[str, int], ...] = ()  # (external line id, quantity); empty: everything


@dataclass(frozen=True, kw_only=True)
class ChannelOrder:
    """A vendor order, normalised. `shipping_address` uses our Address keys and may be
    incomplete (the import checks say so); `refs` keeps the vendor ids a push needs."""

    external_id: str
    number: str
    placed_at: datetime
    updated_at: datetime
    state: OrderState
    paid: bool
    merchant_fulfilled: bool
    email: str
    currency: str
    lines: tuple[ChannelLine, ...]
    shipping_address: dict[str, str]
    billing_address: dict[str, str] | None = None
    phone: str = ""
    shipping_method: str = ""
    shipping_price: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    discount_total: Decimal = Decimal(0)
    total: Decimal | None = None
    ship_by: datetime | None = None
    shipments: tuple[ChannelShipment, ...] = ()
    refs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OrdersPage:
    orders: tuple[ChannelOrder, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, kw_only=True)
class PushLine:
    external_line_id: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class PushPackage:
    """One shipment made in Colis, as the channel is told about it."""

    shipment_id: int
    order_external_id: str
    order_refs: dict[str, Any]
    lines: tuple[PushLine, ...]
    carrier_code: str  # the carrier's code on this channel; "" when it has none
    carrier_name: str
    service: str
    tracking_number: str
    tracking_url: str
    ship_date: datetime
    notify_buyer: bool = False


@dataclass(frozen=True, kw_only=True)
class RefundLine:
    """Units of one vendor line refunded, and the money for them ("amount" 0: not said)."""

    external_line_id: str
    quantity: int
    amount: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class RefundPackage:
    """One refund recorded in Colis, as the channel is told about it. Amounts are in the
    order's currency; `amount` is the whole refund, `shipping_amount` the part of it for
    shipping. `marker` names the refund in the vendor's free text (note, reason) so that an
    earlier attempt can be found again; `claimed` are the vendor refund ids that other Colis
    refunds of the order already account for."""

    refund_id: int
    marker: str
    order_external_id: str
    order_refs: dict[str, Any]
    currency: str
    amount: Decimal
    shipping_amount: Decimal
    lines: tuple[RefundLine, ...]
    reason: str  # as written in Colis (free text or one of the return reasons)
    return_reasons: tuple[str, ...] = ()  # the reasons of the return it is for, if any
    notify_buyer: bool = False
    claimed: frozenset[str] = frozenset()


# Currencies without minor units (ISO 4217 exponent 0) among those the vendors take.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX"})


def money_places(amount: Decimal, currency: str) -> Decimal:
    """An amount rounded to the currency's minor unit, as vendors take money."""
    unit = Decimal(1) if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    return amount.quantize(unit, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, kw_only=True)
class PushResult:
    vendor_id: str  # the vendor's id of what was created ("" when it returns none)
    request: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)


class ChannelError(Exception):
    """A call to the vendor failed; `retry_after` (seconds) when the vendor said when."""

    temporary: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:2000]
        self.retry_after = retry_after


class RateLimited(ChannelError):
    """429: wait `retry_after` seconds."""


class AuthExpired(ChannelError):
    """401: the access token is no longer valid (refresh it once, then give up)."""


class PermanentError(ChannelError):
    """The vendor refused the call as it is (4xx other than 401/429): retrying cannot help."""

    temporary = False


class NotSupported(PermanentError):
    """The vendor's API has no such operation."""


class WebhookRefused(Exception):
    """An incoming webhook whose signature or shape is wrong."""


class Limiter(Protocol):
    def acquire(self, operation: str) -> None: ...

    def observe(self, operation: str, headers: Mapping[str, str]) -> None: ...


class TokenCache(Protocol):
    """Where an OAuth access token is kept between calls (shared by every worker)."""

    def get(self) -> str | None: ...

    def put(self, token: str, expires_in: float) -> None: ...


@dataclass(frozen=True, kw_only=True)
class WebhookNotice:
    webhook_id: str
    topic: str
    external_ids: tuple[str, ...]


class Connector(ABC):
    """One vendor account. Built from the channel's credentials and settings; every call goes
    through `limiter` (the vendor's published rates) and HTTP errors arrive as ChannelError."""

    kind: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]]
    # Credentials a merchant may give but need not (a webhook secret for incoming webhooks).
    optional_credential_fields: ClassVar[tuple[str, ...]] = ()
    # Setting name -> default (None: required).
    setting_fields: ClassVar[dict[str, Any]]
    # The key of this channel in a carrier's `channel_codes`.
    carrier_key: ClassVar[str]
    # What the vendor accepts as "the carrier is something else" (with the name beside it).
    other_carrier_code: ClassVar[str] = ""
    supports_webhooks: ClassVar[bool] = False
    supports_cancellation_push: ClassVar[bool] = False
    # The vendor's order statuses are ours (BigCommerce's fifteen): a status set by hand here
    # is set there too.
    supports_status_push: ClassVar[bool] = False
    # The vendor drops a repeated push by itself (else the push service looks before retrying).
    idempotent_push: ClassVar[bool] = False
    # The vendor's API takes refunds (`refund_push`, `refund_find`).
    supports_refunds: ClassVar[bool] = False
    # Default for the channel's "cancellation sync" switch.
    cancellation_sync_default: ClassVar[bool] = True
    # Operation -> (requests per second, burst), as the vendor publishes them.
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {}

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any],
        limiter: Limiter,
        tokens: TokenCache,
    ) -> None:
        self.credentials = dict(credentials)
        self.settings = {
            **self.setting_fields,
            **{k: v for k, v in settings.items() if v is not None},
        }
        self.limiter = limiter
        self.tokens = tokens
        self.client = self.client_build()

    def client_build(self) -> Any:
        """The vendor's HTTP client, built from `credentials`, `settings`, `limiter` and
        `tokens` (each connector builds its own)."""
        return None

    @classmethod
    def settings_problems(cls, settings: Mapping[str, Any]) -> dict[str, str]:
        """Field -> message for settings this vendor needs and does not have."""
        return {
            f"settings.{name}": "Required."
            for name, default in cls.setting_fields.items()
            if default is None and not settings.get(name)
        }

    @abstractmethod
    def orders_list(self, *, updated_after: datetime, cursor: str | None) -> OrdersPage:
        """Orders created or changed after `updated_after`, one page at a time."""

    @abstractmethod
    def order_get(self, external_id: str) -> ChannelOrder | None:
        """One order as the vendor has it now (None if it has none)."""

    @abstractmethod
    def shipment_push(self, package: PushPackage) -> PushResult:
        """Tell the vendor about one package. Raises ChannelError."""

    @abstractmethod
    def shipment_find(self, package: PushPackage) -> PushResult | None:
        """What the vendor already has for this package (a push that went through before a
        crash or a timeout), or None."""

    def order_cancel_push(self, external_id: str, reason: str) -> PushResult:
        """Tell the vendor the order is cancelled. Raises ChannelError (NotSupported)."""
        raise NotSupported(f"{self.kind} orders cannot be cancelled through its API here.")

    def order_status_push(self, external_id: str, status_id: int) -> PushResult:
        """Set the order's status on the vendor (one of the fifteen). Raises ChannelError."""
        raise NotSupported(f"{self.kind} has no order statuses of ours to set.")

    def refunds_unsupported(self) -> str:
        """Why this vendor's refunds are not sent (the sync record's reason)."""
        return f"Not sent: refunds are not supported by {self.kind} through its API here."

    def refund_push(self, refund: RefundPackage) -> PushResult:
        """Refund the buyer on the vendor. Raises ChannelError (NotSupported)."""
        raise NotSupported(self.refunds_unsupported())

    def refund_find(self, refund: RefundPackage) -> PushResult | None:
        """The refund an earlier attempt of this one already made on the vendor (cut off by
        a crash or a timeout), or None."""
        return None

    def webhook_parse(
        self, headers: Mapping[str, str], body: bytes
    ) -> WebhookNotice:  # pragma: no cover - vendors without webhooks never get here
        """Check an incoming webhook's signature and say which orders it touches. Raises
        WebhookRefused."""
        raise WebhookRefused(f"{self.kind} sends no webhooks here.")
