"""Users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from colis.accounts.models import ApiToken, User
from colis.accounts.roles import USERS_MANAGE, Role, role_allows
from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from colis.core.sql import fetch_all
from colis.core.timeline import event_record

TOKEN_PREFIX = "colis_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class IssuedToken:
    token: ApiToken
    raw: str


def user_create(
    *, email: str, role: str, password: str | None = None, name: str = "", actor: Actor
) -> User:
    """Create a user. Raises ValidationError (email, role, password) or Conflict (email taken)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationError(
            "A valid email is required.", code="invalid_email", fields={"email": "Not an email."}
        ) from None
    if role not in Role.values:
        raise ValidationError(
            f"Role must be one of {', '.join(Role.values)}.",
            code="invalid_role",
            fields={"role": "Unknown role."},
        )
    if password is not None:
        try:
            validate_password(password, User(email=email, name=name))
        except DjangoValidationError as exc:
            raise ValidationError(
                "Password too weak.", code="weak_password", fields={"password": exc.messages}
            ) from None
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise Conflict(
                "A user with this email exists.", code="email_taken", fields={"email": "Taken."}
            )
        user = User(email=email, role=role, name=name)
        user.set_password(password)  # None: no password sign-in, tokens only
        user.save()
        event_record(
            subject_type="user",
            subject_id=user.pk,
            kind="user_created",
            actor=actor,
            data={"email": email, "role": role},
        )
    return user


def token_create(*, user: User, name: str = "", actor: Actor) -> IssuedToken:
    """Issue a new token for `user`; the raw token is returned here and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=token_hash(raw)
        )
        event_record(
            subject_type="user",
            subject_id=user.pk,
            kind="token_created",
            actor=actor,
            data={"token_id": token.pk, "prefix": token.prefix},
        )
    return IssuedToken(token=token, raw=raw)


def token_revoke(*, token_id: int, actor: Actor) -> ApiToken:
    """Revoke a token at once. Only owners revoke other users' tokens (PermissionDenied)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such token.", code="token_not_found")
        _check_own_or_manager(token.user_id, actor, "revoke another user's token")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            event_record(
                subject_type="user",
                subject_id=token.user_id,
                kind="token_revoked",
                actor=actor,
                data={"token_id": token.pk},
            )
    return token


def token_issue(*, user_id: int | None, name: str = "", actor: Actor) -> IssuedToken:
    """A new token for `user_id` (the actor when None). Only owners issue tokens for others."""
    target = user_id or actor.id
    _check_own_or_manager(target, actor, "create a token for another user")
    user = User.objects.filter(pk=target, is_active=True).first()
    if user is None:
        raise NotFound(
            "No such active user.", code="user_not_found", fields={"user_id": "Unknown."}
        )
    return token_create(user=user, name=name, actor=actor)


def _check_own_or_manager(user_id: int | None, actor: Actor, what: str) -> None:
    if user_id != actor.id and not role_allows(actor.role, USERS_MANAGE):
        raise PermissionDenied(f"Only owners can {what}.", code="forbidden_role")


def token_authenticate(raw: str) -> Actor | None:
    """The actor behind a live token (not revoked, user active), or None. One query."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    rows = fetch_all(
        f"SELECT u.id, u.email, u.role FROM {ApiToken._meta.db_table} t "
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active",
        [token_hash(raw)],
    )
    if not rows:
        return None
    user_id, email, role = rows[0]
    return Actor(kind="user", id=user_id, label=email, role=role)


def user_update(
    *, user_id: int, role: str | None = None, is_active: bool | None = None, actor: Actor
) -> User:
    """Change a user's role or switch it off. The last active owner cannot be demoted or
    switched off (Conflict `last_owner`)."""
    if role is not None and role not in Role.values:
        raise ValidationError(
            f"Role must be one of {', '.join(Role.values)}.",
            code="invalid_role",
            fields={"role": "Unknown role."},
        )
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound("No such user.", code="user_not_found")
        owners = list(User.objects.select_for_update().filter(role=Role.OWNER, is_active=True))
        losing_owner = user.role == Role.OWNER and (
            (role is not None and role != Role.OWNER) or is_active is False
        )
        if losing_owner and len(owners) <= 1:
            raise Conflict("Colis needs at least one active owner.", code="last_owner")
        changed = {}
        if role is not None and role != user.role:
            changed["role"] = role
        if is_active is not None and is_active != user.is_active:
            changed["is_active"] = is_active
        for key, value in changed.items():
            setattr(user, key, value)
        if changed:
            user.save(update_fields=list(changed))
            event_record(
                subject_type="user",
                subject_id=user.pk,
                kind="user_updated",
                actor=actor,
                data=changed,
            )
    return user
