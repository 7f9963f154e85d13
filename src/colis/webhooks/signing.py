"""Signed JSON POSTs: `X-Colis-Signature` is the hex HMAC-SHA256, with the shared secret, of
`X-Colis-Timestamp`, a dot, and the raw body; `X-Colis-Event-Id` is the same on every attempt.

Each worker thread keeps one HTTP/1.1 connection per receiver and reuses it while the receiver
keeps it open. Redirects are not followed (a redirect could lead to an address the URL check
refused): a 3xx answer is a failure like any other."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from colis.core.outbox import PermanentFailure, TemporaryFailure

TIMEOUT_SECONDS = 15.0  # per socket operation
TOTAL_SECONDS = 30.0  # to read an answer's body
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_RESPONSE_BYTES = 64 * 1024
MAX_KEPT = 32  # open connections kept per thread
_local = threading.local()

Key = tuple[str, str, int]


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _pool() -> dict[Key, http.client.HTTPConnection]:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    return pool


def _open(key: Key) -> http.client.HTTPConnection:
    scheme, host, port = key
    if scheme == "https":
        return http.client.HTTPSConnection(
            host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)


def _drop(key: Key) -> None:
    conn = _pool().pop(key, None)
    if conn is not None:
        conn.close()


def http_close() -> None:
    """Close this thread's kept connections."""
    for key in list(_pool()):
        _drop(key)


def _drain(response: http.client.HTTPResponse, deadline: float) -> None:
    """Read (and drop) up to MAX_RESPONSE_BYTES of the answer, within the deadline: a receiver
    that trickles its body cannot hold the lane longer than that."""
    left = MAX_RESPONSE_BYTES
    while left > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the endpoint took too long to send its answer")
        if response.length == 0:
            response.read()  # marks the answer finished, so the connection can be reused
            return
        chunk = response.read1(min(left, 8192))
        if not chunk:
            return
        left -= len(chunk)


def _exchange(key: Key, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One POST on the kept connection (a fresh one when the kept one turns out closed)."""
    pool = _pool()
    for attempt in (1, 2):
        reused = key in pool
        if not reused:
            if len(pool) >= MAX_KEPT:
                _drop(next(iter(pool)))
            pool[key] = _open(key)
        conn = pool[key]
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            _drain(response, time.monotonic() + TOTAL_SECONDS)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            _drop(key)
            if reused and attempt == 1:
                continue  # the receiver closed the kept connection while it was idle
            raise
        except BaseException:
            _drop(key)
            raise
        if response.will_close or not response.isclosed():
            _drop(key)  # closing, or more body than we read
        return int(response.status)
    raise AssertionError("unreachable")


def signed_post(url: str, secret: str, event_id: str, payload: dict[str, Any]) -> int:
    """POST the payload; returns the HTTP status (2xx). Raises PermanentFailure (a 3xx or 4xx
    that will not change) or TemporaryFailure (5xx, 408/429, timeouts, unreachable)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentFailure("An http or https URL is required.")
    key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Colis",
        "X-Colis-Event-Id": event_id,
        "X-Colis-Timestamp": stamp,
        "X-Colis-Signature": webhook_signature(secret, stamp, body),
    }
    try:
        status = _exchange(key, path, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        raise TemporaryFailure(f"The endpoint is unreachable: {exc}") from exc
    if 200 <= status < 300:
        return status
    if status >= 500 or status in RETRYABLE_4XX:
        raise TemporaryFailure(f"The endpoint answered HTTP {status}.")
    raise PermanentFailure(f"The endpoint refused the request: HTTP {status}")
