"""Every operation of our own OpenAPI schema, fed generated input: never a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from colis.accounts.services import token_create
from colis.api.main import api
from colis.wsgi import application
from tests.factories import ACTOR, LocationFactory, ProductFactory, UserFactory

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))


@pytest.fixture
def token(db):
    # Called as a plain WSGI app, Django would close the test's connection at each request
    # (it is inside the test transaction); its own test client unhooks this the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    LocationFactory(is_default=True)
    ProductFactory(sku="FUZZ-1")
    yield token_create(user=UserFactory(role="owner"), actor=ACTOR).raw
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_with_a_server_error(case, token):
    response = case.call(app=application, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )


def test_nul_characters_are_refused_before_reaching_the_database(api, stocked):
    stocked("NUL-1")
    body = {"sku": "NUL\u00002", "title": "x"}
    response = api.post("/api/v1/products", body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_characters"
    assert api.get("/api/v1/orders", q="a\x00b").status_code == 422
