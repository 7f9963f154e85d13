"""Building blocks for channel tests: a channel record and vendor orders as connectors return
them (the vendor-specific tests feed real vendor payloads through the connectors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from colis.channels.connectors.base import ChannelLine, ChannelOrder, ChannelShipment
from colis.channels.models import Channel
from colis.channels.services import channel_create
from tests.factories import ACTOR

PARIS = {
    "name": "Camille Martin",
    "company": "",
    "line1": "12 rue de la Roquette",
    "line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75011",
    "country": "FR",
    "phone": "",
}


def amazon_channel(base_url: str = "http://127.0.0.1:9", **options: Any) -> Channel:
    return channel_create(
        kind="amazon",
        name=options.pop("name", "Amazon FR"),
        credentials={"client_id": "id", "client_secret": "secret", "refresh_token": "rt"},
        settings={
            "api_base_url": base_url,
            "token_url": f"{base_url}/auth/o2/token",
            "marketplace_id": "A13V1IB3VIYZZH",
        },
        options={"import_start": datetime(2026, 1, 1, tzinfo=UTC), **options},
        actor=ACTOR,
    )


def vendor_order(
    external_id: str = "111-0000001-0000001",
    *,
    lines: list[tuple[str, int]] | None = None,
    placed_at: datetime | None = None,
    updated_at: datetime | None = None,
    **fields: Any,
) -> ChannelOrder:
    placed = placed_at or datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    values: dict[str, Any] = {
        "external_id": external_id,
        "number": external_id,
        "placed_at": placed,
        "updated_at": updated_at or placed + timedelta(minutes=5),
        "state": "open",
        "paid": True,
        "merchant_fulfilled": True,
        "email": "camille@example.com",
        "currency": "EUR",
        "lines": tuple(
            ChannelLine(
                external_line_id=f"{external_id}-L{i}",
                sku=sku,
                title=f"Item {sku}",
                quantity=qty,
                unit_price=Decimal("19.90"),
            )
            for i, (sku, qty) in enumerate(lines or [("BAR-A", 1)])
        ),
        "shipping_address": dict(PARIS),
        "refs": {"marketplace": "A13V1IB3VIYZZH"},
    }
    values.update(fields)
    return ChannelOrder(**values)


def shipped_on_channel(tracking: str, carrier: str = "UPS") -> ChannelShipment:
    return ChannelShipment(external_id=f"ext-{tracking}", carrier=carrier, tracking_number=tracking)
