"""Signing in, the language, CSRF and roles, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, shot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_then_switch_to_french_and_back(page, make_user):
    owner = make_user("owner", "owner@example.com")
    page.goto("/app/")
    assert "/app/login/" in page.url
    shot(page, "sign-in")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That email and password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    with page.expect_navigation():  # the select submits its form
        page.get_by_label("Language").select_option("fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"
    assert page.locator("html").get_attribute("lang") == "fr"
    owner.refresh_from_db()
    assert owner.language == "fr"
    with page.expect_navigation():  # the select submits its form
        page.get_by_label("Langue").select_option("en")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"


def test_a_form_posted_without_its_csrf_token_is_refused(page, make_user):
    owner = make_user("owner")
    sign_in(page, owner)
    response = page.request.post("/app/language/", form={"language": "fr"})
    assert response.status == 403
    owner.refresh_from_db()
    assert owner.language == ""


def test_the_keyboard_reaches_the_navigation_from_the_skip_link(page, make_user):
    sign_in(page, make_user("staff"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Colis"
