"""The orders list in the merchant UI: tabs, filters, search, sorting, keyset paging, and bulk
actions that show their dry run before anything happens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from colis.core.jobs import job_run
from colis.core.models import Event, Job
from colis.fulfillment.models import FulfillmentHold
from colis.orders.bulk_actions import BulkStep
from colis.orders.models import Order
from colis.returns.models import Return
from colis.web.views.orders_list import bulk as bulk_view
from colis.web.views.orders_list import listing
from tests.factories import UserFactory, order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"
LIST = "/app/orders/"
BULK = "/app/orders/bulk/"


def signed_in(role: str = "owner", **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def make_orders(api, stocked):
    stocked("BAR-A", qty=5000)
    stocked("BAR-B", qty=5000)

    def make(count, lines=(("BAR-A", 1),), **extra):
        response = api.post(
            f"{ORDERS}/bulk", {"orders": [order_body(list(lines), **extra)] * count}
        )
        assert response.status_code == 200, response.content
        return [r["order"] for r in response.json()["results"]]

    return make


def numbers(page) -> list[str]:
    """The order numbers of the list's rows, in order."""
    return re.findall(r'<td><a href="/app/orders/\d+/">([^<]+)</a></td>', page.content.decode())


def ship(api, order, tracking="T1", lines=None):
    body = {"carrier": "other", "tracking_numbers": [tracking], "notify_customer": False}
    if lines:
        body["lines"] = lines
    response = api.post(f"{ORDERS}/{order['id']}/shipments", body)
    assert response.status_code == 201, response.content


@pytest.fixture
def zoo(api, make_orders):
    """One order in each state the tabs tell apart."""
    open_, held, shipped, cancelled, awaiting, partial, returned = (
        make_orders(1, lines=[("BAR-A", 1), ("BAR-B", 1)])[0] for _ in range(7)
    )
    assert api.post(f"{ORDERS}/{held['id']}/hold", {"reason": "other"}).status_code == 200
    ship(api, shipped, tracking="1Z5R89390357567127")
    ship(api, returned)
    assert api.post(f"{ORDERS}/{cancelled['id']}/cancel").status_code == 200
    r = api.post(f"{ORDERS}/{awaiting['id']}/status", {"status": "awaiting_shipment"})
    assert r.status_code == 200, r.content
    ship(api, partial, lines=[{"sku": "BAR-A", "quantity": 1}])
    now = timezone.now()
    Return.objects.create(
        order_id=returned["id"],
        number="R-1",
        state="requested",
        source="staff",
        created_at=now,
        updated_at=now,
    )
    return {
        "open": open_["number"],
        "held": held["number"],
        "shipped": shipped["number"],
        "cancelled": cancelled["number"],
        "awaiting": awaiting["number"],
        "partial": partial["number"],
        "returned": returned["number"],
    }


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("all", {"open", "held", "shipped", "cancelled", "awaiting", "partial", "returned"}),
        ("unfulfilled", {"open", "awaiting", "partial"}),
        ("on_hold", {"held"}),
        ("awaiting_shipment", {"awaiting"}),
        ("partially_shipped", {"partial"}),
        ("shipped", {"shipped", "returned"}),
        ("cancelled", {"cancelled"}),
        ("returns", {"returned"}),
    ],
)
def test_each_tab_shows_its_orders(zoo, tab, expected):
    page = signed_in("readonly").get(LIST, {"tab": tab})
    assert page.status_code == 200
    assert set(numbers(page)) == {zoo[k] for k in expected}
    assert f'href="/app/orders/?tab={tab}" aria-current="page"' in page.content.decode() or (
        tab == "all" and 'href="/app/orders/" aria-current="page"' in page.content.decode()
    )


def test_search_by_number_email_sku_and_tracking(api, make_orders, stocked):
    stocked("RARE-1")
    plain = make_orders(1)[0]
    by_email = make_orders(1, email="someone.special@example.org")[0]
    by_sku = make_orders(1, lines=[("RARE-1", 1)])[0]
    by_tracking = make_orders(1)[0]
    ship(api, by_tracking, tracking="1Z879E930346834440")
    client = signed_in("readonly")
    assert numbers(client.get(LIST, {"q": plain["number"]})) == [plain["number"]]
    assert numbers(client.get(LIST, {"q": "someone.special@"})) == [by_email["number"]]
    whole = client.get(LIST, {"q": "Someone.Special@example.org"})
    assert numbers(whole) == [by_email["number"]]
    assert numbers(client.get(LIST, {"q": "rare-1"})) == [by_sku["number"]]
    assert numbers(client.get(LIST, {"q": "1z879e930346834440"})) == [by_tracking["number"]]
    assert numbers(client.get(LIST, {"q": "nothing-like-this"})) == []
    assert len(numbers(client.get(LIST, {"q": "jeanne mart"}))) == 4  # the buyer's name
    assert numbers(client.get(LIST, {"q": f"#{plain['number']}"})) == [plain["number"]]
    # a cursor that is not one of ours starts from the first page
    odd = client.get(LIST, {"after": "x.y", "before": "99999999999999999999", "sort": "ship_by"})
    assert odd.status_code == 200 and len(numbers(odd)) == 4


def test_filters_by_tag_status_and_date(api, make_orders):
    tagged = make_orders(1, tags=["vip", "gift"])[0]
    other = make_orders(1, tags=["vipx"])[0]
    client = signed_in("readonly")
    assert numbers(client.get(LIST, {"tag": "vip"})) == [tagged["number"]]
    api.post(f"{ORDERS}/{other['id']}/cancel")
    assert numbers(client.get(LIST, {"status": "5"})) == [other["number"]]
    today = timezone.localdate()
    both = {tagged["number"], other["number"]}
    assert set(numbers(client.get(LIST, {"from": today.isoformat()}))) == both
    assert numbers(client.get(LIST, {"to": (today - timedelta(days=1)).isoformat()})) == []
    for wrong in ("yesterday", "9999-12-31", "0001-01-01"):
        bad = client.get(LIST, {"from": wrong, "to": wrong})
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.content.decode()


def _walk(client, params):
    """Follow the Next links from the first page; returns the pages' numbers and last page."""
    pages = []
    page = client.get(LIST, params)
    while True:
        pages.append(numbers(page))
        found = re.search(r'href="([^"]+)" rel="next"', page.content.decode())
        if not found:
            return pages, page
        page = client.get(found.group(1).replace("&amp;", "&"))


@pytest.mark.parametrize("sort", ["-date", "date", "ship_by", "-ship_by"])
def test_paging_forward_and_back_has_no_gaps_or_duplicates(make_orders, monkeypatch, sort):
    monkeypatch.setattr(listing, "PAGE_SIZE", 3)
    orders = make_orders(4) + make_orders(4)
    base = timezone.now().replace(microsecond=123456)
    # ship-by dates with ties and gaps, and two orders without one
    for i, o in enumerate(orders[:6]):
        Order.objects.filter(pk=o["id"]).update(ship_by=base + timedelta(hours=i // 2))
    # creation times out of id order, with ties
    created = {}
    for i, o in enumerate(orders):
        created[o["id"]] = base - timedelta(hours=((i * 3) % 8) // 2)
        Order.objects.filter(pk=o["id"]).update(created_at=created[o["id"]])
    client = signed_in("staff")
    pages, last = _walk(client, {"sort": sort})
    flat = [n for p in pages for n in p]
    assert len(flat) == 8 and len(set(flat)) == 8
    assert [len(p) for p in pages] == [3, 3, 2]
    by_number = {o["number"]: o for o in orders}
    if sort in ("-date", "date"):
        keys = [(created[by_number[n]["id"]], by_number[n]["id"]) for n in flat]
        assert keys == sorted(keys, reverse=sort == "-date")
    else:
        dated = [n for n in flat if by_number[n]["id"] in {o["id"] for o in orders[:6]}]
        assert flat[:6] == dated  # orders without a ship-by come last
        keys = [(orders.index(by_number[n]) // 2, by_number[n]["id"]) for n in dated]
        assert keys == sorted(keys, reverse=sort == "-ship_by")
    # and back
    back = []
    page = last
    while True:
        found = re.search(r'href="([^"]+)" rel="prev"', page.content.decode())
        if not found:
            break
        page = client.get(found.group(1).replace("&amp;", "&"))
        back.insert(0, numbers(page))
    assert back == pages[:-1]


def test_readonly_sees_no_bulk_controls_and_cannot_post(make_orders):
    ids = [o["id"] for o in make_orders(2)]
    client = signed_in("readonly")
    html = client.get(LIST).content.decode()
    assert (
        'name="ids"' not in html and BULK not in html and 'method="post" action="/app/o' not in html
    )
    refused = client.post(BULK, {"ids": ids, "action": "cancel", "step": "run"})
    assert refused.status_code == 403
    assert not Order.objects.filter(status=5).exists()
    staff = signed_in("staff").get(LIST).content.decode()
    assert 'name="ids"' in staff and BULK in staff


def test_csrf_is_enforced_on_bulk_actions(make_orders):
    ids = [o["id"] for o in make_orders(1)]
    client = signed_in("staff", enforce_csrf_checks=True)
    assert client.post(BULK, {"ids": ids, "action": "cancel", "step": "run"}).status_code == 403
    assert not Order.objects.filter(status=5).exists()


def test_the_dry_run_shows_skipped_reasons_and_changes_nothing(api, make_orders):
    ids = [o["id"] for o in make_orders(3)]
    api.post(f"{ORDERS}/{ids[2]}/cancel")
    events = Event.objects.count()
    client = signed_in("staff")
    review = client.post(BULK, {"ids": ids, "action": "hold", "reason": "other", "back": LIST})
    html = review.content.decode()
    assert review.status_code == 200
    assert html.count("Will do") == 2 and "Skipped" in html
    assert "This order is cancelled." in html and "order_cancelled" in html
    assert 'name="step" value="run"' in html
    assert Event.objects.count() == events and not FulfillmentHold.objects.exists()
    # confirming runs it
    done = client.post(BULK, {"ids": ids, "action": "hold", "reason": "other", "step": "run"})
    assert done.status_code == 200 and "2 orders changed." in done.content.decode()
    held = set(FulfillmentHold.objects.values_list("fulfillment_order__order_id", flat=True))
    assert held == set(ids[:2])


def test_set_status_and_cancel_run_after_review(make_orders):
    ids = [o["id"] for o in make_orders(2)]
    client = signed_in("staff")
    body = {"ids": ids, "action": "set-status", "status": "9"}
    assert "Will do" in client.post(BULK, body).content.decode()
    assert set(Order.objects.values_list("status", flat=True)) == {11}
    client.post(BULK, {**body, "step": "run"})
    assert set(Order.objects.values_list("status", flat=True)) == {9}
    client.post(BULK, {"ids": ids[:1], "action": "cancel", "step": "run"})
    assert Order.objects.get(pk=ids[0]).status == 5


def test_bad_bulk_input_is_refused_and_changes_nothing(make_orders):
    ids = [o["id"] for o in make_orders(1)]
    client = signed_in("staff")
    none = client.post(BULK, {"action": "cancel", "step": "run"})
    assert none.status_code == 422 and "Select at least one order." in none.content.decode()
    bad = client.post(BULK, {"ids": ids, "action": "hold", "reason": "bored", "step": "run"})
    assert bad.status_code == 422
    assert "Choose a hold reason." in bad.content.decode()
    no_status = client.post(BULK, {"ids": ids, "action": "set-status", "status": ""})
    assert no_status.status_code == 422 and "Choose a status." in no_status.content.decode()
    unknown = client.post(BULK, {"ids": ids, "action": "explode"})
    assert unknown.status_code == 422
    assert not FulfillmentHold.objects.exists() and Order.objects.get().status == 11


def test_printing_answers_with_the_pdf_and_marks_the_orders(api, make_orders):
    ids = [o["id"] for o in make_orders(2)]
    api.post(f"{ORDERS}/{ids[1]}/cancel")
    client = signed_in("staff")
    review = client.post(BULK, {"ids": ids, "action": "packing_slips"}).content.decode()
    assert "Will do" in review and "This order is cancelled." in review
    pdf = client.post(BULK, {"ids": ids, "action": "packing_slips", "step": "run"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    printed = Event.objects.filter(kind="documents_printed").values_list("order_id", flat=True)
    assert list(printed) == [ids[0]]
    for choice in ("pick_list", "labels"):
        out = client.post(BULK, {"ids": ids[:1], "action": choice, "step": "run"})
        assert out["Content-Type"] == "application/pdf"


def test_export_streams_the_selected_orders_as_csv(make_orders):
    orders = make_orders(3)
    client = signed_in("staff")
    out = client.post(BULK, {"ids": [orders[0]["id"], orders[2]["id"]], "action": "export"})
    assert out["Content-Type"].startswith("text/csv")
    text = b"".join(out.streaming_content).decode()
    assert text.startswith("id,number,") and orders[0]["number"] in text
    assert orders[1]["number"] not in text and orders[2]["number"] in text
    # the list's own export link (readonly may use it)
    whole = signed_in("readonly").get("/app/orders/export.csv", {"q": orders[1]["number"]})
    body = b"".join(whole.streaming_content).decode()
    assert orders[1]["number"] in body and orders[0]["number"] not in body


def test_a_large_selection_runs_as_a_job_with_a_progress_page(make_orders, monkeypatch):
    monkeypatch.setattr(bulk_view, "SYNC_LIMIT", 1)
    ids = [o["id"] for o in make_orders(3)]
    client = signed_in("staff")
    started = client.post(BULK, {"ids": ids, "action": "release", "step": "run"})
    job = Job.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/app/orders/jobs/{job.pk}/"
    waiting = client.get(started["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in waiting and "0 of 3 orders done" in waiting
    job_run(job_id=job.pk, worker_id="test", step_for=BulkStep)
    partial = client.get(started["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in partial and "3 of 3 orders done" in partial
    assert "This order is not on hold." in partial and "<html" not in partial


def _list_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LIST, params or {}).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_query_count_does_not_grow_with_the_orders(make_orders):
    client = signed_in("staff")
    make_orders(5, lines=[("BAR-A", 1), ("BAR-B", 2)])
    _list_queries(client)  # the status labels' snapshot is loaded once per process
    five = _list_queries(client)
    make_orders(45, lines=[("BAR-A", 1), ("BAR-B", 2)])
    fifty = _list_queries(client)
    assert five == fifty
    assert fifty == 7  # session, user, orders, item counts, labels, channels, locations
    assert _list_queries(client, {"tab": "unfulfilled", "q": "BAR-A", "sort": "ship_by"}) <= 9


def test_all_matching_orders_are_checked_by_a_job_then_run_on_confirmation(
    make_orders, monkeypatch
):
    monkeypatch.setattr(bulk_view, "SYNC_LIMIT", 2)
    ids = [o["id"] for o in make_orders(3)]
    client = signed_in("staff")
    body = {"action": "hold", "reason": "other", "all_matching": "on", "filters": "tab=unfulfilled"}
    checked = client.post(BULK, body)
    dry = Job.objects.get()
    assert checked.status_code == 302 and dry.params["dry_run"] is True
    assert dry.subject_ids == ids
    job_run(job_id=dry.pk, worker_id="test", step_for=BulkStep)
    page = client.get(f"/app/orders/jobs/{dry.pk}/").content.decode()
    assert "nothing has changed yet" in page and "Hold on 3 orders" in page
    assert not FulfillmentHold.objects.exists()
    # a readonly user may look but not run it
    assert signed_in("readonly").post(f"/app/orders/jobs/{dry.pk}/run/").status_code == 403
    ran = client.post(f"/app/orders/jobs/{dry.pk}/run/")
    real = Job.objects.exclude(pk=dry.pk).get()
    assert ran["Location"] == f"/app/orders/jobs/{real.pk}/" and real.params["dry_run"] is False
    job_run(job_id=real.pk, worker_id="test", step_for=BulkStep)
    held = set(FulfillmentHold.objects.values_list("fulfillment_order__order_id", flat=True))
    assert held == set(ids)
    # a real run's page offers no second run
    assert "/run/" not in client.get(ran["Location"]).content.decode()


def test_all_matching_follows_the_filters(make_orders):
    orders = make_orders(3)
    client = signed_in("staff")
    one = orders[1]["number"]
    review = client.post(
        BULK, {"action": "hold", "reason": "other", "all_matching": "on", "filters": f"q={one}"}
    ).content.decode()
    assert re.findall(r'name="ids" value="(\d+)"', review) == [str(orders[1]["id"])]


def test_the_list_and_the_review_speak_french(make_orders, monkeypatch):
    ids = [o["id"] for o in make_orders(2)]
    client = signed_in("staff")
    client.post("/app/language/", {"language": "fr"})
    page = client.get(LIST).content.decode()
    assert "À préparer" in page and "Actions groupées" in page and "12,50\u00a0€" in page
    review = client.post(BULK, {"ids": ids, "action": "hold", "reason": "other"}).content.decode()
    assert "2 commandes seront modifiées." in review and "Mettre en attente : 2 commandes" in review
    monkeypatch.setattr(bulk_view, "SYNC_LIMIT", 1)
    client.post(BULK, {"ids": ids, "action": "hold", "reason": "other"})
    job = Job.objects.get()
    job_run(job_id=job.pk, worker_id="test", step_for=BulkStep)
    done = client.get(f"/app/orders/jobs/{job.pk}/").content.decode()
    assert "2 commandes traitées sur 2" in done and "rien n’a encore changé" in done
