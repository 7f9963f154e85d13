"""French in a real browser: switched once from the header, every area speaks it, with French
money."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.data import Shop

pytestmark = pytest.mark.django_db(transaction=True)


def _h1(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_every_area_in_french(page, make_user):
    shop = Shop()
    order = shop.order([("BAR-A", 2)])
    user = make_user("owner")
    sign_in(page, user)
    with page.expect_navigation():  # the select submits its form
        page.get_by_label("Language").select_option("fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")

    page.get_by_role("navigation", name="Principal").get_by_role("link", name="Commandes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commandes")
    views = page.get_by_role("navigation", name="Vues des commandes")
    expect(views.get_by_role("link", name="À préparer")).to_be_visible()
    expect(page.get_by_label("Rechercher")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=order["number"])
    assert "25,00\u00a0€" in row.inner_text()  # 2 × 12.50 EUR, written the French way

    page.goto(f"/app/orders/{order['id']}/")
    assert order["number"] in _h1(page) and _h1(page).startswith("Commande")

    page.goto("/app/returns/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Retours")
    page.goto("/app/tracking-import/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import de suivis")
    expect(page.get_by_role("button", name="Vérifier le fichier")).to_be_visible()
    page.goto("/app/settings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Réglages")
    page.get_by_role("navigation", name="Réglages").get_by_role("link", name="Emplacements").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emplacements")
    expect(page.get_by_role("link", name="Ajouter un emplacement")).to_be_visible()
