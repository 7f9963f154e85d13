"""Building blocks for channel tests: a channel record and vendor orders as connectors return
them (the vendor-specific tests feed real vendor payloads through the connectors); and, for the
end-to-end tests against the vendor emulators, the steps and checks they have in common."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.utils import timezone

from colis.channels.connectors.base import ChannelLine, ChannelOrder, ChannelShipment
from colis.channels.importing import IngestSummary, channel_import
from colis.channels.models import Channel, SyncRecord
from colis.channels.models import ChannelOrder as ChannelOrderRow
from colis.channels.services import channel_create, sku_mapping_set
from colis.core.models import Event, OutboxMessage
from colis.core.outbox import outbox_pump
from colis.emulators.bigcommerce import ACCESS_TOKEN, STORE_HASH, WEBHOOK_SECRET
from colis.emulators.server import EmulatorServer, Fault
from colis.orders.models import Order, OrderLine
from colis.orders.status import OrderStatus
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


# -- end to end against the vendor emulators ------------------------------------------------------

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
UPS_NUMBER = "1Z999AA10123456784"
USPS_NUMBER = "9400111206206406260787"
NEW_ADDRESS = {  # where an order is sent instead, once edited on the channel
    "name": "Sam Carter",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


def channel_to(
    kind: str, name: str, *, credentials: dict[str, Any], settings: dict[str, Any]
) -> Channel:
    """A channel importing every order placed since 2020. For an emulator that says how it is
    reached: `channel_to(kind, name, **server.emulator.connection(server.url))`."""
    return channel_create(
        kind=kind,
        name=name,
        credentials=credentials,
        settings=settings,
        options={"import_start": LONG_AGO},
        actor=ACTOR,
    )


def bigcommerce_connection(store: EmulatorServer) -> dict[str, dict[str, str]]:
    """The credentials and settings that reach the BigCommerce emulator behind `store`."""
    return {
        "credentials": {"access_token": ACCESS_TOKEN, "webhook_secret": WEBHOOK_SECRET},
        "settings": {"api_base_url": store.url, "store_hash": STORE_HASH},
    }


def imported(channel: Channel, order_ids: list[str]) -> list[str]:
    """`order_ids` (just seeded on the channel's vendor), once an import has read them."""
    channel_import(channel_id=channel.pk)
    return order_ids


def fulfillments(server: EmulatorServer, order_id: str) -> list[dict[str, Any]]:
    """The packages the vendor holds for `order_id`, as its emulator keeps them."""
    return server.emulator.state()["fulfillments"].get(order_id, [])


def failing(external_id: str) -> set[str]:
    """The checks the channel order `external_id` fails."""
    record = ChannelOrderRow.objects.get(external_id=external_id)
    return {c["check"] for c in record.checks if not c["ok"]}


def webhook_url(colis_server: str, channel: Channel) -> str:
    return f"{colis_server}/api/v1/channels/{channel.pk}/webhooks"


def webhook_and_forgery(
    server: EmulatorServer, url: str, order_id: str, topics: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The vendor sends the order's webhook of the first topic to `url`; then one of the second
    topic comes signed with a secret that is not the channel's. Returns what each was answered."""
    sent = server.emulator.webhook_send(url=url, topic=topics[0], order_id=order_id)
    forged = server.emulator.webhook_send(
        url=url, topic=topics[1], order_id=order_id, secret="not-the-secret"
    )
    return sent, forged


def assert_taken_as_a_duplicate(again: Any) -> None:
    """A webhook delivered again is answered as a duplicate, and makes no second order."""
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Order.objects.count() == 1 and ChannelOrderRow.objects.count() == 1


def deliver() -> None:
    """Make the pushes waiting for the channel due now, and run the outbox until it is idle."""
    OutboxMessage.objects.filter(kind="channel_push", status="pending").update(
        next_attempt_at=timezone.now()
    )
    while outbox_pump(worker_id="w1", limit=50):
        pass


def wait_until(predicate: Callable[[], Any], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def ship(
    api: Any,
    order: Order,
    lines: list[dict[str, int]] | None = None,
    tracking: str | None = UPS_NUMBER,
    carrier: str = "ups",
    **extra: Any,
) -> dict[str, Any]:
    """A shipment of `order` (of `lines`, or of all that is left) made through the API."""
    body = {"carrier": carrier, "tracking_numbers": [tracking] if tracking else [], **extra}
    if lines is not None:
        body["lines"] = lines
    response = api.post(f"/api/v1/orders/{order.pk}/shipments", body)
    assert response.status_code == 201, response.content
    return response.json()


def ship_by_a_carrier_of_our_own(api: Any) -> None:
    """The order shipped by a carrier no vendor knows (Coursier Léon, CL-000123), and sent."""
    ship(api, Order.objects.get(), carrier="other", carrier_name="Coursier Léon",
         tracking="CL-000123")  # fmt: skip
    deliver()


def ship_a_unit_then_the_rest(api: Any, order: Order) -> list[OrderLine]:
    """One unit of the order's first line by UPS, then the rest by USPS, both sent; returns the
    order's lines."""
    lines = list(order.lines.order_by("position"))
    ship(api, order, lines=[{"line_id": lines[0].pk, "quantity": 1}])
    ship(api, order, tracking=USPS_NUMBER, carrier="usps")
    deliver()
    return lines


def cancel_here(api: Any, reason: str) -> None:
    """The order cancelled through the API, and what that sends to the channel sent."""
    response = api.post(f"/api/v1/orders/{Order.objects.get().pk}/cancel", {"reason": reason})
    assert response.status_code == 200, response.content
    deliver()


def ship_through_a_fault(api: Any, faults: list[Fault], fault: str) -> None:
    """The vendor answers the next push with `fault` (a timeout: it makes the package all the
    same, after a client with `short_timeout` has given up waiting); the order is shipped and
    the push tried."""
    faults.append(Fault(fault=fault, count=1, retry_after=1.0 if fault == "timeout" else 2.0))
    ship(api, Order.objects.get())
    deliver()


def assert_sent_once_after_the_fault(
    channel: Channel, fault: str, sent: Callable[[], list[Any]]
) -> None:
    """The push that met `fault` waits to be tried again (no sooner than a 429 asks); tried
    again, it succeeds and the vendor holds one package, never two (`sent` reads them)."""
    record = SyncRecord.objects.get(channel=channel, direction="push")
    assert record.state == "retrying", record.message
    if fault == "429":
        message = OutboxMessage.objects.get(kind="channel_push")
        assert message.next_attempt_at >= timezone.now() + timedelta(seconds=1)
    if fault == "timeout":
        assert wait_until(sent)
    deliver()

    record.refresh_from_db()
    assert record.state == "succeeded", record.message
    assert len(sent()) == 1
    if fault == "timeout":
        assert "earlier attempt" in record.message


class Seeded(NamedTuple):
    good: list[str]
    unpaid: str
    unknown: str
    nowhere: str


def seed_good_and_failing(seed: Callable[..., list[str]]) -> Seeded:
    """Three orders that pass every check, then one failing each: unpaid, of a SKU unknown here,
    with no address to ship to."""
    good = seed(count=3)
    [unpaid] = seed(count=1, unpaid=True)
    [unknown] = seed(count=1, skus=["NOT-OURS"])
    [nowhere] = seed(count=1, missing_address=True)
    return Seeded(good, unpaid, unknown, nowhere)


def line_keys(order: Order) -> set[tuple[str, str, int]]:
    """The order's lines as (the vendor's line id, SKU, quantity)."""
    return {(ln.external_line_id, ln.sku, ln.quantity) for ln in order.lines.all()}


def assert_the_failing_ones_wait(api: Any, channel: Channel, seeded: Seeded) -> None:
    """The orders of `seeded` failing a check wait in the channel's queue, each with the check it
    fails, and the import that read them is recorded as a success."""
    waiting = (seeded.unpaid, seeded.unknown, seeded.nowhere)
    assert failing(seeded.unpaid) == {"paid"}
    assert failing(seeded.unknown) == {"skus"}
    assert failing(seeded.nowhere) == {"address"}
    states = dict(ChannelOrderRow.objects.values_list("external_id", "state"))
    assert [states[x] for x in waiting] == ["pending"] * 3
    queue = api.get(f"/api/v1/channels/{channel.pk}/pending-orders").json()["items"]
    assert {row["external_id"] for row in queue} == set(waiting)
    assert {c["check"] for row in queue for c in row["failing"]} == {"paid", "skus", "address"}
    assert_imports_recorded(channel)


def assert_imports_recorded(channel: Channel) -> None:
    records = SyncRecord.objects.filter(channel=channel, direction="import")
    assert records.exists() and {r.state for r in records} == {"succeeded"}


def assert_nothing_new(again: IngestSummary, *, orders: int, pending: int) -> None:
    """Orders read again (`orders` of them imported before, `pending` queued) make nothing new:
    each is seen, none is imported again, the queued ones are still queued, and there is still
    one order here per imported one and one record per order read."""
    assert again.seen == orders + pending and again.imported == 0 and again.pending == pending
    assert Order.objects.count() == orders and ChannelOrderRow.objects.count() == again.seen


def retried_once_its_sku_is_mapped(
    api: Any, channel: Channel, order_id: str, channel_sku: str, sku: str
) -> OrderLine:
    """Given the order `order_id` queued for its `channel_sku`, unknown here, when that SKU is
    mapped to `sku` and the order retried, then it comes in, with a line of `sku` (returned),
    and a retry again makes nothing more."""
    record = ChannelOrderRow.objects.get(external_id=order_id)
    assert record.state == "pending" and failing(order_id) == {"skus"}

    sku_mapping_set(channel_id=channel.pk, channel_sku=channel_sku, sku=sku, actor=ACTOR)
    retry = f"/api/v1/channels/{channel.pk}/pending-orders/{record.pk}/retry"
    response = api.post(retry)

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "imported" and response.json()["failing"] == []
    order = Order.objects.get(external_id=order_id)
    assert response.json()["order_id"] == order.pk
    [line] = order.lines.all()
    assert line.sku == sku
    again = api.post(retry)
    assert again.status_code == 409 and Order.objects.count() == 1
    return line


def assert_the_new_address_is_here(summary: IngestSummary) -> None:
    """The import brought the address edited on the channel (NEW_ADDRESS) to the order here."""
    assert summary.updated == 1
    address = Order.objects.get().shipping_address
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "350 5th Ave", "New York", "10118", "US"
    )  # fmt: skip
    assert Event.objects.filter(kind="order_address_changed", actor_kind="channel").count() == 1


def assert_cancelled_here_and_not_sent_back(channel: Channel) -> None:
    """The order cancelled on the channel is cancelled here, and the cancellation, once the
    outbox has run, is not sent back to the channel."""
    deliver()
    order = Order.objects.get()
    assert order.status == OrderStatus.CANCELLED and channel.name in order.cancel_reason
    record = SyncRecord.objects.get(direction="push", operation="order_cancel")
    assert record.state == "skipped" and "on the channel" in record.message


def assert_shipped_here_and_not_sent_back() -> None:
    """The order shipped on the channel (by UPS, UPS_NUMBER) is shipped here with that package,
    and the package, once the outbox has run, is not sent back to the channel."""
    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    [shipment] = order.shipments.all()
    assert shipment.carrier == "ups" and shipment.tracking_numbers == [UPS_NUMBER]
    deliver()  # nothing to send: the channel has it
    record = SyncRecord.objects.get(direction="push")
    assert record.state == "skipped" and "on the channel" in record.message


def assert_every_unit_sent_once(lines: list[OrderLine], items: Iterable[tuple[str, int]]) -> None:
    """Over all the packages sent (`items`: the vendor's line id and a quantity), each line's
    units are sent, and sent once."""
    sent: Counter[str] = Counter()
    for line_id, quantity in items:
        sent[line_id] += quantity
    assert sent == {ln.external_line_id: ln.quantity for ln in lines}


@dataclass(frozen=True)
class PackageKeys:
    """Where a vendor's package keeps its carrier, tracking, items, and an item's line id."""

    carrier: str
    tracking: str
    items: str
    line_id: str


def assert_sent_as_two_packages(
    channel: Channel,
    lines: list[OrderLine],
    packages: list[dict[str, Any]],
    keys: PackageKeys,
    first: tuple[str, Any],
    rest: tuple[str, Any],
) -> list[SyncRecord]:
    """After `ship_a_unit_then_the_rest`: the vendor holds two packages, under the carrier and
    tracking it gives them (`first`, `rest`), the first of one unit of the first line and the
    second of all the rest; both pushes succeeded (returned, in order)."""
    assert [(p[keys.carrier], p[keys.tracking]) for p in packages] == [first, rest]
    assert packages[0][keys.items] == [{keys.line_id: lines[0].external_line_id, "quantity": 1}]
    assert_every_unit_sent_once(
        lines, ((i[keys.line_id], i["quantity"]) for p in packages for i in p[keys.items])
    )
    pushes = list(SyncRecord.objects.filter(channel=channel, direction="push").order_by("id"))
    assert [p.state for p in pushes] == ["succeeded", "succeeded"]
    return pushes
