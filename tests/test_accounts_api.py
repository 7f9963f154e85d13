"""Users and tokens through the API: owners manage, everyone manages their own tokens."""

from __future__ import annotations

import pytest

from colis.accounts.models import ApiToken, User
from colis.core.models import Event
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_me_shows_role_and_permissions(make_api):
    staff = make_api("staff")
    me = staff.get("/api/v1/me").json()
    assert me["role"] == "staff"
    assert "orders.write" in me["permissions"] and "catalog.write" not in me["permissions"]


def test_owner_creates_a_user_and_staff_may_not(api, make_api):
    response = api.post("/api/v1/users", {"email": "New@Example.com", "role": "manager"})
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "new@example.com"
    assert Event.objects.filter(kind="user_created").exists()
    staff = make_api("staff")
    denied = staff.post("/api/v1/users", {"email": "x@example.com", "role": "owner"})
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden_role"
    assert staff.get("/api/v1/users").status_code == 403
    taken = api.post("/api/v1/users", {"email": "new@example.com", "role": "staff"})
    assert taken.status_code == 409 and taken.json()["code"] == "email_taken"


def test_a_new_token_works_once_shown_and_stops_when_revoked(make_api):
    staff = make_api("staff")
    created = staff.post("/api/v1/tokens", {"name": "laptop"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert not ApiToken.objects.filter(token_hash=raw).exists()
    second = ApiClient(raw)
    assert second.get("/api/v1/me").status_code == 200
    assert "token" not in staff.get("/api/v1/tokens").json()["items"][0]
    revoked = staff.post(f"/api/v1/tokens/{created.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert second.get("/api/v1/me").status_code == 401


def test_staff_cannot_revoke_someone_elses_token(api, make_api):
    owner_tokens = api.get("/api/v1/tokens").json()["items"]
    staff = make_api("staff")
    response = staff.post(f"/api/v1/tokens/{owner_tokens[0]['id']}/revoke")
    assert response.status_code == 403
    assert staff.post("/api/v1/tokens/999999/revoke").status_code == 404


def test_the_last_owner_cannot_be_demoted_or_switched_off(api):
    owner = User.objects.get(role="owner")
    response = api.patch(f"/api/v1/users/{owner.pk}", {"role": "staff"})
    assert response.status_code == 409 and response.json()["code"] == "last_owner"
    assert api.patch(f"/api/v1/users/{owner.pk}", {"is_active": False}).status_code == 409
    other = api.post("/api/v1/users", {"email": "second@example.com", "role": "owner"}).json()
    assert api.patch(f"/api/v1/users/{other['id']}", {"role": "readonly"}).status_code == 200
    assert api.patch("/api/v1/users/999999", {"role": "staff"}).status_code == 404


def test_a_switched_off_user_loses_api_access(api, make_api):
    staff = make_api("staff")
    user_id = staff.get("/api/v1/me").json()["id"]
    assert api.patch(f"/api/v1/users/{user_id}", {"is_active": False}).status_code == 200
    assert staff.get("/api/v1/me").status_code == 401
