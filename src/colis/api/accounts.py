from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from pydantic import BaseModel, Field

from colis.accounts.models import ApiToken, User
from colis.accounts.roles import PERMISSIONS, READ, USERS_MANAGE
from colis.accounts.selectors import token_list, user_get, user_list
from colis.accounts.services import token_issue, token_revoke, user_create, user_update
from colis.api.auth import require
from colis.api.pagination import CREATED, Id, check_limit, cursor_decode, page

router = Router(tags=["accounts"])


class UserIn(BaseModel):
    email: str = Field(max_length=254)
    role: str = Field(max_length=10)
    name: str = Field("", max_length=200)
    password: str | None = Field(None, max_length=200)


class UserPatch(BaseModel):
    role: str | None = Field(None, max_length=10)
    is_active: bool | None = None


class TokenIn(BaseModel):
    name: str = Field("", max_length=100)
    user_id: Id | None = None


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "is_active": user.is_active,
        "permissions": sorted(PERMISSIONS.get(user.role, ())),
        "date_joined": user.date_joined,
    }


def token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "user_id": token.user_id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/me", summary="The caller: user, role and permissions")
def me(request: HttpRequest) -> Any:
    who = require(request, READ)
    return user_out(user_get(user_id=who.id))


@router.get("/users", summary="List users (owners)")
def users_list(request: HttpRequest, cursor: str | None = None, limit: int = 50) -> Any:
    require(request, USERS_MANAGE)
    limit = check_limit(limit)
    qs = user_list()
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__gt=after)
    return page(list(qs[: limit + 1]), limit, user_out)


@router.post("/users", response=CREATED, summary="Create a user (owners)")
def users_create(request: HttpRequest, body: UserIn) -> Any:
    who = require(request, USERS_MANAGE)
    user = user_create(
        email=body.email, role=body.role, password=body.password, name=body.name, actor=who
    )
    return Status(201, user_out(user))


@router.patch("/users/{user_id}", summary="Change a user's role or switch it off (owners)")
def users_update(request: HttpRequest, user_id: Id, body: UserPatch) -> Any:
    who = require(request, USERS_MANAGE)
    return user_out(
        user_update(user_id=user_id, role=body.role, is_active=body.is_active, actor=who)
    )


@router.get("/tokens", summary="API tokens: your own, or everyone's for owners")
def tokens_list(request: HttpRequest, cursor: str | None = None, limit: int = 50) -> Any:
    who = require(request, READ)
    limit = check_limit(limit)
    qs = token_list(actor=who)
    if (after := cursor_decode(cursor)) is not None:
        qs = qs.filter(pk__gt=after)
    return page(list(qs[: limit + 1]), limit, token_out)


@router.post("/tokens", response=CREATED, summary="Create a token; the token is shown only here")
def tokens_create(request: HttpRequest, response: HttpResponse, body: TokenIn) -> Any:
    who = require(request, READ)
    issued = token_issue(user_id=body.user_id, name=body.name, actor=who)
    response["Cache-Control"] = "no-store"  # also keeps it out of idempotency records
    return Status(201, {**token_out(issued.token), "token": issued.raw})


@router.post("/tokens/{token_id}/revoke", summary="Revoke a token at once")
def tokens_revoke(request: HttpRequest, token_id: Id) -> Any:
    who = require(request, READ)
    return token_out(token_revoke(token_id=token_id, actor=who))
