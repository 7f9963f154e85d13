"""One exception root for every domain error; the API renders each as {code, message, fields}."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refused operation: a stable `code`, a human `message`, field-level details in `fields`."""

    http_status: ClassVar[int] = 422
    default_code: ClassVar[str] = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationError(DomainError):
    http_status = 422
    default_code = "invalid"


class NotFound(DomainError):
    http_status = 404
    default_code = "not_found"


class Conflict(DomainError):
    http_status = 409
    default_code = "conflict"


class PermissionDenied(DomainError):
    http_status = 403
    default_code = "forbidden"


class NotAuthenticated(DomainError):
    http_status = 401
    default_code = "not_authenticated"
