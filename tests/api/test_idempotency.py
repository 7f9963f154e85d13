"""An order sent twice exists once: Idempotency-Key replay, channel ids, and racing requests."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import timedelta

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from colis.core.models import Event, IdempotencyRecord
from colis.orders.models import Order
from tests.factories import order_body

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def test_the_same_key_and_body_replays_the_same_order(api, shop):
    # given an order posted with an Idempotency-Key
    key = str(uuid.uuid4())
    body = order_body([("BAR-A", 2)])
    first = api.post(ORDERS, body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    # when the same request is sent again
    again = api.post(ORDERS, body, headers={"Idempotency-Key": key})
    # then the first answer is replayed and only one order exists
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert Event.objects.filter(kind="order_created").count() == 1


def test_the_same_key_with_another_body_is_422_reused(api, shop):
    key = str(uuid.uuid4())
    first = api.post(ORDERS, order_body([("BAR-A", 2)]), headers={"Idempotency-Key": key})
    response = api.post(ORDERS, order_body([("BAR-A", 5)]), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in body["fields"]
    assert list(Order.objects.values_list("pk", flat=True)) == [first.json()["id"]]


def test_the_same_key_on_another_path_is_422_reused(api, shop):
    key = str(uuid.uuid4())
    created = api.post(ORDERS, order_body([("BAR-A", 1)]), headers={"Idempotency-Key": key})
    response = api.post(
        f"{ORDERS}/{created.json()['id']}/notes", {"text": "hi"}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not Event.objects.filter(kind="order_note_added").exists()


def test_the_same_channel_id_without_a_key_returns_the_existing_order(api, shop):
    # given an order imported with a channel and external id
    body = order_body([("BAR-A", 2)], channel="api", external_id="EXT-1")
    first = api.post(ORDERS, body)
    assert first.status_code == 201
    # when it arrives again, with no key
    again = api.post(ORDERS, body)
    # then the existing order comes back with 200, and there is still one
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["lines"] == first.json()["lines"]
    assert Order.objects.count() == 1
    assert Event.objects.filter(kind="order_created").count() == 1


def test_the_default_channel_is_api_for_channel_ids(api, shop):
    first = api.post(ORDERS, order_body([("BAR-A", 2)], external_id="EXT-1"))
    again = api.post(ORDERS, order_body([("BAR-A", 2)], channel="api", external_id="EXT-1"))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_keys_are_scoped_per_token(make_api, shop):
    # given two users sending the same key with the same body
    alice, bob = make_api("staff"), make_api("staff")
    key, body = "order-1", order_body([("BAR-A", 1)])
    a = alice.post(ORDERS, body, headers={"Idempotency-Key": key})
    b = bob.post(ORDERS, body, headers={"Idempotency-Key": key})
    # then each gets an order of their own
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "Idempotent-Replayed" not in b
    assert Order.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key=key).count() == 2


def test_a_refused_request_is_replayed_as_refused(api, shop):
    key = str(uuid.uuid4())
    body = order_body([("NO-SUCH-SKU", 1)])
    first = api.post(ORDERS, body, headers={"Idempotency-Key": key})
    again = api.post(ORDERS, body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert not Order.objects.exists()


def test_a_forbidden_request_releases_its_key(make_api, api, shop):
    # given a readonly user refused with a key
    readonly = make_api("readonly")
    body = order_body([("BAR-A", 1)])
    assert readonly.post(ORDERS, body, headers={"Idempotency-Key": "k"}).status_code == 403
    # then the key is not kept, so a retry is judged afresh
    assert not IdempotencyRecord.objects.exists()
    assert readonly.post(ORDERS, body, headers={"Idempotency-Key": "k"}).status_code == 403


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_a_bad_key_is_422(api, shop, key):
    response = api.post(ORDERS, order_body([("BAR-A", 1)]), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


def test_a_bulk_call_is_replayed_too(api, shop):
    key = str(uuid.uuid4())
    payload = {"orders": [order_body([("BAR-A", 1)]) for _ in range(3)]}
    first = api.post(f"{ORDERS}/bulk", payload, headers={"Idempotency-Key": key})
    again = api.post(f"{ORDERS}/bulk", payload, headers={"Idempotency-Key": key})
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 3


def _reserve(token: str, key: str, body: bytes, *, age: timedelta) -> IdempotencyRecord:
    """A key reserved by a first request that has not answered yet (started `age` ago)."""
    return IdempotencyRecord.objects.create(
        scope="token:" + hashlib.sha256(token.encode()).hexdigest()[:40],
        key=key,
        method="POST",
        path=ORDERS,
        request_hash=hashlib.sha256(b"POST " + ORDERS.encode() + b"\n" + body).hexdigest(),
        created_at=timezone.now() - age,
    )


def _post_raw(api, body: bytes, key: str):
    return api.client.post(
        ORDERS,
        body,
        content_type="application/json",
        headers=api._headers({"Idempotency-Key": key}),
    )


def test_a_key_whose_first_request_still_runs_is_409_in_progress(api, shop):
    # given a first request with this key that started a moment ago and has not answered
    body = orjson.dumps(order_body([("BAR-A", 1)]))
    _reserve(api.token, "k-1", body, age=timedelta(seconds=1))
    # when the client retries it
    response = _post_raw(api, body, "k-1")
    # then it is told to wait, and nothing is created twice
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert not Order.objects.exists()
    assert IdempotencyRecord.objects.get(key="k-1").status_code is None


def test_a_key_whose_first_request_died_is_taken_over(api, shop):
    # given a first request that reserved the key long ago and never answered (it crashed)
    body = orjson.dumps(order_body([("BAR-A", 1)]))
    _reserve(api.token, "k-1", body, age=timedelta(minutes=10))
    # when the client retries it
    response = _post_raw(api, body, "k-1")
    # then this request runs, and its answer is the one kept for the key
    assert response.status_code == 201, response.content
    assert Order.objects.count() == 1
    record = IdempotencyRecord.objects.get(key="k-1")
    assert record.status_code == 201
    assert _post_raw(api, body, "k-1").json()["id"] == response.json()["id"]


def _race(token: str, body: dict, headers: dict[str, str], threads: int = 8) -> list:
    """Send the same POST from `threads` threads at once; return (status, json) per thread."""
    barrier = threading.Barrier(threads)
    answers: list = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                ORDERS,
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}", **headers},
            )
            with lock:
                answers.append((response.status_code, response.json()))
        except BaseException as exc:  # reported below, in the test's thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return answers


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrent writers need PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_key_create_one_order(api, shop):
    # given eight clients sending the same order with the same key at the same moment
    answers = _race(api.token, order_body([("BAR-A", 1)]), {"Idempotency-Key": "race-1"})
    # then exactly one order exists, and every answer is that order or "still running"
    assert Order.objects.count() == 1
    order_id = Order.objects.get().pk
    assert len(answers) == 8
    for status, body in answers:
        if status in (200, 201):
            assert body["id"] == order_id
        else:
            assert (status, body["code"]) == (409, "idempotency_key_in_progress")
    assert any(status == 201 for status, _ in answers)
    assert Event.objects.filter(kind="order_created").count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_racing_requests_with_one_channel_id_create_one_order(api, shop):
    # given eight clients importing the same channel order, with no key
    body = order_body([("BAR-A", 1)], channel="shopify", external_id="SHOP-1")
    answers = _race(api.token, body, {})
    # then exactly one order exists and every client is told about it
    assert Order.objects.count() == 1
    order_id = Order.objects.get().pk
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert {body["id"] for _, body in answers} == {order_id}
    assert Event.objects.filter(kind="order_created").count() == 1
