"""Buyer emails through a real `colis worker` and a real SMTP server, with the worker killed
(SIGKILL) mid-burst: nothing is lost, at most the one email in flight at the kill goes out
twice, and its copies carry the same Message-ID."""

from __future__ import annotations

import asyncio
import collections
import email
import email.policy
import os
import signal
import subprocess
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from colis.core.actor import Actor
from colis.core.models import OutboxMessage, OutboxStatus
from colis.notifications.mail import message_id
from colis.shipping.services import carriers_seed
from tests.core.helpers import COLIS, database_url, free_port, subprocess_env
from tests.factories import order_body

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "/api/v1/orders"
TOTAL = 40
DOMAIN = "crash.colis.test"


class SlowInbox:
    """Takes ~0.05 s per message, so a burst of TOTAL lasts a few seconds."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.received: list[tuple[str, str, str]] = []  # (recipient, Message-ID, subject)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.05)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, str(msg["Message-ID"]), str(msg["Subject"])))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def snapshot(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def url():
    found = database_url()
    if found is None:
        pytest.skip("needs a database file or server the worker process can open")
    return found


@pytest.fixture
def inbox():
    handler = SlowInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def _start_worker(url: str, smtp_port: int) -> subprocess.Popen[bytes]:
    env = subprocess_env(
        COLIS_DATABASE_URL=url,
        COLIS_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        COLIS_EMAIL_MESSAGE_ID_DOMAIN=DOMAIN,
        COLIS_OUTBOX_LEASE_SECONDS="5",
    )
    return subprocess.Popen(
        [*COLIS, "worker", "--interval", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(predicate, timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.close()
        if predicate():
            return True
        time.sleep(every)
    return False


def _kill(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def _ship_many(api, n: int) -> dict[str, str]:
    """n orders, each shipped with tracking (one shipping confirmation queued per shipment);
    returns the expected Message-ID per recipient."""
    for i in range(n):
        response = api.post(ORDERS, order_body([("BAR-A", 1)], email=f"buyer{i}@example.com"))
        assert response.status_code == 201, response.content
        order = response.json()
        response = api.post(
            f"{ORDERS}/{order['id']}/shipments",
            {"carrier": "ups", "tracking_numbers": ["1Z5R89390357567127"]},
        )
        assert response.status_code == 201, response.content
    rows = list(OutboxMessage.objects.filter(kind="customer_email"))
    assert len(rows) == n
    assert {r.payload["template"] for r in rows} == {"shipping_confirmation"}
    return {r.payload["to"]: message_id(r.idempotency_key) for r in rows}


def test_buyer_emails_survive_a_sigkill_mid_burst(api, shop, inbox, url, settings):
    settings.EMAIL_MESSAGE_ID_DOMAIN = DOMAIN
    # An earlier transactional test may have flushed the carriers the migrations seeded.
    carriers_seed(actor=Actor.system("test"))
    expected = _ship_many(api, TOTAL)
    assert len(expected) == TOTAL

    worker = _start_worker(url, inbox.port)
    try:
        assert _wait(lambda: inbox.count() >= 5, 30, every=0.02), "no email arrived"
    finally:
        _kill(worker)
    time.sleep(0.3)  # a message the server was still taking when the worker died lands now
    arrived_at_kill = inbox.count()
    assert 0 < arrived_at_kill < TOTAL, f"the kill did not land mid-burst: {arrived_at_kill}"

    worker = _start_worker(url, inbox.port)
    try:
        assert _wait(lambda: {r for r, _, _ in inbox.snapshot()} >= set(expected), 40), (
            inbox.count(),
            list(OutboxMessage.objects.values_list("idempotency_key", "status", "last_error")),
        )
        assert _wait(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists(), 15
        ), list(
            OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).values_list(
                "kind", "idempotency_key", "status", "claimed_by", "last_error"
            )
        )
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        finally:
            _kill(worker)

    received = inbox.snapshot()
    per_recipient: dict[str, list[str]] = collections.defaultdict(list)
    for rcpt, mid, subject in received:
        assert subject, rcpt
        per_recipient[rcpt].append(mid)
    assert set(per_recipient) == set(expected)  # nothing lost, nobody unexpected
    repeated = {rcpt: mids for rcpt, mids in per_recipient.items() if len(mids) > 1}
    assert len(repeated) <= 1, repeated
    assert all(len(mids) == 2 for mids in repeated.values()), repeated
    for rcpt, mids in per_recipient.items():
        assert set(mids) == {expected[rcpt]}, (rcpt, mids)  # a repeat has the same Message-ID
    assert len(received) <= TOTAL + 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
