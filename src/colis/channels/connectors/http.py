"""The HTTP underneath every vendor client: one kept-alive session per client, the vendor's rate
limits taken before each call, and every failure sorted into the ChannelError kinds."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from colis.channels.connectors.base import (
    AuthExpired,
    ChannelError,
    Limiter,
    PermanentError,
    RateLimited,
)

TIMEOUT = (5.0, 30.0)  # connect, read
USER_AGENT = "Colis/1 (order fulfillment)"


def configured_read_timeout() -> float:
    """Seconds to wait for a vendor's answer: COLIS_CHANNEL_TIMEOUT, else 30."""
    from django.conf import settings

    return float(getattr(settings, "COLIS_CHANNEL_TIMEOUT", TIMEOUT[1]))


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (it may be a number of seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class Response:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ChannelError(
                f"The answer is not JSON (HTTP {self.status}).",
                status=self.status,
                body=self.body.decode("utf-8", "replace"),
            ) from exc


class VendorHttp:
    """Calls one vendor's API. Thread-safe: each thread has its own session."""

    def __init__(self, *, base_url: str, limiter: Limiter, timeout: tuple[float, float] = TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        if timeout is TIMEOUT:
            timeout = (TIMEOUT[0], configured_read_timeout())
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # Proxies from the environment are looked up once for this API's host, not on every
            # call (requests would read the environment and ~/.netrc each time).
            session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            session.trust_env = False
            self._local.session = session
        return session

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | str | None = None,
        url: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Response:
        """One request. Raises RateLimited (429), AuthExpired (401), PermanentError (other
        4xx), ChannelError (5xx, timeouts, dropped connections)."""
        self.limiter.acquire(operation)
        body = data
        send_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            send_headers.setdefault("Content-Type", "application/json")
        try:
            answer = self._session().request(
                method,
                url or self.base_url + path,
                headers=send_headers,
                params=params,
                data=body,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ChannelError(f"{operation}: no answer in time ({exc}).") from exc
        except requests.RequestException as exc:
            raise ChannelError(f"{operation}: the connection failed ({exc}).") from exc
        result = Response(answer.status_code, answer.headers, answer.content)
        self.limiter.observe(operation, answer.headers)
        if answer.status_code in ok:
            return result
        text = answer.content.decode("utf-8", "replace")
        status = answer.status_code
        message = f"{operation}: HTTP {status}"
        if status == 429:
            raise RateLimited(
                message,
                status=status,
                body=text,
                retry_after=retry_after_seconds(answer.headers.get("Retry-After")),
            )
        if status == 401:
            raise AuthExpired(message, status=status, body=text)
        if status in (408, 409, 423, 425) or status >= 500 or 200 <= status < 300:
            # A 2xx other than the documented one: whether it took is unknown, so retry.
            raise ChannelError(
                message,
                status=status,
                body=text,
                retry_after=retry_after_seconds(answer.headers.get("Retry-After")),
            )
        raise PermanentError(f"{message}: {text[:300]}", status=status, body=text)
