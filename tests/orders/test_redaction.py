"""Buyer data past its retention: which orders are due (delivery, return window, open returns,
cancellation, never before shipping), what redaction takes out and what it keeps (numbers, lines,
amounts, the stock ledger), the copies (channel record, return note, sent emails, events), the
API's view, the dry run, the second run, and the daily job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import colis.notifications.handlers  # noqa: F401  (registers "customer_email")
from colis.channels.importing import channel_orders_ingest
from colis.channels.models import ChannelOrder, ImportState
from colis.channels.records import order_from_data
from colis.core.models import Event, OutboxMessage, Shop
from colis.core.outbox import outbox_pump
from colis.fulfillment.models import Shipment
from colis.inventory.models import StockMovement
from colis.orders.models import Order, OrderLine
from colis.orders.redaction import orders_due_for_redaction, orders_redact
from colis.orders.retention import orders_redact_task, redaction_schedule
from colis.orders.services import order_shipping_address_set
from colis.returns.models import Return, ReturnLine
from colis.returns.services import ReturnLineDraft, return_cancel, return_create
from tests.channels.helpers import amazon_channel, ship, vendor_order
from tests.factories import ACTOR, ADDRESS_FR, ADDRESS_US, order_body
from tests.notifications.test_email import inbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
BLANK_FR = {
    "name": "", "company": "", "line1": "", "line2": "", "city": "", "region": "",
    "postal_code": "", "country": "FR", "phone": "", "redacted": True,
}  # fmt: skip


def later(days: float) -> Any:
    return timezone.now() + timedelta(days=days)


def redact(days: float, **kwargs: Any) -> list[str]:
    """Run the redaction as if `days` had passed; the numbers of the orders it redacted."""
    return [d.number for d in orders_redact(now=later(days), actor=ACTOR, **kwargs).orders]


def return_window(days: int) -> None:
    Shop.objects.update_or_create(pk=1, defaults={"return_window_days": days})


@pytest.fixture
def no_window(db: None) -> None:
    return_window(0)


@pytest.fixture
def amazon(shop: None) -> Any:
    return amazon_channel()


def delivered(api: Any, order: Order) -> Order:
    """`order` shipped through the API and marked delivered now."""
    shipment = ship(api, order)
    response = api.post(f"/api/v1/shipments/{shipment['id']}/delivered")
    assert response.status_code == 200, response.content
    return order


def imported(channel: Any, external_id: str = "111-0000001-0000001", **fields: Any) -> Order:
    fields.setdefault("phone", "+33 6 12 34 56 78")
    fields.setdefault("billing_address", dict(ADDRESS_FR))
    summary = channel_orders_ingest(channel=channel, orders=[vendor_order(external_id, **fields)])
    assert summary.imported == 1
    return Order.objects.get(external_id=external_id)


def accounting(order: Order) -> dict[str, Any]:
    """What the books need of an order: it must come out of redaction unchanged."""
    order.refresh_from_db()
    kept = ("number", "external_id", "currency", "subtotal", "shipping_price", "tax_total",
            "discount_total", "total", "financial_status", "status", "fulfillment_status",
            "created_at", "cancelled_at", "tags")  # fmt: skip
    return {
        "order": {k: getattr(order, k) for k in kept},
        "lines": [model_to_dict(ln) for ln in OrderLine.objects.filter(order=order).order_by("pk")],
        "shipments": [model_to_dict(s) for s in Shipment.objects.filter(order=order)],
        "ledger": [model_to_dict(m) for m in StockMovement.objects.order_by("pk")],
    }


def test_an_amazon_order_goes_31_days_after_delivery_not_29(api, amazon, no_window):
    # given an Amazon order (30 days by default) delivered now
    order = delivered(api, imported(amazon))
    assert amazon.retention_days == 30
    before = accounting(order)
    # when the job runs 29 days on, then 31
    assert redact(29) == []
    order.refresh_from_db()
    assert order.email and order.redacted_at is None
    assert redact(31) == [order.number]
    # then the buyer is gone from the order and from the channel's record of it
    order.refresh_from_db()
    assert (order.email, order.phone, order.buyer_name, order.note) == ("", "", "", "")
    assert order.shipping_address == BLANK_FR and order.billing_address is None
    assert order.redacted_at is not None
    record = ChannelOrder.objects.get(order=order)
    assert record.data["email"] == "" and record.data["phone"] == ""
    assert record.data["shipping_address"] == record.data["billing_address"] == BLANK_FR
    assert order_from_data(record.data).lines[0].sku == "BAR-A"  # still a channel order
    # and what the books need is as it was
    assert accounting(order) == before
    [event] = Event.objects.filter(order_id=order.pk, kind="order_redacted")
    assert event.data["retention_days"] == 30 and event.actor_label == ACTOR.label


def test_an_open_return_window_pushes_the_retention_back(api, amazon):
    # a 14-day window closes before the 30 days are up: 30 days it is
    return_window(14)
    order = delivered(api, imported(amazon))
    assert redact(29) == []
    assert redact(31) == [order.number]


def test_a_return_window_longer_than_the_retention_keeps_the_data_until_it_closes(api, amazon):
    return_window(45)
    order = delivered(api, imported(amazon))
    assert redact(31) == []
    assert redact(44) == []
    assert redact(46) == [order.number]


def test_an_open_return_holds_the_data_until_it_is_closed(api, amazon, no_window):
    order = delivered(api, imported(amazon))
    rma = return_create(
        order_id=order.pk,
        lines=[ReturnLineDraft(sku="BAR-A", quantity=1, reason="damaged")],
        source="staff",
        note="Call Camille on +33 6 12 34 56 78 before pick-up",
        notify_customer=False,
        actor=ACTOR,
    )
    assert redact(31) == []
    return_cancel(return_id=rma.pk, actor=ACTOR)
    assert redact(31) == [order.number]
    rma.refresh_from_db()
    assert rma.note == "" and rma.state == "cancelled"


def test_the_buyers_notes_on_return_lines_go_too(api, amazon, no_window):
    # given a return whose line the buyer explained in their own words, then closed
    order = delivered(api, imported(amazon))
    rma = return_create(
        order_id=order.pk,
        lines=[ReturnLineDraft(sku="BAR-A", quantity=1, reason="other",
                               note="Gift for Camille Martin, 12 rue des Lilas; she has one")],
        source="buyer",
        notify_customer=False,
        actor=ACTOR,
    )  # fmt: skip
    return_cancel(return_id=rma.pk, actor=ACTOR)
    # when its retention has run out
    assert redact(31) == [order.number]
    # then the line's note is gone, its SKU, quantity and reason stay
    line = ReturnLine.objects.get(rma=rma)
    assert line.note == ""
    assert (line.sku, line.quantity, line.reason) == ("BAR-A", 1, "other")


def test_orders_still_to_ship_are_never_redacted_and_cancelled_ones_go(api, shop, no_window):
    Shop.objects.filter(pk=1).update(retention_days=1)
    waiting = api.post(ORDERS, order_body([("BAR-A", 1)])).json()
    partly = api.post(ORDERS, order_body([("BAR-A", 1), ("BAR-B", 1)])).json()
    ship(api, Order.objects.get(pk=partly["id"]), lines=[{"sku": "BAR-A", "quantity": 1}])
    packed = api.post(ORDERS, order_body([("BAR-B", 1)])).json()
    ship(api, Order.objects.get(pk=packed["id"]), status="pending")
    cancelled = api.post(ORDERS, order_body([("BAR-B", 1)])).json()
    assert api.post(f"{ORDERS}/{cancelled['id']}/cancel", {"reason": "x"}).status_code == 200

    assert redact(0.5) == []
    assert redact(400) == [cancelled["number"]]
    assert set(Order.objects.filter(redacted_at__isnull=True).values_list("pk", flat=True)) == {
        waiting["id"],
        partly["id"],
        packed["id"],
    }


def test_orders_follow_their_channels_rule_and_the_rest_the_shops(api, amazon, no_window):
    from colis.channels.services import channel_update

    from_amazon = delivered(api, imported(amazon))
    local = delivered(api, Order.objects.get(pk=api.post(ORDERS, order_body([("BAR-A", 1)]))
                                            .json()["id"]))  # fmt: skip
    # the shop keeps its own orders' data (null), Amazon's rule is shortened to 10 days
    channel_update(channel_id=amazon.pk, options={"retention_days": 10}, actor=ACTOR)
    assert redact(11) == [from_amazon.number]
    assert redact(3650) == []
    Shop.objects.filter(pk=1).update(retention_days=90)
    assert redact(89) == []
    assert redact(91) == [local.number]


def test_the_dry_run_changes_nothing_and_names_what_the_run_redacts(api, amazon, no_window):
    due = [delivered(api, imported(amazon, f"111-0000001-000000{i}")) for i in (1, 2)]
    imported(amazon, "111-0000001-0000003")  # not shipped
    tables = (Order, ChannelOrder, Event, OutboxMessage, Return)

    def snapshot() -> list[list[dict[str, Any]]]:
        return [[model_to_dict(r) for r in m.objects.order_by("pk")] for m in tables]

    before = snapshot()
    dry = orders_redact(now=later(31), dry_run=True, actor=ACTOR)
    assert snapshot() == before
    assert [d.number for d in dry.orders] == [o.number for o in due]
    assert redact(31) == [d.number for d in dry.orders]
    assert redact(31, limit=1) == []


def test_running_again_redacts_nothing_new(api, amazon, no_window):
    order = delivered(api, imported(amazon))
    assert redact(31) == [order.number]
    stamp = Order.objects.get(pk=order.pk).redacted_at
    assert redact(32) == [] and redact(400) == []
    assert orders_due_for_redaction(now=later(400)) == []
    assert Event.objects.filter(kind="order_redacted").count() == 1
    assert Order.objects.get(pk=order.pk).redacted_at == stamp


def test_a_limit_redacts_that_many_the_oldest_first(api, amazon, no_window):
    orders = [delivered(api, imported(amazon, f"111-0000001-000000{i}")) for i in (1, 2, 3)]
    assert redact(31, limit=2) == [o.number for o in orders[:2]]
    assert redact(31) == [orders[2].number]


def test_a_batch_costs_the_same_queries_for_two_orders_as_for_five(api, amazon, no_window):
    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            assert redact(31)
        return len(run.captured_queries)

    for i in (1, 2):
        delivered(api, imported(amazon, f"111-0000001-000000{i}"))
    two = queries()
    for i in range(3, 8):
        delivered(api, imported(amazon, f"111-0000001-000000{i}"))
    assert queries() == two


def test_the_api_shows_redacted_fields_and_search_finds_no_buyer(api, amazon, no_window):
    order = delivered(api, imported(amazon))
    shown = api.get(f"{ORDERS}/{order.pk}").json()
    assert shown["redacted"] is False and shown["redacted_at"] is None
    assert [o["id"] for o in api.get(ORDERS, q="camille@example.com").json()["items"]] == [order.pk]
    redact(31)

    shown = api.get(f"{ORDERS}/{order.pk}").json()
    assert shown["redacted"] is True and shown["redacted_at"]
    assert shown["email"] == shown["phone"] == shown["buyer_name"] == "[redacted]"
    address = shown["shipping_address"]
    assert address["name"] == address["line1"] == address["postal_code"] == "[redacted]"
    assert address["country"] == "FR"
    assert shown["number"] == order.number and shown["total"] == "19.90"
    assert [ln["sku"] for ln in shown["lines"]] == ["BAR-A"]
    for q in ("camille@example.com", "camille@", "Camille Martin"):
        assert api.get(ORDERS, q=q).json()["items"] == []
    assert [o["id"] for o in api.get(ORDERS, q=order.number).json()["items"]] == [order.pk]
    [listed] = api.get(ORDERS).json()["items"]
    assert listed["email"] == "[redacted]" and listed["redacted"] is True
    events = api.get(f"{ORDERS}/{order.pk}/events").json()["items"]
    assert events[-1]["kind"] == "order_redacted"


def test_copies_go_too_sent_emails_address_events_and_notes(api, shop, inbox, no_window):  # noqa: F811
    # given an order of the shop's own (90 days), its address changed, shipped with an email
    Shop.objects.filter(pk=1).update(retention_days=90)
    body = order_body([("BAR-A", 1)], phone="+33 6 12 34 56 78", note="Code 4521, 3rd floor",
                      billing_address=ADDRESS_FR)  # fmt: skip
    order = Order.objects.get(pk=api.post(ORDERS, body).json()["id"])
    order_shipping_address_set(order_id=order.pk, address=dict(ADDRESS_US), actor=ACTOR)
    delivered(api, order)
    while outbox_pump(worker_id="w1"):
        pass
    assert inbox.messages and {tuple(rcpt) for rcpt, _ in inbox.messages} == {
        ("buyer@example.com",)
    }
    emails = OutboxMessage.objects.filter(kind="customer_email", order_id=order.pk)
    assert {(m.status, m.payload["to"]) for m in emails} == {("delivered", "buyer@example.com")}
    templates = sorted(m.payload["template"] for m in emails)
    # when its retention has run out
    assert redact(91) == [order.number]
    # then the copies hold no buyer either
    assert {m.payload["to"] for m in emails.all()} == {""}
    assert sorted(m.payload["template"] for m in emails.all()) == templates
    change = Event.objects.get(order_id=order.pk, kind="order_address_changed")
    assert change.data["from"] == BLANK_FR
    assert change.data["to"]["country"] == "US" and change.data["to"]["line1"] == ""
    assert change.data["to"]["region"] == "NY"  # kept: sales tax is due by state
    order.refresh_from_db()
    assert order.note == "" and order.phone == "" and order.billing_address == BLANK_FR
    assert api.get(f"{ORDERS}/{order.pk}").json()["note"] == "[redacted]"


def test_a_refused_email_leaves_no_address_behind(api, shop, inbox, no_window):  # noqa: F811
    # given an order whose buyer's mail server refused the shipping confirmation
    import json

    Shop.objects.filter(pk=1).update(retention_days=90)
    order = Order.objects.get(
        pk=api.post(ORDERS, order_body([("BAR-A", 1)], email="nobody@example.com")).json()["id"]
    )
    delivered(api, order)
    while outbox_pump(worker_id="w1"):
        pass
    failed = OutboxMessage.objects.filter(order_id=order.pk, kind="customer_email", status="failed")
    assert failed and all("nobody@example.com" in m.last_error for m in failed)
    assert Event.objects.filter(order_id=order.pk, kind="outbox_failed").exists()
    # when its retention has run out
    assert redact(91) == [order.number]
    # then neither the outbox nor the timeline still holds the address
    for message in OutboxMessage.objects.filter(order_id=order.pk):
        assert "nobody@example.com" not in message.last_error + json.dumps(message.payload)
    for event in Event.objects.filter(order_id=order.pk):
        assert "nobody@example.com" not in json.dumps(event.data), event.kind


def test_channel_orders_never_imported_lose_the_buyer_after_the_channels_days(amazon):
    # given an order Amazon fulfils itself: kept aside, never imported
    channel_orders_ingest(channel=amazon, orders=[vendor_order(merchant_fulfilled=False)])
    record = ChannelOrder.objects.get()
    assert record.state == ImportState.IGNORED and record.data["email"]
    assert orders_redact(now=later(29), actor=ACTOR).channel_records == 0
    assert orders_redact(now=later(31), dry_run=True, actor=ACTOR).channel_records == 1
    assert orders_redact(now=later(31), actor=ACTOR).channel_records == 1
    record.refresh_from_db()
    assert record.data["email"] == "" and record.data["shipping_address"] == BLANK_FR
    assert orders_redact(now=later(31), actor=ACTOR).channel_records == 0


def test_a_redacted_order_read_again_from_the_channel_stays_redacted(api, amazon, no_window):
    order = delivered(api, imported(amazon))
    redact(31)
    again = vendor_order(updated_at=timezone.now() + timedelta(days=1), phone="+33 6 00 00 00 00",
                         shipping_address={**ADDRESS_US})  # fmt: skip
    channel_orders_ingest(channel=amazon, orders=[again])
    record = ChannelOrder.objects.get(order=order)
    assert record.vendor_updated_at == again.updated_at  # read again, and kept
    assert record.data["email"] == "" and record.data["shipping_address"]["line1"] == ""
    order.refresh_from_db()
    assert order.shipping_address == BLANK_FR
    assert not Event.objects.filter(order_id=order.pk, kind="channel_address_refused").exists()


def test_the_daily_job_is_queued_once_a_day_and_redacts(api, amazon, no_window):
    order = delivered(api, imported(amazon))
    Shipment.objects.filter(order=order).update(delivered_at=later(-31))
    tasks = DBTaskResult.objects.filter(task_path__endswith="orders_redact_task")

    assert redaction_schedule() is True
    assert redaction_schedule() is False  # another worker, the same day
    assert tasks.count() == 1
    result = orders_redact_task.call()
    assert result["numbers"] == [order.number]
    Shop.objects.filter(pk=1).update(redaction_ran_at=later(-1.01))
    assert redaction_schedule() is True and tasks.count() == 2


def test_without_any_rule_the_job_queues_nothing(shop):
    assert redaction_schedule() is False
    assert not DBTaskResult.objects.exists()


def test_an_ebay_record_keeps_no_trace_of_the_buyer_once_redacted() -> None:
    # the eBay record of an order as the import keeps it: buyer, addresses, the buyer's username
    import json

    from colis.channels.connectors.ebay.mapping import order_from_ebay
    from colis.channels.records import order_to_data
    from colis.orders.redaction import channel_data_redact
    from tests.channels.connectors.test_ebay_mapping import FULFILLMENTS
    from tests.channels.connectors.test_ebay_mapping import ORDER as EBAY_ORDER

    data = order_to_data(order_from_ebay(EBAY_ORDER, FULFILLMENTS))
    assert "kjwalker_22" in json.dumps(data)
    # when redacted, then none of it is left, and the push references stay
    redacted = channel_data_redact(data)
    text = json.dumps(redacted)
    for trace in ("kjwalker_22", "Kate Walker", "1201 3rd Ave"):
        assert trace not in text, trace
    assert redacted["refs"]["order_id"] == "04-11385-72953"
    assert redacted["refs"]["line_items"] == data["refs"]["line_items"]
