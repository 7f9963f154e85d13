"""The outbox pump: a batch claimed at once, shared among lanes, stopped in time, put back
untried when the way out is down, and database-only kinds done in one transaction."""

from __future__ import annotations

import collections
import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

import tests.core.outbox_handlers as handlers
from colis.core import outbox
from colis.core.models import Event, OutboxMessage, OutboxStatus
from colis.core.outbox import BACKOFF_BASE_SECONDS, Effect, outbox_enqueue_many, outbox_pump

threaded = pytest.mark.django_db(transaction=True)


def _queue(kind: str, key: str, order_id: int | None = None, **payload) -> Effect:
    return Effect(kind=kind, idempotency_key=key, payload=payload, order_id=order_id)


def _pks(*keys: str) -> list[int]:
    by_key = dict(OutboxMessage.objects.values_list("idempotency_key", "pk"))
    return [by_key[key] for key in keys]


def _lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _untried(pks) -> None:
    """These rows are back in the queue as if never claimed."""
    rows = OutboxMessage.objects.filter(pk__in=pks)
    assert rows.count() == len(pks)
    for row in rows:
        assert (row.status, row.attempts, row.claimed_by, row.claimed_at, row.last_error) == (
            OutboxStatus.PENDING,
            0,
            "",
            None,
            "",
        ), row.idempotency_key


@pytest.fixture
def lanes_closed():
    """Lane threads outlive the pump (a pool per size): close their database connections
    once the test is over, so the test database can be flushed and dropped."""
    yield
    for size, pool in list(outbox._POOLS.items()):
        barrier = threading.Barrier(size, timeout=5)
        # one task per thread: each waits for all the others
        for future in [pool.submit(_close_and_wait, barrier) for _ in range(size)]:
            future.result()


def _close_and_wait(barrier: threading.Barrier) -> None:
    connections.close_all()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()


@threaded
def test_lanes_deliver_every_row_once_and_each_orders_rows_in_queue_order(tmp_path, lanes_closed):
    # Given rows of a parallel kind for five orders, interleaved, and rows of a one-by-one
    # kind between them
    shared, serial = tmp_path / "shared.txt", tmp_path / "serial.txt"
    effects = []
    for i in range(40):
        order_id = 100 + i % 5
        effects.append(
            _queue("test_append_parallel", f"p{i}", order_id, path=str(shared), sleep=0.002)
        )
        if i % 8 == 0:
            effects.append(_queue("test_append", f"s{i}", order_id, path=str(serial)))
    with transaction.atomic():
        outbox_enqueue_many(effects)

    # When one pump shares them among four lanes
    assert outbox_pump(worker_id="w1", lanes=4) == 45

    # Then every row went out once
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
    done = [line.split() for line in _lines(shared)]
    parallel_pks = set(
        OutboxMessage.objects.filter(kind="test_append_parallel").values_list("pk", flat=True)
    )
    assert sorted(int(pk) for _, pk, _ in done) == sorted(parallel_pks)
    assert _lines(serial) == [f"s{i}" for i in range(0, 40, 8)]
    # ... each order's rows in the order they were queued, all on one lane
    by_order: dict[str, list[int]] = collections.defaultdict(list)
    threads_of: dict[str, set[str]] = collections.defaultdict(set)
    for order_id, pk, thread in done:
        by_order[order_id].append(int(pk))
        threads_of[order_id].add(thread)
    assert len(by_order) == 5
    for order_id, pks in by_order.items():
        assert pks == sorted(pks), order_id
        assert len(threads_of[order_id]) == 1
    # ... and the orders were spread over several threads besides the caller's
    threads = set().union(*threads_of.values())
    assert len(threads) > 1 and threading.current_thread().name not in threads


@threaded
def test_two_workers_pumping_at_once_deliver_each_row_exactly_once(tmp_path):
    effects_file = tmp_path / "effects.txt"
    with transaction.atomic():
        outbox_enqueue_many(
            [
                _queue("test_append", f"m{i}", path=str(effects_file), sleep=0.0005)
                for i in range(300)
            ]
        )
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    claimed: list[int] = []

    def work(worker_id: str) -> None:
        try:
            start.wait()
            while n := outbox_pump(worker_id=worker_id, limit=10):
                claimed.append(n)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    counts = collections.Counter(_lines(effects_file))
    assert len(counts) == 300 and set(counts.values()) == {1}
    rows = OutboxMessage.objects.all()
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.DELIVERED, 1)}
    # each batch kept to its limit, and both workers took a share
    assert max(claimed) <= 10 and sum(claimed) == 300
    assert set(rows.values_list("claimed_by", flat=True)) == {"w1", "w2"}


@pytest.mark.django_db
def test_a_pump_claims_no_more_rows_than_its_limit(tmp_path):
    path = str(tmp_path / "effects.txt")
    with transaction.atomic():
        outbox_enqueue_many([_queue("test_append", f"k{i:02}", path=path) for i in range(30)])

    assert outbox_pump(worker_id="w1", limit=10) == 10

    assert _lines(tmp_path / "effects.txt") == [f"k{i:02}" for i in range(10)]
    rest = OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED)
    assert rest.count() == 20
    _untried(list(rest.values_list("pk", flat=True)))


@pytest.mark.django_db
def test_when_the_way_out_is_down_the_rest_of_that_kind_waits_untried(tmp_path):
    # Given a batch whose first row of a kind finds its transport down
    path = str(tmp_path / "effects.txt")
    with transaction.atomic():
        outbox_enqueue_many(
            [
                _queue("test_transport", "down", 7, path=path, down=True),
                _queue("test_append", "a1", 7, path=path),
                _queue("test_transport", "t1", 7, path=path),
                _queue("test_append", "a2", 7, path=path),
                _queue("test_transport", "t2", 7, path=path),
            ]
        )
    pks = _pks("down", "a1", "t1", "a2", "t2")
    before = timezone.now()

    # When the pump goes through the batch
    assert outbox_pump(worker_id="w1") == 5
    after = timezone.now()

    # Then the row that failed counts an attempt and backs off
    down = OutboxMessage.objects.get(pk=pks[0])
    assert (down.status, down.attempts, down.claimed_by) == (OutboxStatus.PENDING, 1, "")
    assert "way out is down" in down.last_error
    assert before + timedelta(seconds=BACKOFF_BASE_SECONDS / 2) <= down.next_attempt_at
    assert down.next_attempt_at <= after + timedelta(seconds=BACKOFF_BASE_SECONDS)
    # ... the others of its kind were not tried, and wait as long as the base backoff
    _untried([pks[2], pks[4]])
    for pk in (pks[2], pks[4]):
        due = OutboxMessage.objects.get(pk=pk).next_attempt_at
        assert before + timedelta(seconds=BACKOFF_BASE_SECONDS) <= due
        assert due <= after + timedelta(seconds=BACKOFF_BASE_SECONDS)
    # ... and the other kind went out all the same
    assert _lines(tmp_path / "effects.txt") == ["a1", "a2"]
    appended = OutboxMessage.objects.filter(kind="test_append")
    assert {(m.status, m.attempts) for m in appended} == {(OutboxStatus.DELIVERED, 1)}
    assert outbox_pump(worker_id="w1") == 0  # nothing is due before the backoff


@pytest.mark.django_db
def test_a_stopped_pump_puts_its_whole_batch_back_untried(tmp_path):
    path = str(tmp_path / "effects.txt")
    with transaction.atomic():
        pks = outbox_enqueue_many([_queue("test_append", f"k{i}", 3, path=path) for i in range(4)])
    stop = threading.Event()
    stop.set()

    assert outbox_pump(worker_id="w1", stop=stop) == 4

    _untried(pks)
    assert _lines(tmp_path / "effects.txt") == []
    # due again at once: the next pump delivers them
    assert outbox_pump(worker_id="w1") == 4
    assert _lines(tmp_path / "effects.txt") == ["k0", "k1", "k2", "k3"]


@threaded
def test_a_stopped_pump_with_lanes_puts_every_lanes_rows_back(tmp_path, lanes_closed):
    path = str(tmp_path / "effects.txt")
    with transaction.atomic():
        pks = outbox_enqueue_many(
            [_queue("test_append_parallel", f"p{i}", i, path=path) for i in range(6)]
            + [_queue("test_append", "s", 1, path=path)]
        )
    stop = threading.Event()
    stop.set()

    assert outbox_pump(worker_id="w1", stop=stop, lanes=3) == 7

    _untried(pks)
    assert _lines(tmp_path / "effects.txt") == []


@pytest.mark.django_db
def test_a_batch_stops_at_half_the_lease_and_puts_the_rest_back(tmp_path, settings):
    # Given a lease of half a second: a batch may run for a quarter of a second
    settings.COLIS_OUTBOX_LEASE_SECONDS = 0.5
    path = str(tmp_path / "effects.txt")
    with transaction.atomic():
        outbox_enqueue_many(
            [_queue("test_append", f"k{i}", 3, path=path, sleep=0.15) for i in range(5)]
        )
    pks = _pks(*(f"k{i}" for i in range(5)))

    # When each row takes 0.15 s
    assert outbox_pump(worker_id="w1") == 5

    # Then the rows started within the budget went out, the others are back untried
    assert _lines(tmp_path / "effects.txt") == ["k0", "k1"]
    delivered = OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED)
    assert sorted(delivered.values_list("pk", flat=True)) == pks[:2]
    _untried(pks[2:])
    assert all(
        m.next_attempt_at <= timezone.now() for m in OutboxMessage.objects.filter(pk__in=pks[2:])
    )
    # ... and are delivered by the next batches, once each
    settings.COLIS_OUTBOX_LEASE_SECONDS = 300
    assert outbox_pump(worker_id="w1") == 3
    assert _lines(tmp_path / "effects.txt") == [f"k{i}" for i in range(5)]


def _recorded() -> collections.Counter[int]:
    return collections.Counter(
        Event.objects.filter(kind="test_recorded").values_list("subject_id", flat=True)
    )


@pytest.mark.django_db
def test_database_only_rows_are_done_together_in_one_call():
    handlers.MANY_CALLS.clear()
    with transaction.atomic():
        outbox_enqueue_many([_queue("test_record_many", f"r{i}", 9) for i in range(5)])
    pks = _pks(*(f"r{i}" for i in range(5)))

    assert outbox_pump(worker_id="w1") == 5

    calls = handlers.MANY_CALLS
    assert calls == [pks]
    assert _recorded() == {pk: 1 for pk in pks}
    rows = OutboxMessage.objects.filter(pk__in=pks)
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.DELIVERED, 1)}


@pytest.mark.django_db
def test_one_bad_database_only_row_is_retried_alone_and_the_others_are_done_once():
    # Given five rows, the fourth of which makes the handler fail after it wrote three
    handlers.MANY_CALLS.clear()
    with transaction.atomic():
        outbox_enqueue_many([_queue("test_record_many", f"r{i}", 9, fail=i == 3) for i in range(5)])
    pks = _pks(*(f"r{i}" for i in range(5)))

    # When the pump goes through them
    assert outbox_pump(worker_id="w1") == 5

    # Then the batch call wrote nothing, and each row was then done on its own
    calls = handlers.MANY_CALLS
    assert calls == [pks] + [[pk] for pk in pks]
    good = [pk for i, pk in enumerate(pks) if i != 3]
    assert _recorded() == {pk: 1 for pk in good}
    assert set(OutboxMessage.objects.filter(pk__in=good).values_list("status", flat=True)) == {
        OutboxStatus.DELIVERED
    }
    # ... and only the bad row waits for a retry
    bad = OutboxMessage.objects.get(pk=pks[3])
    assert (bad.status, bad.attempts) == (OutboxStatus.PENDING, 1)
    assert "cannot be recorded now" in bad.last_error
    assert bad.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_a_database_only_row_that_can_never_be_done_fails_on_the_order_timeline():
    handlers.MANY_CALLS.clear()
    with transaction.atomic():
        outbox_enqueue_many(
            [
                _queue("test_record_many", "ok", 9),
                _queue("test_record_many", "never", 9, fail="permanent"),
            ]
        )
    pks = _pks("ok", "never")

    outbox_pump(worker_id="w1")

    assert _recorded() == {pks[0]: 1}
    never = OutboxMessage.objects.get(pk=pks[1])
    assert never.status == OutboxStatus.FAILED and never.attempts == 1
    event = Event.objects.get(kind="outbox_failed")
    assert event.order_id == 9 and event.data["kind"] == "test_record_many"
    assert "never be recorded" in event.data["error"]
