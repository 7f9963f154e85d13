"""Signing in to the merchant UI: sessions, CSRF, lockout, password change, language, roles."""

from __future__ import annotations

import pytest
from django.test import Client

from colis.accounts.models import User
from colis.core.models import Event
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(db: None) -> User:
    user = UserFactory(role="staff", email="packer@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def signed_in(user: User, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_pages_ask_for_a_sign_in_and_sign_in_lands_where_asked(staff):
    browser = Client()
    page = browser.get("/app/")
    assert page.status_code == 302 and page["Location"].startswith("/app/login/?next=/app/")
    assert Client().get("/").status_code == 302
    bad = browser.post("/app/login/", {"email": staff.email, "password": "nope", "next": "/app/"})
    assert bad.status_code == 401 and "do not match" in bad.content.decode()
    good = browser.post(
        "/app/login/", {"email": staff.email, "password": PASSWORD, "next": "/app/"}
    )
    assert good.status_code == 302 and good["Location"] == "/app/"
    assert browser.get("/app/").status_code == 200
    # no open redirect through next
    other = Client()
    out = other.post(
        "/app/login/", {"email": staff.email, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert out["Location"] == "/app/"
    browser.post("/app/logout/")
    assert browser.get("/app/").status_code == 302


def test_repeated_failures_lock_the_sign_in_even_with_the_right_password(staff):
    browser = Client()
    for _ in range(5):
        assert (
            browser.post("/app/login/", {"email": staff.email, "password": "x"}).status_code == 401
        )
    locked = browser.post("/app/login/", {"email": staff.email, "password": PASSWORD})
    assert locked.status_code == 429 and "Too many attempts" in locked.content.decode()
    # an email that has no account is counted the same way
    for _ in range(5):
        browser.post("/app/login/", {"email": "ghost@example.com", "password": "x"})
    ghost = browser.post("/app/login/", {"email": "ghost@example.com", "password": "x"})
    assert ghost.status_code == 429


def test_forms_without_a_csrf_token_are_refused(staff):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/app/login/")
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    refused = browser.post("/app/login/", {"email": staff.email, "password": PASSWORD})
    assert refused.status_code == 403
    signed = signed_in(staff, enforce_csrf_checks=True)
    assert signed.post("/app/language/", {"language": "fr"}).status_code == 403
    staff.refresh_from_db()
    assert staff.language == ""


def test_the_api_still_takes_posts_without_csrf(api):
    response = api.post("/api/v1/locations", {"name": "Depot", "address": {
        "name": "Depot", "line1": "1 rue A", "city": "Paris", "postal_code": "75001",
        "country": "FR"}})  # fmt: skip
    assert response.status_code == 201, response.content
    assert "colis_session" not in response.cookies


def test_a_password_change_checks_the_old_one_and_keeps_the_session(staff):
    browser = signed_in(staff)
    wrong = browser.post("/app/password/", {"current": "x", "new": "a" * 12, "confirm": "a" * 12})
    assert wrong.status_code == 422
    new = "another long passphrase 42"
    ok = browser.post("/app/password/", {"current": PASSWORD, "new": new, "confirm": new})
    assert ok.status_code == 200 and "has been changed" in ok.content.decode()
    assert browser.get("/app/").status_code == 200
    staff.refresh_from_db()
    assert staff.check_password(new)
    assert Event.objects.filter(kind="password_changed", subject_id=staff.pk).exists()


def test_each_user_picks_a_language(staff):
    browser = signed_in(staff)
    assert "Dashboard" in browser.get("/app/").content.decode()
    browser.post("/app/language/", {"language": "fr", "next": "/app/"})
    page = browser.get("/app/")
    assert 'lang="fr"' in page.content.decode() and "Tableau de bord" in page.content.decode()
    # a browser asking for French sees the sign-in page in French
    assert (
        "Se connecter"
        in Client(headers={"Accept-Language": "fr"}).get("/app/login/").content.decode()
    )


def test_static_files_are_served_by_the_application(staff):
    browser = signed_in(staff)
    assert browser.get("/static/colis/app.css").status_code == 200
    assert browser.get("/static/django_htmx/htmx-2.min.js").status_code == 200
