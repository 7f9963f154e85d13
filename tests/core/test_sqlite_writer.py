"""SQLite writers queue on the file lock: many threads and processes, no lost update, no
'database is locked'."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from django.db import connection

from colis.inventory.models import InventoryLevel, StockMovement
from colis.inventory.services import inventory_adjust
from tests.core.helpers import database_url, subprocess_env
from tests.factories import ACTOR, LocationFactory, ProductFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "sqlite", reason="the SQLite writer lock; PostgreSQL locks rows"
    ),
]

ADJUST = """
import django, os, sys
django.setup()
from colis.core.actor import Actor
from colis.inventory.services import inventory_adjust
for _ in range(int(sys.argv[3])):
    inventory_adjust(product_id=int(sys.argv[1]), location_id=int(sys.argv[2]),
                     reason="correction", delta=1, actor=Actor.system("proc"))
"""


def test_threads_and_processes_adjusting_one_level_all_land():
    url = database_url()
    if url is None:
        pytest.skip("needs a database file")
    location, product = LocationFactory(is_default=True), ProductFactory()
    errors: list[BaseException] = []

    def adjust(times: int) -> None:
        try:
            for _ in range(times):
                inventory_adjust(
                    product_id=product.pk,
                    location_id=location.pk,
                    reason="correction",
                    delta=1,
                    actor=ACTOR,
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    env = subprocess_env(COLIS_DATABASE_URL=url, DJANGO_SETTINGS_MODULE="colis.settings")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADJUST, str(product.pk), str(location.pk), "30"], env=env
        )
        for _ in range(2)
    ]
    threads = [threading.Thread(target=adjust, args=(30,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(p.wait(120) == 0 for p in procs)
    assert not errors, errors
    level = InventoryLevel.objects.get(product=product, location=location)
    assert level.on_hand == 8 * 30
    assert StockMovement.objects.filter(level=level).count() == 8 * 30
