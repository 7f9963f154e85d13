"""`colis serve --demo` and the other commands, run as a new user would run them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.core.helpers import COLIS, database_url, free_port, subprocess_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_env(tmp_path):
    """A new data folder; on the PostgreSQL run, also a new database on the same server."""
    env = subprocess_env(COLIS_HOME=str(tmp_path / "home"))
    env.pop("COLIS_SECRET_KEY", None)
    env.pop("COLIS_DATABASE_URL", None)
    created = None
    if connection.vendor == "postgresql":
        import psycopg

        url = database_url()
        assert url is not None
        server = url.rsplit("/", 1)[0]
        created = f"colis_cli_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created}"')
        env["COLIS_DATABASE_URL"] = f"{server}/{created}"
    yield env
    if created:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Serve:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(env["COLIS_HOME"]).parent / f"serve-{self.port}.log"
        self.proc = subprocess.Popen(
            [*COLIS, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if _get(f"{self.url}/api/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            assert self.proc.poll() is None, self.output()
            time.sleep(0.3)
        raise AssertionError("colis serve did not answer: " + self.output())

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(30)


def test_serve_demo_first_run_then_second_run_keeps_everything(fresh_env):
    first = Serve(fresh_env, "--demo")
    try:
        out = first.output()
        token = re.search(r"API token: (\S+)", out).group(1)
        assert re.search(r"owner:\s+owner@example.com", out)
        status, orders = _get(f"{first.url}/api/v1/orders?limit=250", token)
        assert status == 200 and len(orders["items"]) == 250 and orders["next_cursor"]
        assert len(_get(f"{first.url}/api/v1/locations", token)[1]["items"]) == 2
        products = _get(f"{first.url}/api/v1/products?limit=100", token)[1]["items"]
        assert len(products) == 20
        statuses = {o["status"] for o in orders["items"]}
        assert {
            "awaiting_fulfillment",
            "awaiting_payment",
            "awaiting_shipment",
            "shipped",
            "completed",
            "cancelled",
            "manual_verification_required",
        } <= statuses
        shipped = next(o for o in orders["items"] if o["status"] == "shipped")
        assert shipped["shipments"] and shipped["shipments"][0]["tracking_urls"]
        assert _get(f"{first.url}/api/v1/orders", None)[0] == 401
        deadline = time.monotonic() + 90
        while _get(f"{first.url}/api/v1/health")[1]["worker"] != "ok":
            assert time.monotonic() < deadline, "the worker never reported"
            time.sleep(0.5)
    finally:
        assert first.stop() == 0
    home = Path(fresh_env["COLIS_HOME"])
    assert (home / "secret_key").stat().st_mode & 0o077 == 0
    if "COLIS_DATABASE_URL" not in fresh_env:
        import sqlite3

        with sqlite3.connect(home / "colis.sqlite3") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    second = Serve(fresh_env, "--demo")
    try:
        assert "API token" not in second.output()
        assert "Demo data loaded" not in second.output()
        status, orders = _get(f"{second.url}/api/v1/orders?limit=250", token)
        assert status == 200 and len(orders["items"]) == 250
        first_ids = [o["id"] for o in orders["items"]]
        assert len(set(first_ids)) == 250
        assert len(_get(f"{second.url}/api/v1/locations", token)[1]["items"]) == 2
    finally:
        second.stop()


def test_user_token_and_check_commands(fresh_env):
    run = lambda *args: subprocess.run(  # noqa: E731
        [*COLIS, *args], env=fresh_env, capture_output=True, text=True, timeout=120
    )
    assert run("migrate", "--verbosity", "0").returncode == 0
    created = run("user", "create", "--email", "Ann@Example.com", "--role", "staff")
    assert created.returncode == 0, created.stderr
    again = run("user", "create", "--email", "ann@example.com", "--role", "staff")
    assert again.returncode == 1 and "exists" in again.stderr
    bad_role = run("user", "create", "--email", "bob@example.com", "--role", "king")
    assert bad_role.returncode != 0
    token = run("token", "create", "--email", "ann@example.com")
    assert token.returncode == 0
    assert re.fullmatch(r"colis_[A-Za-z0-9_-]{40,}\n", token.stdout)
    assert run("token", "create", "--email", "nobody@example.com").returncode == 1
    check = run("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "schema up to date" in check.stdout
