"""The channels API: connecting a channel (credentials sealed, never shown), changing it, the SKU
mapping one by one and by CSV (all rows or none), the sync records, the pending queue, roles,
and the vendors' webhook door."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from colis.channels.importing import channel_orders_ingest, sync_record_write
from colis.channels.models import Channel, ChannelOrder, SkuMapping, SyncRecord
from colis.channels.secrets import seal, unseal
from colis.core.models import Event
from colis.shipping.models import Carrier
from tests.channels.helpers import amazon_channel, vendor_order
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CHANNELS = "/api/v1/channels"
SECRETS = {
    "client_id": "amzn1.application-oa2-client.c0ffee1d",
    "client_secret": "amzn1.oa2-cs.v1.s3cr3t-never-shown",
    "refresh_token": "Atzr|r3fresh-t0ken-never-shown",
}
AMAZON_SETTINGS = {
    "api_base_url": "https://sellingpartnerapi-eu.amazon.com",
    "marketplace_id": "A13V1IB3VIYZZH",
}


def _amazon_in(**changes):
    body = {
        "kind": "amazon",
        "name": "Amazon FR",
        "credentials": dict(SECRETS),
        "settings": dict(AMAZON_SETTINGS),
    }
    body.update(changes)
    return body


def _assert_no_secret(response):
    text = response.content.decode()
    for value in SECRETS.values():
        assert value not in text


def _when(value):
    return datetime.fromisoformat(value)


def _channel_events(channel_id, kind):
    return Event.objects.filter(subject_type="channel", subject_id=channel_id, kind=kind)


def _upload(api, channel_id, data, content_type="text/csv"):
    return api.client.post(
        f"{CHANNELS}/{channel_id}/sku-mappings/upload",
        data=data,
        content_type=content_type,
        headers=api._headers(None),
    )


def _mappings(channel):
    return dict(SkuMapping.objects.filter(channel=channel).values_list("channel_sku", "sku"))


# --- connecting -----------------------------------------------------------------------------


def test_connecting_amazon_seals_the_credentials_and_answers_without_them(api):
    Carrier.objects.create(code="test-unmapped-post", name="Unmapped Post")
    Carrier.objects.create(
        code="test-mapped-post", name="Mapped Post", channel_codes={"amazon": "Mapped"}
    )
    before = timezone.now()

    response = api.post(CHANNELS, _amazon_in())

    assert response.status_code == 201, response.content
    _assert_no_secret(response)
    body = response.json()
    assert body["kind"] == "amazon" and body["name"] == "Amazon FR"
    assert body["credentials"] == {"set": True}
    assert body["settings"] == AMAZON_SETTINGS
    assert body["import_enabled"] is True
    assert body["stock_policy"] == "hold"
    assert body["fulfillment_sync"] is True
    assert body["rate_limits"] == "published"
    assert body["import_start"] == body["connected_at"]
    assert before <= _when(body["import_start"]) <= timezone.now()
    assert isinstance(body["carrier_codes_missing"], list)
    assert "test-unmapped-post" in body["carrier_codes_missing"]
    assert "test-mapped-post" not in body["carrier_codes_missing"]
    assert body["webhook_path"] == f"{CHANNELS}/{body['id']}/webhooks"

    channel = Channel.objects.get(pk=body["id"])
    assert channel.credentials_sealed
    assert channel.credentials_sealed != json.dumps(SECRETS)
    for value in SECRETS.values():
        assert value not in channel.credentials_sealed
    assert unseal(channel.credentials_sealed) == SECRETS
    assert channel.import_start == channel.created_at
    event = _channel_events(channel.pk, "channel_connected").get()
    assert event.actor_kind == "user"
    assert event.data == {"kind": "amazon", "name": "Amazon FR"}


def test_connecting_with_options_keeps_them(api):
    response = api.post(
        CHANNELS,
        _amazon_in(
            import_start="2026-01-01T00:00:00Z",
            stock_policy="wait",
            import_enabled=False,
            rate_limits="off",
            import_interval_seconds=600,
        ),
    )

    assert response.status_code == 201, response.content
    channel = Channel.objects.get(pk=response.json()["id"])
    assert channel.import_start == datetime(2026, 1, 1, tzinfo=UTC)
    assert (channel.stock_policy, channel.import_enabled, channel.rate_limits) == (
        "wait",
        False,
        "off",
    )
    assert channel.import_interval_seconds == 600


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"credentials": {k: v for k, v in SECRETS.items() if k != "client_secret"}},
            "credentials.client_secret",
        ),
        ({"credentials": {**SECRETS, "client_secret": "  "}}, "credentials.client_secret"),
        ({"credentials": {**SECRETS, "password": "x"}}, "credentials.password"),
        (
            {"settings": {"api_base_url": AMAZON_SETTINGS["api_base_url"]}},
            "settings.marketplace_id",
        ),
        ({"settings": {**AMAZON_SETTINGS, "region": "eu"}}, "settings.region"),
        ({"settings": {**AMAZON_SETTINGS, "api_base_url": "ftp://x"}}, "settings.api_base_url"),
        ({"settings": {**AMAZON_SETTINGS, "token_url": "localhost/token"}}, "settings.token_url"),
        ({"settings": {"marketplace_id": "A13V1IB3VIYZZH"}}, "settings.api_base_url"),
        ({"name": "api"}, "name"),
        ({"name": " CSV "}, "name"),
        ({"name": "   "}, "name"),
    ],
)
def test_an_invalid_channel_is_refused_with_the_field_named_and_nothing_written(
    api, changes, field
):
    events = Event.objects.count()

    response = api.post(CHANNELS, _amazon_in(**changes))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_channel"
    assert field in body["fields"], body
    _assert_no_secret(response)
    assert Channel.objects.count() == 0
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    "changes",
    [
        {"stock_policy": "maybe"},
        {"rate_limits": "sometimes"},
        {"import_interval_seconds": 5},
        {"kind": "etsy"},
        {"name": "x" * 65},
    ],
)
def test_an_option_out_of_range_is_refused(api, changes):
    response = api.post(CHANNELS, _amazon_in(**changes))

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == set(changes)
    assert Channel.objects.count() == 0


def test_a_second_channel_with_a_taken_name_is_a_conflict(api):
    assert api.post(CHANNELS, _amazon_in()).status_code == 201
    events = Event.objects.count()

    response = api.post(CHANNELS, _amazon_in())

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "channel_name_taken"
    assert Channel.objects.count() == 1
    assert Event.objects.count() == events


def test_an_ebay_channel_takes_its_settings_defaults(api):
    pytest.importorskip("colis.channels.connectors.ebay.connector")

    response = api.post(CHANNELS, _amazon_in(kind="ebay", name="eBay DE", settings={}))

    assert response.status_code == 201, response.content
    _assert_no_secret(response)
    assert Channel.objects.get(pk=response.json()["id"]).kind == "ebay"


def test_a_bigcommerce_channel_needs_its_store_hash(api):
    pytest.importorskip("colis.channels.connectors.bigcommerce.connector")

    response = api.post(
        CHANNELS,
        {"kind": "bigcommerce", "name": "Shop", "credentials": {"access_token": "t"}},
    )

    assert response.status_code == 422, response.content
    assert "settings.store_hash" in response.json()["fields"]
    assert Channel.objects.count() == 0


# --- reading and changing -------------------------------------------------------------------


def test_channels_are_listed_and_read_without_their_credentials(api):
    first = api.post(CHANNELS, _amazon_in()).json()
    second = api.post(CHANNELS, _amazon_in(name="Amazon DE")).json()

    listed = api.get(CHANNELS)
    one = api.get(f"{CHANNELS}/{second['id']}")

    assert listed.status_code == 200 and one.status_code == 200
    _assert_no_secret(listed)
    _assert_no_secret(one)
    assert [c["id"] for c in listed.json()["items"]] == [first["id"], second["id"]]
    assert listed.json()["next_cursor"] is None
    assert one.json()["name"] == "Amazon DE"
    assert one.json()["credentials"] == {"set": True}
    assert isinstance(one.json()["carrier_codes_missing"], list)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/999999"),
        ("patch", "/999999"),
        ("get", "/999999/sync-records"),
        ("get", "/999999/sku-mappings"),
        ("get", "/999999/pending-orders"),
    ],
)
def test_an_unknown_channel_is_not_found(api, method, path):
    if method == "patch":
        response = api.patch(CHANNELS + path, {"stock_policy": "wait"})
    else:
        response = api.get(CHANNELS + path)

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "channel_not_found"


def test_patching_settings_changes_only_the_keys_given(api):
    channel = amazon_channel()
    before = dict(channel.settings)

    response = api.patch(f"{CHANNELS}/{channel.pk}", {"settings": {"marketplace_id": "A1PA67"}})

    assert response.status_code == 200, response.content
    assert response.json()["settings"] == {**before, "marketplace_id": "A1PA67"}
    channel.refresh_from_db()
    assert channel.settings == {**before, "marketplace_id": "A1PA67"}
    assert unseal(channel.credentials_sealed) == {
        "client_id": "id",
        "client_secret": "secret",
        "refresh_token": "rt",
    }
    event = _channel_events(channel.pk, "channel_updated").get()
    assert event.data == {"fields": ["marketplace_id"]}


def test_new_credentials_replace_the_old_ones_and_drop_the_cached_token(api):
    channel = amazon_channel()
    Channel.objects.filter(pk=channel.pk).update(
        token_sealed=seal({"access_token": "Atza|cached"}),
        token_expires_at=timezone.now() + timedelta(hours=1),
    )

    response = api.patch(f"{CHANNELS}/{channel.pk}", {"credentials": SECRETS})

    assert response.status_code == 200, response.content
    _assert_no_secret(response)
    assert response.json()["credentials"] == {"set": True}
    channel.refresh_from_db()
    assert unseal(channel.credentials_sealed) == SECRETS
    for value in SECRETS.values():
        assert value not in channel.credentials_sealed
    assert channel.token_sealed == "" and channel.token_expires_at is None
    assert _channel_events(channel.pk, "channel_updated").get().data == {"fields": ["credentials"]}


def test_patching_options_changes_them(api):
    channel = amazon_channel()

    response = api.patch(
        f"{CHANNELS}/{channel.pk}",
        {"stock_policy": "wait", "import_enabled": False, "notify_buyer": True, "name": "AMZ"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stock_policy"], body["import_enabled"], body["notify_buyer"]) == (
        "wait",
        False,
        True,
    )
    channel.refresh_from_db()
    assert channel.stock_policy == "wait" and channel.import_enabled is False
    assert channel.notify_buyer is True and channel.name == "AMZ"
    assert channel.fulfillment_sync is True  # not given: unchanged
    assert _channel_events(channel.pk, "channel_updated").get().data == {
        "fields": ["import_enabled", "name", "notify_buyer", "stock_policy"]
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"settings": {"api_base_url": "ftp://x"}, "stock_policy": "wait"},
            "settings.api_base_url",
        ),
        ({"settings": {"marketplace_id": ""}, "stock_policy": "wait"}, "settings.marketplace_id"),
        (
            {"credentials": {"client_id": "new"}, "stock_policy": "wait"},
            "credentials.client_secret",
        ),
        ({"name": "  ", "stock_policy": "wait"}, "name"),
        ({"stock_policy": "maybe"}, "stock_policy"),
        ({"import_interval_seconds": 30}, "import_interval_seconds"),
    ],
)
def test_a_bad_change_is_refused_and_nothing_changes(api, body, field):
    channel = amazon_channel()
    sealed, settings = channel.credentials_sealed, dict(channel.settings)

    response = api.patch(f"{CHANNELS}/{channel.pk}", body)

    assert response.status_code == 422, response.content
    assert field in response.json()["fields"], response.json()
    channel.refresh_from_db()
    assert channel.settings == settings and channel.credentials_sealed == sealed
    assert channel.stock_policy == "hold" and channel.name == "Amazon FR"
    assert channel.import_interval_seconds == 300
    assert not _channel_events(channel.pk, "channel_updated").exists()


def test_renaming_to_a_taken_name_is_a_conflict(api):
    amazon_channel()
    other = amazon_channel(name="Amazon DE")

    response = api.patch(f"{CHANNELS}/{other.pk}", {"name": "Amazon FR"})

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "channel_name_taken"
    other.refresh_from_db()
    assert other.name == "Amazon DE"
    assert not _channel_events(other.pk, "channel_updated").exists()


def test_renaming_to_a_kept_name_is_refused(api):
    channel = amazon_channel()

    response = api.patch(f"{CHANNELS}/{channel.pk}", {"name": "api"})

    assert response.status_code == 422, response.content
    assert "name" in response.json()["fields"]
    channel.refresh_from_db()
    assert channel.name == "Amazon FR"


# --- roles ----------------------------------------------------------------------------------


def test_staff_cannot_connect_or_change_a_channel(make_api):
    staff = make_api("staff")
    channel = amazon_channel()

    created = staff.post(CHANNELS, _amazon_in(name="Amazon DE"))
    changed = staff.patch(f"{CHANNELS}/{channel.pk}", {"stock_policy": "wait"})
    mapped = staff.post(f"{CHANNELS}/{channel.pk}/sku-mappings", {"channel_sku": "A", "sku": "B"})

    for response in (created, changed, mapped):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "forbidden_role"
    assert list(Channel.objects.values_list("name", flat=True)) == ["Amazon FR"]
    channel.refresh_from_db()
    assert channel.stock_policy == "hold"


def test_readonly_can_read_channels_but_not_write(make_api):
    readonly = make_api("readonly")
    channel = amazon_channel()

    listed = readonly.get(CHANNELS)
    one = readonly.get(f"{CHANNELS}/{channel.pk}")
    records = readonly.get(f"{CHANNELS}/{channel.pk}/sync-records")
    created = readonly.post(CHANNELS, _amazon_in(name="Amazon DE"))

    assert listed.status_code == 200 and one.status_code == 200 and records.status_code == 200
    assert [c["name"] for c in listed.json()["items"]] == ["Amazon FR"]
    assert created.status_code == 403 and created.json()["code"] == "forbidden_role"
    assert Channel.objects.count() == 1


def test_a_manager_can_connect_a_channel(make_api):
    response = make_api("manager").post(CHANNELS, _amazon_in())

    assert response.status_code == 201, response.content
    assert Channel.objects.count() == 1


def test_without_a_token_the_channels_are_closed(anon):
    response = anon.get(CHANNELS)

    assert response.status_code == 401


# --- SKU mappings ---------------------------------------------------------------------------


def test_a_mapping_is_created_and_listed(api):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()

    created = api.post(
        f"{CHANNELS}/{channel.pk}/sku-mappings", {"channel_sku": " B0ASIN0001 ", "sku": "bar-a"}
    )
    listed = api.get(f"{CHANNELS}/{channel.pk}/sku-mappings")

    assert created.status_code == 201, created.content
    mapping = SkuMapping.objects.get()
    assert created.json() == {"id": mapping.pk, "channel_sku": "B0ASIN0001", "sku": "BAR-A"}
    assert (mapping.channel_id, mapping.channel_sku, mapping.sku) == (
        channel.pk,
        "B0ASIN0001",
        "BAR-A",
    )
    assert listed.json() == {"items": [created.json()], "next_cursor": None}
    event = _channel_events(channel.pk, "sku_mapped").get()
    assert event.data == {"channel_sku": "B0ASIN0001", "sku": "BAR-A"}


def test_mapping_the_same_channel_sku_again_replaces_it(api):
    ProductFactory(sku="BAR-A")
    ProductFactory(sku="BAR-B")
    channel = amazon_channel()
    url = f"{CHANNELS}/{channel.pk}/sku-mappings"

    api.post(url, {"channel_sku": "B0ASIN0001", "sku": "BAR-A"})
    api.post(url, {"channel_sku": "B0ASIN0001", "sku": "BAR-B"})

    assert _mappings(channel) == {"B0ASIN0001": "BAR-B"}


def test_mapping_a_case_variant_of_a_channel_sku_replaces_it(api):
    ProductFactory(sku="BAR-A")
    ProductFactory(sku="BAR-B")
    channel = amazon_channel()
    url = f"{CHANNELS}/{channel.pk}/sku-mappings"

    api.post(url, {"channel_sku": "AMZ-1", "sku": "BAR-A"})
    api.post(url, {"channel_sku": "amz-1", "sku": "BAR-B"})

    assert SkuMapping.objects.filter(channel=channel).count() == 1
    assert SkuMapping.objects.get(channel=channel).sku == "BAR-B"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel_sku": "B0ASIN0001", "sku": "NOPE"}, "sku"),
        ({"channel_sku": "B0ASIN0001", "sku": " "}, "sku"),
        ({"channel_sku": "  ", "sku": "BAR-A"}, "channel_sku"),
    ],
)
def test_a_bad_mapping_is_refused(api, body, field):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()

    response = api.post(f"{CHANNELS}/{channel.pk}/sku-mappings", body)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_mapping"
    assert field in response.json()["fields"]
    assert SkuMapping.objects.count() == 0
    assert not _channel_events(channel.pk, "sku_mapped").exists()


def test_a_csv_upload_creates_and_changes_mappings(api):
    ProductFactory(sku="BAR-A")
    ProductFactory(sku="BAR-B")
    channel = amazon_channel()
    SkuMapping.objects.create(channel=channel, channel_sku="AMZ-1", sku="BAR-A")
    SkuMapping.objects.create(channel=channel, channel_sku="AMZ-3", sku="BAR-A")

    response = _upload(api, channel.pk, "channel_sku,sku\nAMZ-1,bar-b\nAMZ-2,BAR-A\namz-3,BAR-A\n")

    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 3, "created": 1, "changed": 1}
    assert _mappings(channel) == {"AMZ-1": "BAR-B", "AMZ-2": "BAR-A", "AMZ-3": "BAR-A"}
    event = _channel_events(channel.pk, "sku_mappings_uploaded").get()
    assert event.data == {"rows": 3, "created": 1, "changed": 1}


def test_a_csv_with_a_bom_semicolons_and_crlf_is_read(api):
    ProductFactory(sku="BAR-A")
    ProductFactory(sku="BAR-B")
    channel = amazon_channel()
    text = "\ufeffSKU;Channel_SKU\r\nBAR-A;AMZ-1\r\nBAR-B;AMZ-2\r\n"

    response = _upload(api, channel.pk, text.encode("utf-8"))

    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 2, "created": 2, "changed": 0}
    assert _mappings(channel) == {"AMZ-1": "BAR-A", "AMZ-2": "BAR-B"}


def test_a_csv_may_come_as_a_multipart_file(api):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()
    upload = SimpleUploadedFile("map.csv", b"channel_sku,sku\nAMZ-1,BAR-A\n", "text/csv")

    response = api.client.post(
        f"{CHANNELS}/{channel.pk}/sku-mappings/upload",
        {"file": upload},
        headers=api._headers(None),
    )

    assert response.status_code == 200, response.content
    assert _mappings(channel) == {"AMZ-1": "BAR-A"}


def test_a_csv_with_bad_rows_is_refused_whole_with_each_row_named(api):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()
    SkuMapping.objects.create(channel=channel, channel_sku="AMZ-0", sku="BAR-A")
    text = "channel_sku,sku\nAMZ-1,BAR-A\nAMZ-2,NOPE\namz-1,BAR-A\n,BAR-A\nAMZ-5,\n"

    response = _upload(api, channel.pk, text)

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_csv"
    assert set(body["fields"]) == {
        "rows[2].sku",
        "rows[3].channel_sku",
        "rows[4].channel_sku",
        "rows[5].sku",
    }
    assert "NOPE" in body["fields"]["rows[2].sku"]
    assert "row 1" in body["fields"]["rows[3].channel_sku"]
    assert _mappings(channel) == {"AMZ-0": "BAR-A"}
    assert not _channel_events(channel.pk, "sku_mappings_uploaded").exists()


@pytest.mark.parametrize(
    "data",
    [
        "sku,quantity\nBAR-A,1\n",
        "channel_sku\nAMZ-1\n",
        "",
    ],
)
def test_a_csv_without_the_header_is_refused(api, data):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()

    response = _upload(api, channel.pk, data)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_csv"
    assert "file" in response.json()["fields"]
    assert SkuMapping.objects.count() == 0


def test_a_csv_that_is_not_utf8_is_refused(api):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()

    response = _upload(api, channel.pk, "channel_sku,sku\nCAFÉ-1,BAR-A\n".encode("latin-1"))

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_csv"
    assert "file" in response.json()["fields"]
    assert SkuMapping.objects.count() == 0


def test_a_csv_row_with_more_cells_than_the_header_is_refused_not_a_server_error(api):
    ProductFactory(sku="BAR-A")
    channel = amazon_channel()
    api.client.raise_request_exception = False

    response = _upload(api, channel.pk, "channel_sku,sku\nAMZ-1,BAR-A,extra\n")

    assert response.status_code in (200, 422), response.content
    assert response.status_code != 500


def test_an_upload_to_an_unknown_channel_is_not_found(api):
    response = _upload(api, 999999, "channel_sku,sku\nAMZ-1,BAR-A\n")

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "channel_not_found"


def test_a_mapping_is_deleted_and_an_unknown_one_is_not_found(api):
    channel = amazon_channel()
    other = amazon_channel(name="Amazon DE")
    mapping = SkuMapping.objects.create(channel=channel, channel_sku="AMZ-1", sku="BAR-A")
    kept = SkuMapping.objects.create(channel=channel, channel_sku="AMZ-2", sku="BAR-A")

    deleted = api.delete(f"{CHANNELS}/{channel.pk}/sku-mappings/{mapping.pk}")
    again = api.delete(f"{CHANNELS}/{channel.pk}/sku-mappings/{mapping.pk}")
    elsewhere = api.delete(f"{CHANNELS}/{other.pk}/sku-mappings/{kept.pk}")

    assert deleted.status_code == 204, deleted.content
    for response in (again, elsewhere):
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "mapping_not_found"
    assert list(SkuMapping.objects.values_list("pk", flat=True)) == [kept.pk]


# --- sync records ---------------------------------------------------------------------------


def _records(channel):
    other = amazon_channel(name="Amazon DE")
    sync_record_write(channel=other, direction="import", operation="searchOrders",
                      state="succeeded")  # fmt: skip
    return [
        sync_record_write(channel=channel, direction="import", operation="searchOrders",
                          state="succeeded", response={"orders": 3}),
        sync_record_write(channel=channel, direction="import", operation="searchOrders",
                          state="failed", message="503 from Amazon"),
        sync_record_write(channel=channel, direction="push", operation="confirmShipment",
                          state="failed", order_id=41),
        sync_record_write(channel=channel, direction="webhook", operation="webhook",
                          state="succeeded"),
    ]  # fmt: skip


def test_sync_records_are_listed_newest_first_and_filtered(api):
    channel = amazon_channel()
    written = _records(channel)
    url = f"{CHANNELS}/{channel.pk}/sync-records"

    everything = api.get(url).json()
    imports = api.get(url, direction="import").json()
    failed = api.get(url, state="failed").json()
    failed_pushes = api.get(url, direction="push", state="failed").json()
    of_order = api.get(url, order_id=41).json()

    assert [r["id"] for r in everything["items"]] == [r.pk for r in reversed(written)]
    assert everything["next_cursor"] is None
    assert [r["id"] for r in imports["items"]] == [written[1].pk, written[0].pk]
    assert [r["id"] for r in failed["items"]] == [written[2].pk, written[1].pk]
    assert [r["id"] for r in failed_pushes["items"]] == [written[2].pk]
    assert [r["id"] for r in of_order["items"]] == [written[2].pk]
    first = everything["items"][-1]
    assert (first["direction"], first["operation"], first["state"]) == (
        "import",
        "searchOrders",
        "succeeded",
    )
    assert first["response"] == {"orders": 3} and first["attempts"] == 1
    assert everything["items"][-2]["message"] == "503 from Amazon"


def test_sync_records_page_with_a_cursor(api):
    channel = amazon_channel()
    written = _records(channel)
    url = f"{CHANNELS}/{channel.pk}/sync-records"

    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = api.get(url, **params).json()
        assert len(body["items"]) <= 1
        seen += [r["id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [r.pk for r in reversed(written)]


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": 0}, "invalid_limit"), ({"limit": 251}, "invalid_limit"),
     ({"cursor": "not-a-cursor"}, "invalid_cursor")],
)  # fmt: skip
def test_bad_paging_is_refused(api, params, code):
    channel = amazon_channel()

    response = api.get(f"{CHANNELS}/{channel.pk}/sync-records", **params)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == code


def test_only_a_push_can_be_retried(api):
    channel = amazon_channel()
    record = sync_record_write(channel=channel, direction="import", operation="searchOrders",
                               state="failed")  # fmt: skip

    response = api.post(f"{CHANNELS}/{channel.pk}/sync-records/{record.pk}/retry")
    unknown = api.post(f"{CHANNELS}/{channel.pk}/sync-records/999999/retry")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "not_a_push"
    record.refresh_from_db()
    assert record.state == "failed"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "sync_record_not_found"


# --- pending orders -------------------------------------------------------------------------


def test_ignored_orders_are_listed_and_read(api, stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(
        channel=channel,
        orders=[
            vendor_order("OLD-1", placed_at=datetime(2025, 12, 1, tzinfo=UTC)),
            vendor_order("OLD-2", placed_at=datetime(2025, 12, 31, tzinfo=UTC)),
        ],
    )
    url = f"{CHANNELS}/{channel.pk}/pending-orders"

    ignored = api.get(url, state="ignored")
    pending = api.get(url)
    record = ChannelOrder.objects.get(external_id="OLD-1")
    one = api.get(f"{url}/{record.pk}")

    assert ignored.status_code == 200, ignored.content
    assert [i["external_id"] for i in ignored.json()["items"]] == ["OLD-2", "OLD-1"]
    assert pending.json()["items"] == []
    body = one.json()
    assert (body["id"], body["external_id"], body["state"]) == (record.pk, "OLD-1", "ignored")
    assert [c["check"] for c in body["failing"]] == ["placed_after_start"]
    assert body["lines"] == [{"sku": "BAR-A", "quantity": 1, "title": "Item BAR-A"}]
    assert body["order_id"] is None


def test_a_pending_order_of_another_channel_or_unknown_is_not_found(api):
    channel = amazon_channel()
    other = amazon_channel(name="Amazon DE")
    channel_orders_ingest(
        channel=channel, orders=[vendor_order("OLD", placed_at=datetime(2025, 1, 1, tzinfo=UTC))]
    )
    record = ChannelOrder.objects.get()

    responses = [
        api.get(f"{CHANNELS}/{other.pk}/pending-orders/{record.pk}"),
        api.post(f"{CHANNELS}/{channel.pk}/pending-orders/999999/retry", {}),
        api.post(f"{CHANNELS}/{other.pk}/pending-orders/{record.pk}/retry", {}),
    ]

    for response in responses:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "pending_order_not_found"


def test_retrying_an_imported_order_is_a_conflict(api, stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(channel=channel, orders=[vendor_order("A-1")])
    record = ChannelOrder.objects.get()
    assert record.state == "imported"

    response = api.post(f"{CHANNELS}/{channel.pk}/pending-orders/{record.pk}/retry", {})

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "already_imported"
    record.refresh_from_db()
    assert record.state == "imported" and record.forced is False


def test_retrying_an_ignored_order_with_the_vendor_unreachable_checks_the_copy(api, stocked):
    stocked("BAR-A")
    channel = amazon_channel()
    channel_orders_ingest(
        channel=channel, orders=[vendor_order("OLD", placed_at=datetime(2025, 1, 1, tzinfo=UTC))]
    )
    record = ChannelOrder.objects.get()

    response = api.post(f"{CHANNELS}/{channel.pk}/pending-orders/{record.pk}/retry", {})

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "ignored"
    assert ChannelOrder.objects.get().state == "ignored"


# --- webhooks -------------------------------------------------------------------------------


def test_an_amazon_webhook_is_refused_and_recorded(anon):
    channel = amazon_channel()

    response = anon.post(f"{CHANNELS}/{channel.pk}/webhooks", {"orders": ["111-0000001"]})

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "webhook_refused"
    record = SyncRecord.objects.get(channel=channel)
    assert (record.direction, record.state) == ("webhook", "failed")
    assert record.message.startswith("Refused")


def test_a_webhook_for_an_unknown_channel_is_not_found(anon):
    response = anon.post(f"{CHANNELS}/999999/webhooks", {})

    assert response.status_code == 404, response.content
    assert response.json()["code"] == "channel_not_found"
    assert SyncRecord.objects.count() == 0
