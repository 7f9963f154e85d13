"""Bearer-token authentication and role checks for the API."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from colis.accounts.roles import role_allows
from colis.accounts.services import token_authenticate
from colis.core.actor import Actor
from colis.core.errors import PermissionDenied


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        from colis.partners.selectors import SERVICE_TOKEN_PREFIX, service_token_authenticate

        if token.startswith(SERVICE_TOKEN_PREFIX):
            return service_token_authenticate(token)
        return token_authenticate(token)


def actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def require(request: HttpRequest, permission: str, *alternatives: str) -> Actor:
    """The caller, if its role grants `permission` (or one of the alternatives); else
    PermissionDenied (403)."""
    who = actor(request)
    if not any(role_allows(who.role, p) for p in (permission, *alternatives)):
        raise PermissionDenied(
            f"The {who.role} role cannot do this ({permission}).",
            code="forbidden_role",
            fields={"required_permission": permission, "role": who.role},
        )
    return who
