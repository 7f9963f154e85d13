"""Users and API tokens: creation rules, hashed storage, authentication, revocation, roles."""

from __future__ import annotations

import pytest

from colis.accounts.models import ApiToken, User
from colis.accounts.roles import (
    CATALOG_WRITE,
    ORDERS_WRITE,
    OUTBOX_MANAGE,
    READ,
    SETTINGS_WRITE,
    USERS_MANAGE,
    role_allows,
)
from colis.accounts.services import (
    TOKEN_PREFIX,
    token_authenticate,
    token_create,
    token_hash,
    token_revoke,
    user_create,
    user_update,
)
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.models import Event
from tests.factories import ACTOR, UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_is_created_with_a_normalised_email_and_an_event():
    user = user_create(email="  Ana@Example.COM ", role="manager", name="Ana", actor=ACTOR)
    assert (user.email, user.role, user.name) == ("ana@example.com", "manager", "Ana")
    assert not user.has_usable_password()
    event = Event.objects.get(kind="user_created")
    assert (event.subject_type, event.subject_id) == ("user", user.pk)
    assert event.data == {"email": "ana@example.com", "role": "manager"}


@pytest.mark.parametrize("email", ["", "   ", "not-an-email", "a@", "@example.com", "a b@c.de"])
def test_a_bad_email_is_refused(email):
    with pytest.raises(ValidationError) as caught:
        user_create(email=email, role="staff", actor=ACTOR)
    assert caught.value.code == "invalid_email"
    assert "email" in caught.value.fields
    assert not User.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.parametrize("role", ["", "admin", "OWNER", "superuser"])
def test_a_bad_role_is_refused(role):
    with pytest.raises(ValidationError) as caught:
        user_create(email="x@example.com", role=role, actor=ACTOR)
    assert caught.value.code == "invalid_role"
    assert "role" in caught.value.fields
    assert not User.objects.exists()


def test_a_taken_email_is_a_conflict_whatever_its_case():
    user_create(email="ana@example.com", role="staff", actor=ACTOR)
    with pytest.raises(Conflict) as caught:
        user_create(email="ANA@example.com", role="owner", actor=ACTOR)
    assert caught.value.code == "email_taken"
    assert caught.value.fields == {"email": "Taken."}
    assert User.objects.get().role == "staff"
    assert Event.objects.filter(kind="user_created").count() == 1


def test_a_password_is_kept_hashed():
    user = user_create(
        email="x@example.com", role="staff", password="correct horse battery", actor=ACTOR
    )
    assert user.check_password("correct horse battery")
    assert "correct horse battery" not in User.objects.values_list("password", flat=True)[0]


@pytest.mark.parametrize("password", ["123", "password", "x@example.com"])
def test_a_weak_password_is_refused(password):
    with pytest.raises(ValidationError) as caught:
        user_create(email="x@example.com", role="staff", password=password, actor=ACTOR)
    assert caught.value.code == "weak_password"
    assert not User.objects.exists()


def test_a_token_is_stored_only_as_its_hash():
    # given a token issued to a user
    user = UserFactory(role="staff")
    issued = token_create(user=user, name="laptop", actor=ACTOR)
    # then the raw token starts with the prefix and only its SHA-256 is stored
    assert issued.raw.startswith(TOKEN_PREFIX)
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert stored.token_hash == token_hash(issued.raw)
    assert stored.token_hash != issued.raw
    assert issued.raw not in (stored.token_hash, stored.prefix, stored.name)
    assert issued.raw.startswith(stored.prefix)
    assert not ApiToken.objects.filter(token_hash=issued.raw).exists()
    event = Event.objects.get(kind="token_created")
    assert issued.raw not in str(event.data)
    # and two tokens are never the same
    assert token_create(user=user, actor=ACTOR).raw != issued.raw


def test_a_live_token_authenticates_as_its_user():
    user = UserFactory(role="manager", email="m@example.com")
    raw = token_create(user=user, actor=ACTOR).raw
    who = token_authenticate(raw)
    assert who is not None
    assert (who.kind, who.id, who.label, who.role) == ("user", user.pk, "m@example.com", "manager")


@pytest.mark.parametrize("raw", ["", "colis_", "colis_nope", "nope", TOKEN_PREFIX.upper() + "x"])
def test_an_unknown_token_authenticates_nobody(raw):
    UserFactory()
    assert token_authenticate(raw) is None


def test_the_hash_itself_is_not_a_token():
    issued = token_create(user=UserFactory(), actor=ACTOR)
    assert token_authenticate(issued.token.token_hash) is None


def test_a_revoked_token_authenticates_nobody_and_revoking_twice_writes_once():
    user = UserFactory()
    issued = token_create(user=user, actor=ACTOR)
    token_revoke(token_id=issued.token.pk, actor=ACTOR)
    assert token_authenticate(issued.raw) is None
    first = ApiToken.objects.get(pk=issued.token.pk).revoked_at
    assert first is not None
    token_revoke(token_id=issued.token.pk, actor=ACTOR)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at == first
    assert Event.objects.filter(kind="token_revoked").count() == 1
    with pytest.raises(NotFound):
        token_revoke(token_id=999_999, actor=ACTOR)


def test_a_switched_off_user_authenticates_nobody():
    owner = UserFactory(role="owner")
    staff = UserFactory(role="staff")
    raw = token_create(user=staff, actor=ACTOR).raw
    user_update(user_id=staff.pk, is_active=False, actor=ACTOR)
    assert token_authenticate(raw) is None
    user_update(user_id=staff.pk, is_active=True, actor=ACTOR)
    assert token_authenticate(raw) is not None
    assert owner.is_active


def test_a_role_change_takes_effect_on_the_next_call():
    UserFactory(role="owner")
    user = UserFactory(role="staff")
    raw = token_create(user=user, actor=ACTOR).raw
    user_update(user_id=user.pk, role="readonly", actor=ACTOR)
    assert token_authenticate(raw).role == "readonly"
    assert Event.objects.get(kind="user_updated").data == {"role": "readonly"}


def test_the_last_owner_stays():
    owner = UserFactory(role="owner")
    with pytest.raises(Conflict) as caught:
        user_update(user_id=owner.pk, role="staff", actor=ACTOR)
    assert caught.value.code == "last_owner"
    with pytest.raises(Conflict):
        user_update(user_id=owner.pk, is_active=False, actor=ACTOR)
    owner.refresh_from_db()
    assert (owner.role, owner.is_active) == ("owner", True)


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        ("owner", {READ, ORDERS_WRITE, CATALOG_WRITE, OUTBOX_MANAGE, USERS_MANAGE}, set()),
        ("manager", {READ, ORDERS_WRITE, CATALOG_WRITE, SETTINGS_WRITE}, {USERS_MANAGE}),
        ("staff", {READ, ORDERS_WRITE}, {CATALOG_WRITE, SETTINGS_WRITE, OUTBOX_MANAGE}),
        ("readonly", {READ}, {ORDERS_WRITE, CATALOG_WRITE, USERS_MANAGE}),
        ("nobody", set(), {READ}),
    ],
)
def test_roles_grant_what_they_should(role, allowed, denied):
    assert all(role_allows(role, p) for p in allowed)
    assert not any(role_allows(role, p) for p in denied)
