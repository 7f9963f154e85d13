"""How long a channel keeps buyer data (`retention_days`): Amazon's at most 30 days (its
default), the others keep it unless told; the shop's own rule for orders from no channel."""

from __future__ import annotations

import pytest

from colis.channels.models import Channel
from colis.core.models import Event, Shop

pytestmark = pytest.mark.django_db

CHANNELS = "/api/v1/channels"
AMAZON = {
    "kind": "amazon",
    "name": "Amazon FR",
    "credentials": {"client_id": "id", "client_secret": "s", "refresh_token": "r"},
    "settings": {
        "api_base_url": "https://sellingpartnerapi-eu.amazon.com",
        "marketplace_id": "A13V1IB3VIYZZH",
    },
}
SHOPIFY = {
    "kind": "shopify",
    "name": "Boutique",
    "credentials": {"access_token": "t", "webhook_secret": "w"},
    "settings": {"api_base_url": "https://boutique.myshopify.com"},
}


def test_amazon_keeps_buyer_data_30_days_unless_told_fewer(api):
    created = api.post(CHANNELS, AMAZON)
    assert created.status_code == 201 and created.json()["retention_days"] == 30
    url = f"{CHANNELS}/{created.json()['id']}"
    assert api.patch(url, {"retention_days": 14}).json()["retention_days"] == 14
    event = Event.objects.filter(kind="channel_updated").last()
    assert event is not None and event.data["fields"] == ["retention_days"]
    for refused in (31, None):
        response = api.patch(url, {"retention_days": refused})
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_channel"
        assert set(response.json()["fields"]) == {"retention_days"}
    assert Channel.objects.get().retention_days == 14
    # an unrelated change leaves the rule alone
    assert api.patch(url, {"notify_buyer": True}).json()["retention_days"] == 14


def test_amazon_cannot_be_connected_with_more_than_30_days(api):
    response = api.post(CHANNELS, {**AMAZON, "retention_days": 45})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"retention_days"}
    assert not Channel.objects.exists()


def test_other_channels_keep_buyer_data_until_a_rule_is_set(api):
    created = api.post(CHANNELS, SHOPIFY).json()
    assert created["retention_days"] is None
    url = f"{CHANNELS}/{created['id']}"
    assert api.patch(url, {"retention_days": 365}).json()["retention_days"] == 365
    assert api.patch(url, {"retention_days": None}).json()["retention_days"] is None
    for refused in (0, 5000, "soon"):
        response = api.patch(url, {"retention_days": refused})
        assert response.status_code == 422, response.content
        assert "retention_days" in str(response.json()["fields"])


def test_the_shops_rule_is_set_and_cleared_through_the_api(api):
    assert api.get("/api/v1/shop").json()["retention_days"] is None
    assert api.patch("/api/v1/shop", {"retention_days": 180}).json()["retention_days"] == 180
    assert Shop.objects.get(pk=1).retention_days == 180
    assert api.patch("/api/v1/shop", {"name": "Atelier"}).json()["retention_days"] == 180
    assert api.patch("/api/v1/shop", {"retention_days": None}).json()["retention_days"] is None
    response = api.patch("/api/v1/shop", {"retention_days": 0})
    assert response.status_code == 422 and "retention_days" in str(response.json()["fields"])
