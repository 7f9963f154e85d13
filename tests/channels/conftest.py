"""Fixtures of the channel end-to-end tests: each vendor's emulator, running over real HTTP for
the length of a test and checked at its end for any breach of the vendor's contract, a channel
factory with the channel's SKUs in stock, and Colis itself over real HTTP for webhooks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from colis.channels.models import Channel
from colis.emulators.amazon import AmazonEmulator
from colis.emulators.bigcommerce import BigCommerceEmulator
from colis.emulators.ebay import EbayEmulator
from colis.emulators.server import Emulator, EmulatorServer
from colis.emulators.shopify import ShopifyEmulator
from tests.channels.helpers import channel_to


def _running(emulator: Emulator) -> Iterator[EmulatorServer]:
    server = EmulatorServer(emulator).start()
    yield server
    server.stop()
    assert server.emulator.violations == []


@pytest.fixture
def amazon() -> Iterator[EmulatorServer]:
    yield from _running(AmazonEmulator(limits=True))


@pytest.fixture
def ebay() -> Iterator[EmulatorServer]:
    yield from _running(EbayEmulator(limits=True))


@pytest.fixture
def shopify() -> Iterator[EmulatorServer]:
    yield from _running(ShopifyEmulator(limits=False))


@pytest.fixture
def store() -> Iterator[EmulatorServer]:
    """BigCommerce's emulator."""
    yield from _running(BigCommerceEmulator(limits=False))


@pytest.fixture
def connect(stocked: Callable[..., Any]) -> Callable[..., Channel]:
    """`connect(kind, name, skus, credentials=..., settings=...)`: a channel importing every order
    placed since 2020, with each of `skus` (what the vendor's orders are made of) in stock."""

    def make(kind: str, name: str, skus: list[str], **connection: Any) -> Channel:
        for sku in skus:
            stocked(sku, qty=500)
        return channel_to(kind, name, **connection)

    return make


@pytest.fixture
def short_timeout(settings: Any) -> None:
    """The channel's client gives up waiting for the vendor's answer after half a second (from the
    first call: the channel's connector keeps the timeout it was built with)."""
    settings.COLIS_CHANNEL_TIMEOUT = 0.5


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def colis_server() -> Iterator[str]:
    """Colis itself over real HTTP (the vendor's webhooks come from another process)."""
    handler = WSGIHandler()

    def app(environ, start_response):
        try:
            return handler(environ, start_response)
        finally:
            connections.close_all()  # the server thread keeps no connection past a request

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
