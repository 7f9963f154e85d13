"""Imports come due on each channel's schedule and never run twice at once; every process that
calls a vendor account takes from one shared bucket per operation; access tokens are sealed in
the channel's row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from colis.channels.importing import channel_import
from colis.channels.limits import ChannelTokens, DbLimiter
from colis.channels.models import Channel, RateBucket
from colis.channels.scheduler import channels_due, channels_schedule
from colis.core.errors import Conflict
from tests.channels.helpers import amazon_channel

pytestmark = pytest.mark.django_db


def test_a_channel_is_due_after_its_interval_and_queued_once():
    channel = amazon_channel(import_interval_seconds=300)
    Channel.objects.filter(pk=channel.pk).update(
        last_import_at=timezone.now() - timedelta(seconds=301)
    )
    other = amazon_channel(name="Fresh")
    Channel.objects.filter(pk=other.pk).update(last_import_at=timezone.now())
    amazon_channel(name="Off", import_enabled=False)

    assert [pk for pk, _ in channels_due()] == [channel.pk]
    assert channels_schedule() == 1
    assert channels_schedule() == 0  # marked as started: not queued again
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["args"][0] == channel.pk


def test_a_channel_never_imported_is_due_and_reconciles_first():
    channel = amazon_channel()
    assert channels_due() == [(channel.pk, True)]


def test_an_import_running_holds_its_channel():
    channel = amazon_channel()
    Channel.objects.filter(pk=channel.pk).update(
        import_lease_until=timezone.now() + timedelta(minutes=5)
    )
    with pytest.raises(Conflict) as refused:
        channel_import(channel_id=channel.pk)
    assert refused.value.code == "import_running"
    assert channels_due() == []


def test_an_unreachable_vendor_is_recorded_and_the_lease_released(monkeypatch):
    monkeypatch.setattr("colis.channels.importing.MAX_WAIT", 0.01)  # retries, without the wait
    channel = amazon_channel()  # its API points at a closed port
    summary = channel_import(channel_id=channel.pk)

    channel.refresh_from_db()
    assert summary.errors and channel.import_lease_until is None
    assert channel.import_cursor is None  # nothing seen: the next import starts from the start
    record = channel.sync_records.get(direction="import")
    assert record.state == "failed" and record.message


def test_callers_share_one_bucket_and_wait_in_turn():
    channel = amazon_channel()
    slept: list[float] = []
    limiter = DbLimiter(channel.pk, {"confirmShipment": (2.0, 3)}, sleep=slept.append)
    for _ in range(5):
        limiter.acquire("confirmShipment")
    other = DbLimiter(channel.pk, {"confirmShipment": (2.0, 3)}, sleep=slept.append)
    other.acquire("confirmShipment")

    # a burst of three goes at once; then each waits its turn half a second apart
    assert len(slept) == 3
    assert slept == sorted(slept)
    assert slept[0] == pytest.approx(0.5, abs=0.1) and slept[2] == pytest.approx(1.5, abs=0.15)
    assert RateBucket.objects.get().tokens < 0


@pytest.mark.django_db(transaction=True)
def test_threads_in_parallel_never_take_more_than_the_bucket_allows():
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL")
    channel = amazon_channel()
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        limiter = DbLimiter(channel.pk, {"getOrder": (1.0, 4)})
        wait = limiter.reserve("getOrder")
        with lock:
            waits.append(wait)
        connection.close()

    threads = [threading.Thread(target=take) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # four at once, then one per second: the waits are 1 s apart, none shared
    due = sorted(round(w) for w in waits)
    assert due == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]


def test_an_access_token_is_kept_sealed_until_shortly_before_it_expires():
    channel = amazon_channel()
    tokens = ChannelTokens(channel.pk)
    assert tokens.get() is None
    tokens.put("Atza|secret-token", expires_in=3600)

    channel.refresh_from_db()
    assert "Atza" not in channel.token_sealed
    assert ChannelTokens(channel.pk).get() == "Atza|secret-token"
    tokens.put("Atza|short", expires_in=30)  # less than the safety margin
    assert tokens.get() is None
