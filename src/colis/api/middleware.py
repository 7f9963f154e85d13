"""Guards in front of every API call: body size, and Idempotency-Key replay on POST.

A POST with an `Idempotency-Key` first reserves the key (scoped to the caller's token); the
first answer is stored and replayed for the same key and body; another body under the same key
is refused with 422 `idempotency_key_reused`; a second call while the first still runs gets 409
`idempotency_key_in_progress`. Server errors release the key so the client can try again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from colis.core.models import IdempotencyRecord

API_PREFIX = "/api/"
# Endpoints whose body is an image (PNG carries NUL bytes in every header).
BINARY_BODIES = frozenset({"/api/v1/shop/logo"})
MAX_KEY_LENGTH = 255
IN_PROGRESS_TIMEOUT = timedelta(seconds=120)
SECRET_NOT_KEPT = orjson.dumps(
    {
        "code": "idempotent_replay_unavailable",
        "message": "The first answer to this request held a secret, which is not kept. "
        "The request was carried out once; look its result up instead.",
        "fields": {},
    }
)


def error_response(
    status: int, code: str, message: str, fields: dict | None = None
) -> HttpResponse:
    return HttpResponse(
        orjson.dumps({"code": code, "message": message, "fields": fields or {}}),
        status=status,
        content_type="application/json",
    )


def _scope(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:40]


_PLAIN_ERRORS = {
    400: ("bad_request", "The request could not be read."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This path does not take this method."),
    500: ("server_error", "Something went wrong on our side."),
}


def _as_json_error(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Every API error is `{code, message, fields}`, also those Django answers by itself."""
    if response.status_code < 400 or "json" in response.get("Content-Type", ""):
        return response
    code, message = _PLAIN_ERRORS.get(response.status_code, ("error", "The request failed."))
    fields = {}
    if response.status_code == 405 and response.get("Allow"):
        fields = {"allow": response["Allow"]}
    replaced = error_response(response.status_code, code, message, fields)
    if response.get("Allow"):
        replaced["Allow"] = response["Allow"]
    return replaced


def _has_nul(request: HttpRequest) -> bool:
    """NUL cannot be stored in PostgreSQL text, so it is refused everywhere, up front (except in
    the bodies of BINARY_BODIES, which are stored as bytes and never as text)."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        return True
    if request.method in ("POST", "PUT", "PATCH") and request.path not in BINARY_BODIES:
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
    return False


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        return _as_json_error(request, self._guarded(request))

    def _guarded(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.COLIS_MAX_BODY_BYTES:
            return error_response(
                413,
                "payload_too_large",
                f"The body is larger than {settings.COLIS_MAX_BODY_BYTES} bytes.",
                {"body": "Too large."},
            )
        if _has_nul(request):
            return error_response(
                422,
                "invalid_characters",
                "Text may not contain NUL (U+0000) characters.",
                {"body": "Contains U+0000."},
            )
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            return self.get_response(request)
        scope = _scope(request)
        if scope is None:
            return self.get_response(request)  # authentication answers 401
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return error_response(
                422,
                "invalid_idempotency_key",
                f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters.",
                {"Idempotency-Key": "1 to 255 characters."},
            )
        digest = hashlib.sha256(
            request.method.encode() + b" " + request.get_full_path().encode() + b"\n" + request.body
        ).hexdigest()
        return self._idempotent(request, scope, key, digest)

    def _idempotent(self, request: HttpRequest, scope: str, key: str, digest: str) -> HttpResponse:
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method or "POST",
                    path=request.path[:500],
                    request_hash=digest,
                    created_at=now,
                )
        except IntegrityError:
            found = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            if found is None:  # the first call failed and let the key go meanwhile
                return error_response(
                    409,
                    "idempotency_key_in_progress",
                    "A request with this Idempotency-Key is still running.",
                )
            record = found
            if record.request_hash != digest:
                return error_response(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used with another request body or path.",
                    {"Idempotency-Key": "Already used for a different request."},
                )
            if record.status_code is None:
                if now - record.created_at < IN_PROGRESS_TIMEOUT:
                    return error_response(
                        409,
                        "idempotency_key_in_progress",
                        "A request with this Idempotency-Key is still running.",
                    )
                taken = IdempotencyRecord.objects.filter(
                    pk=record.pk, status_code__isnull=True, created_at=record.created_at
                ).update(created_at=now)
                if not taken:  # another retry took the abandoned key over first
                    return error_response(
                        409,
                        "idempotency_key_in_progress",
                        "A request with this Idempotency-Key is still running.",
                    )
            else:
                response = HttpResponse(
                    bytes(record.response_body or b""),
                    status=record.status_code,
                    content_type=record.content_type or "application/json",
                )
                response["Idempotent-Replayed"] = "true"
                return response
        response = self.get_response(request)
        if (
            response.status_code >= 500
            or response.status_code in (401, 403, 409, 429)
            or getattr(response, "streaming", False)
        ):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        secret = "no-store" in response.get("Cache-Control", "")
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=409 if secret else response.status_code,
            # An answer carrying a secret (a new API token) is not kept: its replay says so.
            response_body=SECRET_NOT_KEPT if secret else response.content,
            content_type=response.get("Content-Type", "application/json")[:100],
        )
        return response
