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
        return token_authenticate(token)


def actor(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def require(request: HttpRequest, permission: str) -> Actor:
    """The caller, if its role grants `permission`; else PermissionDenied (403)."""
    who = actor(request)
    if not role_allows(who.role, permission):
        raise PermissionDenied(
            f"The {who.role} role cannot do this ({permission}).",
            code="forbidden_role",
            fields={"required_permission": permission, "role": who.role},
        )
    return who
