"""The settings screens: shop, locations, products and inventory, statuses, emails."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from colis.accounts.models import User
from colis.core.models import Event, Shop
from colis.locations.models import Location
from tests.factories import ADDRESS_FR, LocationFactory, UserFactory

BASE_FORMS = ("/app/language/", "/app/logout/")


def signed_in(role: str, **kwargs) -> tuple[Client, User]:
    user = UserFactory(role=role)
    client = Client(**kwargs)
    client.force_login(user)
    return client, user


def write_forms(html: str) -> list[str]:
    """The actions of the page's own forms that post (the frame's language and sign-out forms
    left out)."""
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>", html)
    actions = [re.search(r'action="([^"]*)"', f) for f in forms]
    return [a.group(1) for a in actions if a and a.group(1) not in BASE_FORMS]


@pytest.fixture
def owner_client(db: None) -> Client:
    return signed_in("owner")[0]


@pytest.fixture
def readonly_client(db: None) -> Client:
    return signed_in("readonly")[0]


# --- shop -----------------------------------------------------------------------------------


def shop_form(**changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Atelier Colis", "locale": "fr", "currency": "EUR",
        "routing_strategy": "priority", "email_sender_name": "Atelier",
        "email_sender_address": "shop@example.com", "email_reply_to": "",
        "return_window_days": "45", "return_auto_approve_reasons": ["damaged", "wrong_item"],
        "return_instructions": "Use the prepaid label.", "retention_days": "",
    }  # fmt: skip
    form.update(changes)
    return form


def test_the_shop_is_changed_and_a_bad_field_is_shown_by_it(owner_client):
    saved = owner_client.post("/app/settings/shop/", shop_form())
    assert saved.status_code == 302 and saved["Location"] == "/app/settings/shop/?done=saved"
    shop = Shop.objects.get(pk=1)
    assert (shop.name, shop.locale, shop.return_window_days) == ("Atelier Colis", "fr", 45)
    assert shop.return_auto_approve_reasons == ["damaged", "wrong_item"]
    assert Event.objects.filter(kind="shop_updated").count() == 1
    page = owner_client.get(saved["Location"]).content.decode()
    assert "Saved." in page and 'value="Atelier Colis"' in page

    bad = owner_client.post(
        "/app/settings/shop/", shop_form(name="Other", email_sender_address="not an address")
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'id="f-email_sender_address-error"' in html and "ASCII local part" in html
    assert 'value="Other"' in html  # what was typed stays
    assert Shop.objects.get(pk=1).name == "Atelier Colis"
    days = owner_client.post("/app/settings/shop/", shop_form(return_window_days="lots"))
    assert days.status_code == 422 and 'id="f-return_window_days-error"' in days.content.decode()


def test_a_readonly_user_sees_the_shop_without_write_controls_and_cannot_post(readonly_client):
    page = readonly_client.get("/app/settings/shop/")
    assert page.status_code == 200
    html = page.content.decode()
    assert write_forms(html) == [] and '<fieldset class="card" disabled>' in html
    refused = readonly_client.post("/app/settings/shop/", shop_form(name="Hacked"))
    assert refused.status_code == 403
    assert Shop.objects.filter(name="Hacked").count() == 0


def test_staff_cannot_change_the_shop(db):
    client, _ = signed_in("staff")
    assert client.post("/app/settings/shop/", shop_form(name="Staff shop")).status_code == 403
    assert write_forms(client.get("/app/settings/shop/").content.decode()) == []


def test_forms_without_the_csrf_token_are_refused(db):
    client, _ = signed_in("owner", enforce_csrf_checks=True)
    assert client.post("/app/settings/shop/", shop_form(name="No token")).status_code == 403
    assert client.post("/app/settings/locations/new/", {"name": "X"}).status_code == 403
    assert not Shop.objects.filter(name="No token").exists()


def test_the_index_links_every_screen(owner_client):
    html = owner_client.get("/app/settings/").content.decode()
    for path in ("shop", "locations", "products", "statuses", "emails", "outbox"):
        assert f'href="/app/settings/{path}/"' in html


# --- locations ------------------------------------------------------------------------------


def location_form(name: str, **changes: str) -> dict[str, str]:
    form = {
        "name": name, "phone": "", "address_name": "", "address_company": "",
        "address_line1": ADDRESS_FR["line1"], "address_line2": "", "address_city": "Paris",
        "address_region": "", "address_postal_code": "75002", "address_country": "FR",
        "fulfills_online_orders": "on",
    }  # fmt: skip
    form.update(changes)
    return form


def names() -> list[str]:
    return list(Location.objects.order_by("priority", "pk").values_list("name", flat=True))


def test_a_location_is_added_then_moved_to_the_top_with_the_buttons(owner_client, location):
    LocationFactory(name="Second")
    added = owner_client.post("/app/settings/locations/new/", location_form("Lyon depot"))
    assert added.status_code == 302
    lyon = Location.objects.get(name="Lyon depot")
    assert names() == [location.name, "Second", "Lyon depot"]  # a new one goes last
    assert lyon.fulfills_online_orders and not lyon.allow_negative_stock
    assert lyon.address["name"] == "Lyon depot"

    owner_client.post(f"/app/settings/locations/{lyon.pk}/move/", {"direction": "up"})
    assert Location.objects.get(pk=lyon.pk).priority == 2
    moved = owner_client.post(f"/app/settings/locations/{lyon.pk}/move/", {"direction": "up"})
    order = list(Location.objects.order_by("priority").values_list("name", "priority"))
    assert order[0] == ("Lyon depot", 1) and [p for _, p in order] == [1, 2, 3]
    page = owner_client.get(moved["Location"]).content.decode()
    assert page.index("Lyon depot") < page.index(location.name)
    assert "Priority changed." in page
    # moving down, then to the top again
    owner_client.post(f"/app/settings/locations/{lyon.pk}/move/", {"direction": "down"})
    assert Location.objects.get(pk=lyon.pk).priority == 2
    owner_client.post(f"/app/settings/locations/{lyon.pk}/move/", {"direction": "top"})
    assert Location.objects.get(pk=lyon.pk).priority == 1
    assert Event.objects.filter(kind="location_priorities_set").count() == 4


def test_dragging_sends_the_whole_order(owner_client, location):
    other = LocationFactory(name="Other")
    owner_client.post(
        "/app/settings/locations/priority/", {"location_ids": f"{other.pk},{location.pk}"}
    )
    assert Location.objects.get(pk=other.pk).priority == 1
    bad = owner_client.post("/app/settings/locations/priority/", {"location_ids": f"{other.pk}"})
    assert bad.status_code == 422 and "every location exactly once" in bad.content.decode()
    assert Location.objects.get(pk=other.pk).priority == 1


def test_a_bad_address_is_shown_by_its_field_and_nothing_is_added(owner_client, location):
    bad = owner_client.post(
        "/app/settings/locations/new/", location_form("Nowhere", address_postal_code="ABC")
    )
    assert bad.status_code == 422
    html = bad.content.decode()
    assert 'id="f-address_postal_code-error"' in html and 'value="Nowhere"' in html
    assert not Location.objects.filter(name="Nowhere").exists()


def test_a_location_is_edited_made_default_and_deactivated(owner_client, location):
    other = LocationFactory(name="Annex")
    edit = owner_client.post(
        f"/app/settings/locations/{other.pk}/",
        location_form("Annex", allow_negative_stock="on", fulfills_online_orders=""),
    )
    assert edit.status_code == 302
    other.refresh_from_db()
    assert other.allow_negative_stock and not other.fulfills_online_orders
    # the default cannot be deactivated: the error is shown
    refused = owner_client.post(f"/app/settings/locations/{location.pk}/deactivate/")
    assert refused.status_code == 409 and "default location" in refused.content.decode()
    owner_client.post(f"/app/settings/locations/{other.pk}/default/")
    other.refresh_from_db()
    assert other.is_default
    owner_client.post(f"/app/settings/locations/{location.pk}/deactivate/")
    assert not Location.objects.get(pk=location.pk).active
    owner_client.post(f"/app/settings/locations/{location.pk}/activate/")
    assert Location.objects.get(pk=location.pk).active


def test_readonly_and_staff_see_locations_without_write_controls(db, location):
    for role in ("readonly", "staff"):
        client, _ = signed_in(role)
        page = client.get("/app/settings/locations/")
        assert page.status_code == 200 and location.name in page.content.decode()
        assert write_forms(page.content.decode()) == []
        assert "draggable" not in page.content.decode()
        move = client.post(f"/app/settings/locations/{location.pk}/move/", {"direction": "up"})
        assert move.status_code == 403
        assert client.get("/app/settings/locations/new/").status_code == 403
        assert client.post("/app/settings/locations/new/", location_form("X")).status_code == 403
    assert not Location.objects.filter(name="X").exists()


def test_the_locations_page_takes_the_same_queries_for_any_number_of_locations(
    owner_client, location, django_assert_num_queries
):
    # session, user, the locations
    with django_assert_num_queries(3):
        owner_client.get("/app/settings/locations/")
    for n in range(10):
        LocationFactory(name=f"Depot {n}")
    with django_assert_num_queries(3):
        page = owner_client.get("/app/settings/locations/")
    assert "Depot 9" in page.content.decode()


# --- products and inventory -----------------------------------------------------------------


def test_stock_is_adjusted_and_counted_from_the_product_page(owner_client, stocked, location):
    from colis.inventory.models import InventoryLevel

    product = stocked("ADJ-1", qty=10)
    page = owner_client.get(f"/app/settings/products/{product.pk}/")
    assert page.status_code == 200 and location.name in page.content.decode()
    added = owner_client.post(
        f"/app/settings/products/{product.pk}/",
        {"location_id": location.pk, "reason": "damaged", "mode": "delta", "quantity": "-3",
         "note": "dropped"},
    )  # fmt: skip
    assert added.status_code == 302
    level = InventoryLevel.objects.get(product=product, location=location)
    assert level.on_hand == 7
    owner_client.post(
        f"/app/settings/products/{product.pk}/",
        {"location_id": location.pk, "reason": "cycle_count", "mode": "count", "quantity": "25"},
    )
    level.refresh_from_db()
    assert level.on_hand == 25
    assert Event.objects.filter(kind="inventory_adjusted").count() == 3  # with the fixture's
    # zero and words are refused by the quantity field, nothing changes
    for quantity in ("0", "many"):
        bad = owner_client.post(
            f"/app/settings/products/{product.pk}/",
            {"location_id": location.pk, "reason": "correction", "mode": "delta",
             "quantity": quantity},
        )  # fmt: skip
        assert bad.status_code == 422 and 'id="f-quantity-error"' in bad.content.decode()
    level.refresh_from_db()
    assert level.on_hand == 25
    listed = owner_client.get("/app/settings/products/", {"q": "adj-1"}).content.decode()
    assert "ADJ-1" in listed and ">25<" in listed


def test_readonly_sees_stock_without_write_controls(readonly_client, stocked, location):
    product = stocked("RO-1")
    urls = [f"/app/settings/products/{product.pk}/", "/app/settings/products/"]
    urls += ["/app/settings/inventory/receipts/", "/app/settings/inventory/transfers/"]
    for url in urls:
        page = readonly_client.get(url)
        assert page.status_code == 200 and write_forms(page.content.decode()) == [], url
    refused = readonly_client.post(
        f"/app/settings/products/{product.pk}/",
        {"location_id": location.pk, "reason": "correction", "mode": "delta", "quantity": "5"},
    )
    assert refused.status_code == 403
    assert product.levels.get().on_hand == 50


def test_a_delivery_is_expected_then_received_and_stock_transferred(
    owner_client, stocked, location
):
    from colis.inventory.models import InboundReceipt, InventoryLevel, Transfer

    product = stocked("DLV-1", qty=5)
    annex = LocationFactory(name="Annex")
    bad = owner_client.post(
        "/app/settings/inventory/receipts/",
        {"location_id": location.pk, "supplier": "Mill", "lines": "DLV-1 10\nNOPE 2"},
    )
    assert bad.status_code == 422 and "unknown SKU NOPE" in bad.content.decode()
    assert not InboundReceipt.objects.exists()
    owner_client.post(
        "/app/settings/inventory/receipts/",
        {"location_id": location.pk, "supplier": "Mill", "lines": "dlv-1, 10"},
    )
    receipt = InboundReceipt.objects.get()
    page = owner_client.get("/app/settings/inventory/receipts/").content.decode()
    assert "Mill" in page and f'name="qty-{product.pk}"' in page
    owner_client.post(
        f"/app/settings/inventory/receipts/{receipt.pk}/receive/", {f"qty-{product.pk}": "10"}
    )
    receipt.refresh_from_db()
    assert receipt.status == "received"
    assert InventoryLevel.objects.get(product=product, location=location).on_hand == 15

    sent = owner_client.post(
        "/app/settings/inventory/transfers/",
        {"origin_id": location.pk, "destination_id": annex.pk, "lines": "DLV-1 4"},
    )
    assert sent.status_code == 302
    transfer = Transfer.objects.get()
    assert InventoryLevel.objects.get(product=product, location=location).on_hand == 11
    owner_client.post(f"/app/settings/inventory/transfers/{transfer.pk}/receive/")
    assert InventoryLevel.objects.get(product=product, location=annex).on_hand == 4
    too_many = owner_client.post(
        "/app/settings/inventory/transfers/",
        {"origin_id": location.pk, "destination_id": annex.pk, "lines": "DLV-1 400"},
    )
    assert too_many.status_code in (409, 422)
    assert Transfer.objects.count() == 1


def test_the_products_page_takes_the_same_queries_for_any_number_of_products(
    owner_client, stocked, location, django_assert_num_queries
):
    stocked("Q-0")
    # session, user, locations (the filter), the page of products, their summed levels
    with django_assert_num_queries(5):
        owner_client.get("/app/settings/products/")
    for n in range(1, 30):
        stocked(f"Q-{n}", at=LocationFactory())
    with django_assert_num_queries(5):
        page = owner_client.get("/app/settings/products/")
    assert "Q-29" in page.content.decode()
    with django_assert_num_queries(5):
        owner_client.get("/app/settings/products/", {"location": location.pk, "q": "Q-1"})
    product = stocked("Q-DETAIL")
    # session, user, the product, locations, its levels
    with django_assert_num_queries(5):
        owner_client.get(f"/app/settings/products/{product.pk}/")


# --- statuses and emails --------------------------------------------------------------------


def test_a_renamed_status_shows_in_the_orders_api(
    owner_client, api, shop, django_capture_on_commit_callbacks
):
    from tests.factories import order_body

    created = api.post("/api/v1/orders", order_body([("BAR-A", 1)]))
    assert created.status_code == 201
    status_id = created.json()["status_id"]
    with django_capture_on_commit_callbacks(execute=True):
        renamed = owner_client.post(f"/app/settings/statuses/{status_id}/", {"label": "To pack"})
    assert renamed.status_code == 302
    assert api.get(f"/api/v1/orders/{created.json()['id']}").json()["status_label"] == "To pack"
    assert 'value="To pack"' in owner_client.get("/app/settings/statuses/").content.decode()
    empty = owner_client.post(f"/app/settings/statuses/{status_id}/", {"label": "  "})
    assert empty.status_code == 422
    assert f'id="f-label-{status_id}-error"' in empty.content.decode()
    assert api.get(f"/api/v1/orders/{created.json()['id']}").json()["status_label"] == "To pack"


def test_readonly_cannot_rename_a_status(readonly_client):
    page = readonly_client.get("/app/settings/statuses/")
    assert page.status_code == 200 and write_forms(page.content.decode()) == []
    assert readonly_client.post("/app/settings/statuses/2/", {"label": "X"}).status_code == 403


def test_an_email_is_switched_off_edited_previewed_and_reset(owner_client):
    from colis.notifications.templates import template_get

    url = "/app/settings/emails/shipping_confirmation/"
    listed = owner_client.get("/app/settings/emails/").content.decode()
    assert "Shipping confirmation" in listed
    owner_client.post(url + "switch/", {})
    assert template_get(name="shipping_confirmation").enabled is False
    owner_client.post(url + "switch/", {"enabled": "on"})
    assert template_get(name="shipping_confirmation").enabled is True

    page = owner_client.get(url + "?locale=fr")
    assert page.status_code == 200 and "<iframe" in page.content.decode()
    fr = template_get(name="shipping_confirmation").locales["fr"]
    preview = owner_client.post(
        url + "preview/",
        {"locale": "fr", "subject": "Colis {{ order.number }} parti", "text": fr["text"],
         "html": fr["html"]},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert preview.status_code == 200 and "Colis 1042 parti" in preview.content.decode()
    broken = owner_client.post(
        url + "preview/", {"locale": "fr", "subject": "{% if %}", "text": "", "html": ""}
    )
    assert broken.status_code == 200 and 'class="error"' in broken.content.decode()

    saved = owner_client.post(
        url, {"locale": "fr", "subject": "Colis {{ order.number }} parti", "text": fr["text"],
              "html": fr["html"]},
    )  # fmt: skip
    assert saved.status_code == 302
    view = template_get(name="shipping_confirmation")
    assert view.locales["fr"]["customized"] and view.locales["fr"]["subject"].startswith("Colis")
    assert not view.locales["en"]["customized"]
    bad = owner_client.post(url, {"locale": "fr", "subject": "{% if %}", "text": "x", "html": ""})
    assert bad.status_code == 422 and 'id="f-subject-error"' in bad.content.decode()
    assert template_get(name="shipping_confirmation").locales["fr"]["subject"].startswith("Colis")

    owner_client.post(url + "reset/", {"locale": "fr"})
    assert not template_get(name="shipping_confirmation").locales["fr"]["customized"]


def test_readonly_reads_emails_but_cannot_change_or_preview_them(readonly_client):
    url = "/app/settings/emails/shipping_confirmation/"
    for page_url in ("/app/settings/emails/", url):
        page = readonly_client.get(page_url)
        assert page.status_code == 200 and write_forms(page.content.decode()) == []
        assert "hx-post" not in page.content.decode()
    assert readonly_client.post(url + "switch/", {}).status_code == 403
    assert readonly_client.post(url + "preview/", {"subject": "x"}).status_code == 403
    assert readonly_client.post(url + "reset/", {}).status_code == 403
    assert readonly_client.post(url, {"locale": "en", "subject": "x"}).status_code == 403


# --- outbox ---------------------------------------------------------------------------------


def test_a_failed_delivery_is_queued_again_by_a_manager_only(db):
    from django.utils import timezone

    from colis.core.models import OutboxMessage

    failed = OutboxMessage.objects.create(
        kind="email", idempotency_key="k1", status="failed", attempts=12,
        last_error="SMTP refused", next_attempt_at=timezone.now(), created_at=timezone.now(),
    )  # fmt: skip
    staff, _ = signed_in("staff")
    assert staff.get("/app/settings/outbox/").status_code == 403
    assert staff.post(f"/app/settings/outbox/{failed.pk}/retry/").status_code == 403
    assert 'href="/app/settings/outbox/"' not in staff.get("/app/settings/").content.decode()
    manager, _ = signed_in("manager")
    listed = manager.get("/app/settings/outbox/").content.decode()
    assert "SMTP refused" in listed
    assert manager.post(f"/app/settings/outbox/{failed.pk}/retry/").status_code == 302
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.attempts == 0
    again = manager.post(f"/app/settings/outbox/{failed.pk}/retry/")
    assert again.status_code == 409


def test_the_settings_speak_french(db, location):
    client, user = signed_in("owner")
    user.language = "fr"
    user.save()
    html = client.get("/app/settings/locations/").content.decode()
    assert "Ajouter un emplacement" in html and "Placer en tête" in html
    tracking = client.get("/app/tracking-import/").content.decode()
    assert "Vérifier le fichier" in tracking


# --- users and tokens (owners only) ---------------------------------------------------------


def test_staff_and_managers_cannot_reach_the_owner_only_users_screen(db):
    for role in ("staff", "manager", "readonly"):
        client, _ = signed_in(role)
        assert client.get("/app/settings/users/").status_code == 403
        new = {"email": "x@example.com", "role": "owner"}
        assert client.post("/app/settings/users/", new).status_code == 403
        assert client.post("/app/settings/tokens/", {}).status_code == 403
        assert 'href="/app/settings/users/"' not in client.get("/app/settings/").content.decode()
    assert not User.objects.filter(email="x@example.com").exists()


def test_an_owner_adds_a_user_changes_its_role_and_issues_a_token(db):
    from colis.accounts.models import ApiToken

    client, owner = signed_in("owner")
    bad = client.post("/app/settings/users/", {"email": "nope", "role": "staff"})
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.content.decode()
    added = client.post(
        "/app/settings/users/", {"email": "Packer@Example.com", "name": "Pat", "role": "staff"}
    )
    assert added.status_code == 302
    packer = User.objects.get(email="packer@example.com")
    assert packer.role == "staff" and not packer.has_usable_password()
    client.post(f"/app/settings/users/{packer.pk}/", {"role": "manager"})
    packer.refresh_from_db()
    assert packer.role == "manager"
    last = client.post(f"/app/settings/users/{owner.pk}/", {"role": "staff"})
    assert last.status_code == 409 and "at least one active owner" in last.content.decode()
    client.post(f"/app/settings/users/{packer.pk}/", {"is_active": "off"})
    packer.refresh_from_db()
    assert not packer.is_active

    issued = client.post("/app/settings/tokens/", {"user_id": owner.pk, "token_name": "scanner"})
    assert issued.status_code == 200 and issued["Cache-Control"] == "no-store"
    raw = re.search(r'id="issued-token"[^>]*value="(colis_[^"]+)"', issued.content.decode())
    token = ApiToken.objects.get(name="scanner")
    assert raw and raw.group(1).startswith(token.prefix)
    assert raw.group(1) not in client.get("/app/settings/users/").content.decode()
    client.post(f"/app/settings/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- webhooks -------------------------------------------------------------------------------


def test_a_webhook_is_added_with_its_secret_shown_once_then_switched_off(owner_client):
    from colis.webhooks.models import WebhookSubscription

    bad = owner_client.post(
        "/app/settings/webhooks/", {"url": "ftp://nope", "events": ["order.created"]}
    )
    assert bad.status_code == 422 and 'id="f-url-error"' in bad.content.decode()
    assert not WebhookSubscription.objects.exists()
    added = owner_client.post(
        "/app/settings/webhooks/",
        {"url": "https://hooks.example.com/colis", "events": ["order.created", "shipment.created"],
         "allow_private": "on"},
    )  # fmt: skip
    assert added.status_code == 200 and added["Cache-Control"] == "no-store"
    sub = WebhookSubscription.objects.get()
    assert sub.secret in added.content.decode() and sub.events == ["order.created",
                                                                   "shipment.created"]  # fmt: skip
    page = owner_client.get(f"/app/settings/webhooks/{sub.pk}/").content.decode()
    assert sub.secret not in page
    owner_client.post(
        f"/app/settings/webhooks/{sub.pk}/",
        {"url": sub.url, "events": ["order.created"], "allow_private": "on"},
    )
    sub.refresh_from_db()
    assert not sub.active and sub.events == ["order.created"]


def test_readonly_sees_webhooks_without_write_controls(readonly_client):
    from colis.webhooks.models import WebhookSubscription

    sub = WebhookSubscription.objects.create(url="https://h.example.com/", events=["order.created"],
                                             secret="s3cret-value")  # fmt: skip
    for url in ("/app/settings/webhooks/", f"/app/settings/webhooks/{sub.pk}/"):
        page = readonly_client.get(url)
        assert page.status_code == 200 and write_forms(page.content.decode()) == []
        assert "s3cret-value" not in page.content.decode()
    assert readonly_client.post(f"/app/settings/webhooks/{sub.pk}/", {}).status_code == 403


# --- carriers and packages ------------------------------------------------------------------


def test_a_carrier_gets_its_channel_codes_and_a_bad_link_is_refused(owner_client):
    from colis.shipping.models import Carrier

    form = {"code": "coursier", "name": "Coursier Express", "active": "on",
            "tracking_url_template": "https://track.example.com/?n={number}",
            "channel_shopify": "Coursier", "channel_amazon": "", "channel_ebay": "",
            "channel_bigcommerce": "coursier"}  # fmt: skip
    bad = owner_client.post("/app/settings/carriers/new/", {**form, "tracking_url_template": "x"})
    assert bad.status_code == 422 and 'id="f-tracking_url_template-error"' in bad.content.decode()
    assert not Carrier.objects.filter(code="coursier").exists()
    assert owner_client.post("/app/settings/carriers/new/", form).status_code == 302
    carrier = Carrier.objects.get(code="coursier")
    assert carrier.channel_codes == {"shopify": "Coursier", "bigcommerce": "coursier"}
    owner_client.post(
        "/app/settings/carriers/coursier/", {**form, "channel_ebay": "OTHER", "active": "on"}
    )
    carrier.refresh_from_db()
    assert carrier.channel_codes["ebay"] == "OTHER"
    listed = owner_client.get("/app/settings/carriers/").content.decode()
    assert "Coursier Express" in listed and "OTHER" in listed


def test_a_package_preset_is_added_and_made_default(owner_client, readonly_client):
    from colis.shipping.models import PackagePreset

    form = {"name": "Small box", "length_mm": "200", "width_mm": "150", "height_mm": "100",
            "weight_grams": "120", "active": "on"}  # fmt: skip
    bad = owner_client.post("/app/settings/packages/", {**form, "width_mm": "wide"})
    assert bad.status_code == 422 and 'id="f-width_mm-error"' in bad.content.decode()
    assert owner_client.post("/app/settings/packages/", form).status_code == 302
    preset = PackagePreset.objects.get(name="Small box")
    owner_client.post(f"/app/settings/packages/{preset.pk}/", {**form, "is_default": "on"})
    preset.refresh_from_db()
    assert preset.is_default and preset.width_mm == 150
    for url in ("/app/settings/packages/", "/app/settings/carriers/"):
        page = readonly_client.get(url)
        assert page.status_code == 200 and write_forms(page.content.decode()) == []
    assert readonly_client.post("/app/settings/packages/", form).status_code == 403


# --- fulfillment services -------------------------------------------------------------------


def test_a_dropship_supplier_is_added_with_its_location_and_gets_a_token(owner_client, location):
    from colis.partners.models import FulfillmentService, ServiceToken

    form = {"name": "Mill & Co", "kind": "dropship", "notify_method": "email",
            "email": "orders@mill.example.com", "on_reject": "reroute",
            "address_line1": "3 rue des Tisserands", "address_city": "Roubaix",
            "address_postal_code": "59100", "address_country": "FR"}  # fmt: skip
    bad = owner_client.post("/app/settings/partners/", {**form, "email": ""})
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.content.decode()
    assert not FulfillmentService.objects.exists()
    added = owner_client.post("/app/settings/partners/", form)
    assert added.status_code == 302
    service = FulfillmentService.objects.get()
    assert service.kind == "dropship" and not service.manages_own_stock
    assert service.location.name == "Mill & Co" and service.location.allow_negative_stock
    issued = owner_client.post(f"/app/settings/partners/{service.pk}/token/")
    assert issued.status_code == 200 and issued["Cache-Control"] == "no-store"
    assert ServiceToken.objects.filter(service=service).count() == 1
    assert "colis_svc_" in issued.content.decode()
    portal = owner_client.post(f"/app/settings/partners/{service.pk}/portal/")
    assert "/portal/" in portal.content.decode()
    owner_client.post(f"/app/settings/partners/{service.pk}/", {**form, "active": ""})
    service.refresh_from_db()
    assert not service.active


def test_readonly_sees_services_without_write_controls(readonly_client, location):
    page = readonly_client.get("/app/settings/partners/")
    assert page.status_code == 200 and write_forms(page.content.decode()) == []
    assert readonly_client.post("/app/settings/partners/", {"name": "X"}).status_code == 403


# --- channels -------------------------------------------------------------------------------


def test_a_channel_is_connected_with_write_only_credentials_and_its_skus_mapped(
    owner_client, stocked
):
    from colis.channels.models import Channel, SkuMapping

    stocked("TEE-1")
    form = {"kind": "shopify", "name": "Boutique", "cred_access_token": "shpat_secret_value",
            "cred_webhook_secret": "whsec", "set_api_base_url": "https://shop.example.com",
            "set_api_version": "2025-01", "active": "on", "import_enabled": "on",
            "fulfillment_sync": "on", "stock_policy": "hold",
            "import_interval_seconds": "300"}  # fmt: skip
    missing = owner_client.post("/app/settings/channels/new/", {**form, "cred_access_token": ""})
    assert missing.status_code == 422 and "credentials_access_token" in missing.content.decode()
    assert not Channel.objects.exists()
    added = owner_client.post("/app/settings/channels/new/", form)
    assert added.status_code == 302
    channel = Channel.objects.get()
    assert channel.kind == "shopify" and channel.settings["api_base_url"] == form[
        "set_api_base_url"]  # fmt: skip
    page = owner_client.get(f"/app/settings/channels/{channel.pk}/").content.decode()
    assert "shpat_secret_value" not in page and "Boutique" in page
    # saving without typing the credentials keeps them
    kept = owner_client.post(
        f"/app/settings/channels/{channel.pk}/",
        {**form, "cred_access_token": "", "cred_webhook_secret": "", "require_tracking": "on"},
    )
    assert kept.status_code == 302
    channel.refresh_from_db()
    assert channel.require_tracking and channel.credentials_sealed

    skus = f"/app/settings/channels/{channel.pk}/skus/"
    bad = owner_client.post(skus, {"channel_sku": "SHOP-TEE", "sku": "NOPE"})
    assert bad.status_code == 422 and 'id="f-sku-error"' in bad.content.decode()
    owner_client.post(skus, {"channel_sku": "SHOP-TEE", "sku": "TEE-1"})
    assert SkuMapping.objects.get().sku == "TEE-1"
    upload = SimpleUploadedFile("map.csv", b"channel_sku,sku\nA-1,TEE-1\nA-2,NOPE\n", "text/csv")
    refused_file = owner_client.post(skus, {"action": "upload", "file": upload})
    assert refused_file.status_code == 422 and SkuMapping.objects.count() == 1
    good = SimpleUploadedFile("map.csv", b"channel_sku,sku\nA-1,TEE-1\n", "text/csv")
    assert owner_client.post(skus, {"action": "upload", "file": good}).status_code == 302
    assert SkuMapping.objects.count() == 2


def test_the_queue_shows_failing_checks_and_an_order_can_be_forced(db, stocked):
    from colis.channels.importing import channel_orders_ingest
    from colis.channels.models import ChannelOrder
    from tests.channels.helpers import amazon_channel, vendor_order

    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order("A-9", lines=[("GHOST", 1)])])
    record = ChannelOrder.objects.get()
    assert record.state == "pending"
    readonly, _ = signed_in("readonly")
    page = readonly.get(f"/app/settings/channels/{channel.pk}/pending/").content.decode()
    assert "A-9" in page and "GHOST" in page and 'class="badge bad"' in page
    assert write_forms(page) == []
    url = f"/app/settings/channels/{channel.pk}/pending/"
    assert readonly.post(url, {"record_id": record.pk}).status_code == 403
    staff, _ = signed_in("staff")
    checked_again = staff.post(url, {"record_id": record.pk})
    assert checked_again.status_code == 302
    assert staff.post(url, {"record_id": 999999}).status_code == 404
    records = staff.get(f"/app/settings/channels/{channel.pk}/records/")
    assert records.status_code == 200
