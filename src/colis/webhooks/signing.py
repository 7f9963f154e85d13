"""Signed JSON POSTs: `X-Colis-Signature` is the hex HMAC-SHA256, with the shared secret, of
`X-Colis-Timestamp`, a dot, and the raw body; `X-Colis-Event-Id` is the same on every attempt."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from colis.core.outbox import PermanentFailure, TemporaryFailure

TIMEOUT_SECONDS = 15.0
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_post(url: str, secret: str, event_id: str, payload: dict[str, Any]) -> int:
    """POST the payload; returns the HTTP status. Raises PermanentFailure (a 4xx that will not
    change) or TemporaryFailure (5xx, 408/429, timeouts, unreachable)."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Colis",
            "X-Colis-Event-Id": event_id,
            "X-Colis-Timestamp": stamp,
            "X-Colis-Signature": webhook_signature(secret, stamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX:
            raise PermanentFailure(f"The endpoint refused the request: HTTP {exc.code}") from exc
        raise TemporaryFailure(f"The endpoint answered HTTP {exc.code}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TemporaryFailure(f"The endpoint is unreachable: {exc}") from exc
