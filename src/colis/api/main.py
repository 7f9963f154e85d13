"""The HTTP API: one NinjaAPI, one error format, one router per domain."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import BaseRenderer

from colis.api.auth import BearerToken
from colis.api.errors import pydantic_fields
from colis.api.middleware import error_response
from colis.core.errors import DomainError


class OrjsonRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS, default=str)


api = NinjaAPI(
    title="Colis API",
    version="1",
    description="Order fulfillment: locations, products, stock, orders, and their timeline.",
    auth=BearerToken(),
    renderer=OrjsonRenderer(),
    urls_namespace="api-v1",
    docs_url="/docs",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(exc.http_status, exc.code, exc.message, exc.fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        401, "not_authenticated", "A valid API token is required (Authorization: Bearer <token>)."
    )
    response["WWW-Authenticate"] = 'Bearer realm="colis"'
    return response


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return error_response(
        422, "invalid", "The request is not valid.", pydantic_fields(list(exc.errors))
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", "Not found.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(exc.status_code, "http_error", str(exc))


def _register() -> None:
    from colis.api import (
        accounts,
        bulk,
        carriers,
        channels,
        documents,
        exports,
        fulfillment,
        health,
        inventory,
        jobs,
        locations,
        notifications,
        orders,
        outbox,
        packages,
        partners,
        products,
        returns,
        shop,
        tracking_imports,
        webhooks,
    )

    api.add_router("/", health.router)
    api.add_router("/", accounts.router)
    api.add_router("/locations", locations.router)
    api.add_router("/products", products.router)
    api.add_router("/inventory", inventory.router)
    api.add_router("/orders", orders.router)
    api.add_router("/outbox", outbox.router)
    api.add_router("/order-statuses", orders.status_router)
    api.add_router("/carriers", carriers.router)
    api.add_router("/packages", packages.router)
    api.add_router("/fulfillment-orders", fulfillment.fo_router)
    api.add_router("/shipments", fulfillment.shipment_router)
    api.add_router("/fulfillment-services", partners.router)
    api.add_router("/notification-templates", notifications.router)
    api.add_router("/webhooks", webhooks.router)
    api.add_router("/shop", shop.router)
    api.add_router("/channels", channels.router)
    api.add_router("/", documents.router)
    api.add_router("/tracking-imports", tracking_imports.router)
    api.add_router("/exports", exports.router)
    api.add_router("/bulk", bulk.router)
    api.add_router("/jobs", jobs.router)
    api.add_router("/returns", returns.router)


_register()
