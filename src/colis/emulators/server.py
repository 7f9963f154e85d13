"""The shared body of the vendor emulators: a real HTTP server on loopback that checks every
request it receives and every response it sends against the vendor's contract, enforces the
vendor's authentication and rate limits, and injects faults on demand.

A vendor emulator subclasses `Emulator`: it names its contract(s), checks credentials in
`authenticate`, and answers documented operations in `handle`. Control endpoints under
`/_emulator/` (not part of any vendor API) let tests and demos steer it:

- `POST /_emulator/faults` `{"operation": "confirmShipment"|"*", "fault": "429"|"500"|"timeout"|
  "bad_json"|"expired_token", "count": 1, "retry_after": 1}`
- `POST /_emulator/orders` `{"count": 10, "skus": [...], ...}`: believable new orders
- `POST /_emulator/orders/<id>` `{"action": "cancel"|"ship"|"edit_address", ...}`
- `GET /_emulator/state`: what was pushed, the calls per operation, the contract violations
- `POST /_emulator/limits` `{"enabled": true|false}`
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from colis.emulators.openapi import OpenApiSpec, SpecViolation

logger = logging.getLogger(__name__)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class Refuse(Exception):
    """Answer with this vendor error now (auth failures, unknown ids, bad input)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


@dataclass
class Fault:
    fault: str
    count: int
    retry_after: float = 1.0


class Bucket:
    """The vendor's own token bucket for one operation, as its server enforces it."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> float:
        """0 when a request may go now, else the seconds until it may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Emulator:
    """State and behaviour of one vendor; subclasses fill in the vendor."""

    name: ClassVar[str]
    # Operation id -> (requests/s, burst), enforced when limits are on.
    rate_limits: ClassVar[dict[str, tuple[float, int]]] = {}

    def __init__(self, *, limits: bool = True, seed: int = 1) -> None:
        self.lock = threading.RLock()
        self.limits = limits
        self.seed = seed
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.violations: list[str] = []
        self.calls: dict[str, int] = defaultdict(int)
        self.call_times: dict[str, list[float]] = defaultdict(list)
        self.buckets: dict[str, Bucket] = {}

    # -- to fill in per vendor -------------------------------------------------------------

    def specs(self) -> list[OpenApiSpec]:
        """The contracts this emulator serves (empty for GraphQL vendors)."""
        return []

    def authenticate(self, request: Request, operation_id: str) -> None:
        """Raise Refuse when the request's credentials are missing or wrong."""

    def handle(self, operation_id: str, params: dict[str, str], request: Request) -> Answer:
        raise NotImplementedError

    def handle_other(self, request: Request) -> Answer | None:
        """Requests outside the contracts (a token endpoint, GraphQL); None: 404."""
        return None

    def fault_answer(self, fault: str, retry_after: float) -> Answer:
        """The vendor's own shape for an injected fault."""
        if fault == "429":
            return Answer(429, {"errors": [{"message": "Too many requests"}]},
                          {"Retry-After": str(retry_after)})  # fmt: skip
        if fault == "expired_token":
            return Answer(401, {"errors": [{"message": "The access token has expired."}]})
        return Answer(500, {"errors": [{"message": "Internal error"}]})

    def throttled_answer(self, operation_id: str, wait: float) -> Answer:
        return self.fault_answer("429", round(wait, 3))

    def seed_orders(self, spec: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def order_action(self, order_id: str, spec: dict[str, Any]) -> Any:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {}

    # -- shared machinery -----------------------------------------------------------------

    def take_fault(self, operation_id: str) -> Fault | None:
        with self.lock:
            for key in (operation_id, "*"):
                queue = self.faults.get(key)
                if queue:
                    fault = queue[0]
                    fault.count -= 1
                    if fault.count <= 0:
                        queue.pop(0)
                    return fault
        return None

    def throttle(self, operation_id: str) -> float:
        if not self.limits or operation_id not in self.rate_limits:
            return 0.0
        with self.lock:
            bucket = self.buckets.get(operation_id)
            if bucket is None:
                bucket = self.buckets[operation_id] = Bucket(*self.rate_limits[operation_id])
            return bucket.take()

    def dispatch(self, request: Request) -> Answer:
        if request.path.startswith("/_emulator/"):
            return self._control(request)
        matched = None
        spec_used = None
        for spec in self.specs():
            matched = spec.match(request.method, request.path)
            if matched is not None:
                spec_used = spec
                break
        if matched is None or spec_used is None:
            other = self.handle_other(request)
            if other is not None:
                return other
            self.violations.append(f"{request.method} {request.path}: no such operation")
            return Answer(404, {"errors": [{"message": "Not found"}]})
        op = matched.operation
        try:
            spec_used.check_request(
                request.method, request.path, request.query, request.headers, request.body
            )
        except SpecViolation as exc:
            self.violations.append(str(exc))
            return Answer(400, {"errors": [{"message": str(exc)}]})
        try:
            self.authenticate(request, op.operation_id)
        except Refuse as refused:
            return refused.answer
        with self.lock:
            self.calls[op.operation_id] += 1
            self.call_times[op.operation_id].append(time.time())
        wait = self.throttle(op.operation_id)
        if wait > 0:
            return self.throttled_answer(op.operation_id, wait)
        fault = self.take_fault(op.operation_id)
        if fault is not None:
            if fault.fault == "timeout":
                time.sleep(fault.retry_after)
            elif fault.fault == "bad_json":
                return Answer(200, b'{"truncated": ', {"Content-Type": "application/json"})
            else:
                return self.fault_answer(fault.fault, fault.retry_after)
        try:
            answer = self.handle(op.operation_id, matched.path_params, request)
        except Refuse as refused:
            answer = refused.answer
        body = answer.body if isinstance(answer.body, bytes) else _dump(answer.body)
        try:
            spec_used.check_response(op, answer.status, body)
        except SpecViolation as exc:
            self.violations.append(str(exc))
        return answer

    def _control(self, request: Request) -> Answer:
        what = request.path.removeprefix("/_emulator/")
        data = request.json() or {}
        if what == "faults" and request.method == "POST":
            with self.lock:
                self.faults[data.get("operation", "*")].append(
                    Fault(
                        fault=str(data["fault"]),
                        count=int(data.get("count", 1)),
                        retry_after=float(data.get("retry_after", 1)),
                    )
                )
            return Answer(204)
        if what == "limits" and request.method == "POST":
            self.limits = bool(data.get("enabled", True))
            self.buckets.clear()
            return Answer(204)
        if what == "orders" and request.method == "POST":
            return Answer(201, {"ids": self.seed_orders(data)})
        if what.startswith("orders/") and request.method == "POST":
            return Answer(200, {"result": self.order_action(what.split("/", 1)[1], data)})
        if what == "state" and request.method == "GET":
            with self.lock:
                return Answer(
                    200,
                    {
                        **self.state(),
                        "calls": dict(self.calls),
                        "call_times": {k: list(v) for k, v in self.call_times.items()},
                        "violations": list(self.violations),
                    },
                )
        return Answer(404, {"errors": [{"message": "unknown control endpoint"}]})


def _dump(body: Any) -> bytes:
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), default=str).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: Emulator

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold the body back about 40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in self.headers.items()},
            body=body,
        )
        try:
            answer = self.emulator.dispatch(request)
        except Exception as exc:  # an emulator bug shows as a 500 and a violation
            logger.exception("emulator failed")
            self.emulator.violations.append(f"emulator error: {exc!r}")
            answer = Answer(500, {"errors": [{"message": "emulator error"}]})
        payload = answer.body if isinstance(answer.body, bytes) else _dump(answer.body)
        self.send_response(answer.status)
        headers = {"Content-Type": "application/json", **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class EmulatorServer:
    """Runs an emulator on 127.0.0.1 in a background thread (port 0: any free port)."""

    def __init__(self, emulator: Emulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"emulator": emulator})
        self.emulator = emulator
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)
