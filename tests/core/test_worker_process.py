"""The worker as a real process: delivers the outbox, survives SIGKILL without losing or
doubling effects (one message in flight at the kill may repeat once, same key)."""

from __future__ import annotations

import collections
import signal
import subprocess
import time

import pytest
from django.db import connection

from colis.core.models import OutboxMessage, OutboxStatus, WorkerHeartbeat
from colis.core.outbox import outbox_enqueue
from tests.core.helpers import COLIS, database_url, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def _start_worker(url: str) -> subprocess.Popen[bytes]:
    env = subprocess_env(
        COLIS_DATABASE_URL=url,
        COLIS_OUTBOX_HANDLER_MODULES="tests.core.outbox_handlers",
        COLIS_OUTBOX_LEASE_SECONDS="5",
    )
    return subprocess.Popen(
        [*COLIS, "worker", "--interval", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.close()
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def url():
    found = database_url()
    if found is None:
        pytest.skip("needs a database file or server the worker process can open")
    return found


def test_worker_delivers_every_message_once_through_a_sigkill(tmp_path, url):
    effects = tmp_path / "effects.txt"
    total = 30
    for i in range(total):
        outbox_enqueue(
            kind="test_append",
            idempotency_key=f"msg-{i}",
            payload={"path": str(effects), "sleep": 0.1},
        )
    worker = _start_worker(url)
    try:
        assert _wait(lambda: effects.exists() and len(effects.read_text().splitlines()) >= 5, 60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    delivered_at_kill = OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count()
    assert delivered_at_kill < total

    worker = _start_worker(url)
    try:
        assert _wait(
            lambda: OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == total,
            90,
        ), list(OutboxMessage.objects.values_list("idempotency_key", "status", "last_error"))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)

    counts = collections.Counter(effects.read_text().splitlines())
    assert set(counts) == {f"msg-{i}" for i in range(total)}  # nothing lost
    repeated = [key for key, n in counts.items() if n > 1]
    assert len(repeated) <= 1 and all(counts[key] == 2 for key in repeated)


def test_worker_reports_its_heartbeat_to_health(tmp_path, url, anon):
    assert anon.get("/api/v1/health").json()["worker"] == "not_running"
    worker = _start_worker(url)
    try:
        assert _wait(WorkerHeartbeat.objects.exists, 60)
        assert anon.get("/api/v1/health").json()["worker"] == "ok"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    assert worker.returncode == 0
    assert not WorkerHeartbeat.objects.exists()
