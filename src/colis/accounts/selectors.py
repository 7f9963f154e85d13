"""Reads of users and tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from colis.accounts.models import ApiToken, User
from colis.accounts.roles import USERS_MANAGE, role_allows
from colis.core.actor import Actor
from colis.core.errors import NotFound


def user_get(*, user_id: int | None) -> User:
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


def user_list() -> QuerySet[User]:
    return User.objects.order_by("pk")


def token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    """Owners see every token; everyone else their own."""
    qs = ApiToken.objects.order_by("pk")
    if not role_allows(actor.role, USERS_MANAGE):
        qs = qs.filter(user_id=actor.id)
    return qs
