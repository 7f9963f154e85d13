"""Fulfillment services: create and change them, issue their scoped tokens and portal links.

A service owns a location (created with it), so routing sends it FOs like any location; a
service that does not report its own stock (a dropship supplier) sells beyond its count.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction

from colis.accounts.services import token_hash
from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.core.patch import UNSET, Given
from colis.core.timeline import event_record
from colis.locations.models import Location
from colis.locations.services import LocationData, location_create
from colis.partners.models import (
    FulfillmentService,
    NotifyMethod,
    OnReject,
    ServiceKind,
    ServiceToken,
)
from colis.partners.selectors import SERVICE_TOKEN_PREFIX
from colis.webhooks.urls import url_problem

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PORTAL_SALT = "colis.partners.portal"
PORTAL_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class ServiceData(Given):
    name: str = UNSET
    kind: str = UNSET
    email: str = UNSET
    notify_method: str = UNSET
    webhook_url: str = UNSET
    webhook_secret: str = UNSET
    webhook_allow_private: bool = UNSET
    manages_own_stock: bool = UNSET
    on_reject: str = UNSET
    active: bool = UNSET


def _check(values: dict[str, Any], current: FulfillmentService | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out = dict(values)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"] or len(out["name"]) > 200:
            errors["name"] = "Between 1 and 200 characters."
    for key, choices in (
        ("kind", ServiceKind.values),
        ("notify_method", NotifyMethod.values),
        ("on_reject", OnReject.values),
    ):
        if key in out and out[key] not in choices:
            errors[key] = f"One of {', '.join(choices)}."
    if out.get("email") and not EMAIL.match(out["email"]):
        errors["email"] = "Not an email address."
    if out.get("webhook_url") and not re.match(r"^https?://", out["webhook_url"]):
        errors["webhook_url"] = "An http(s) URL."
    merged = {
        "notify_method": getattr(current, "notify_method", NotifyMethod.EMAIL),
        "email": getattr(current, "email", ""),
        "webhook_url": getattr(current, "webhook_url", ""),
        **out,
    }
    if merged["notify_method"] == NotifyMethod.EMAIL and not merged["email"]:
        errors.setdefault("email", "Required when the service is told by email.")
    if merged["notify_method"] == NotifyMethod.WEBHOOK and not merged["webhook_url"]:
        errors.setdefault("webhook_url", "Required when the service is told by webhook.")
    allow = out.get("webhook_allow_private", getattr(current, "webhook_allow_private", False))
    problem = (
        url_problem(merged["webhook_url"], allow_private=allow)
        if merged["webhook_url"] and "webhook_url" not in errors
        else ""
    )
    if problem:
        errors["webhook_url"] = problem
    if errors:
        raise ValidationError(
            "The fulfillment service is not valid.", code="invalid_service", fields=errors
        )
    if out.get("notify_method") == NotifyMethod.WEBHOOK and not (
        out.get("webhook_secret") or getattr(current, "webhook_secret", "")
    ):
        out["webhook_secret"] = secrets.token_urlsafe(32)
    return out


def service_create(
    *, data: ServiceData, address: dict[str, Any], actor: Actor
) -> FulfillmentService:
    """A 3PL or dropship supplier with its own location (at the bottom of the priority list).
    Raises ValidationError naming each field, Conflict when the name is taken."""
    values = _check(data.given(), None)
    for required in ("name", "kind"):
        if required not in values:
            raise ValidationError(
                "The fulfillment service is not valid.",
                code="invalid_service",
                fields={required: "This field is required."},
            )
    with transaction.atomic():
        if FulfillmentService.objects.filter(name=values["name"]).exists():
            raise Conflict(
                "A fulfillment service has this name.",
                code="service_name_taken",
                fields={"name": "Taken."},
            )
        location = location_create(
            data=LocationData(
                name=values["name"][:200],
                address=address,
                fulfills_online_orders=True,
                allow_negative_stock=not values.get("manages_own_stock", True),
            ),
            actor=actor,
        )
        service = FulfillmentService.objects.create(location=location, **values)
        event_record(
            subject_type="fulfillment_service",
            subject_id=service.pk,
            kind="service_created",
            actor=actor,
            data={"name": service.name, "kind": service.kind, "location_id": location.pk},
        )
    return service


def service_update(*, service_id: int, data: ServiceData, actor: Actor) -> FulfillmentService:
    """Change a service; its location follows its name, stock mode and active flag."""
    with transaction.atomic():
        service = FulfillmentService.objects.select_for_update().filter(pk=service_id).first()
        if service is None:
            raise NotFound("No such fulfillment service.", code="service_not_found")
        values = _check(data.given(), service)
        if "name" in values and (
            FulfillmentService.objects.filter(name=values["name"]).exclude(pk=service.pk).exists()
        ):
            raise Conflict(
                "A fulfillment service has this name.",
                code="service_name_taken",
                fields={"name": "Taken."},
            )
        for key, value in values.items():
            setattr(service, key, value)
        service.save()
        location_changes: dict[str, Any] = {}
        if "name" in values:
            location_changes["name"] = values["name"]
        if "manages_own_stock" in values:
            location_changes["allow_negative_stock"] = not values["manages_own_stock"]
        if "active" in values:
            location_changes["active"] = values["active"]
        if location_changes:
            Location.objects.filter(pk=service.location_id).update(**location_changes)
        event_record(
            subject_type="fulfillment_service",
            subject_id=service.pk,
            kind="service_updated",
            actor=actor,
            data={k: v for k, v in values.items() if k != "webhook_secret"},
        )
    return service


def service_token_issue(*, service_id: int, actor: Actor) -> tuple[ServiceToken, str]:
    """A new scoped token for the service; the raw value is returned once, never stored."""
    raw = SERVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        if not FulfillmentService.objects.filter(pk=service_id).exists():
            raise NotFound("No such fulfillment service.", code="service_not_found")
        token = ServiceToken.objects.create(
            service_id=service_id,
            prefix=raw[: len(SERVICE_TOKEN_PREFIX) + 6],
            token_hash=token_hash(raw),
        )
        event_record(
            subject_type="fulfillment_service",
            subject_id=service_id,
            kind="service_token_created",
            actor=actor,
            data={"prefix": token.prefix},
        )
    return token, raw


def purchase_order_number(fo_id: int) -> str:
    """The number a dropship supplier knows an FO by."""
    return f"PO-{fo_id:06d}"


def service_portal_link(*, service_id: int, days: int = PORTAL_DAYS) -> str:
    """A signed link to the service's portal, valid `days` days; no login needed."""
    if not FulfillmentService.objects.filter(pk=service_id).exists():
        raise NotFound("No such fulfillment service.", code="service_not_found")
    token = signing.dumps({"s": service_id, "d": days}, salt=PORTAL_SALT, compress=True)
    return f"{settings.BASE_URL}/portal/{token}/"


def portal_service(token: str) -> FulfillmentService:
    """The active service a portal token was signed for. Raises NotFound when the link is
    forged, expired, or its service is switched off."""
    try:
        data = signing.loads(token, salt=PORTAL_SALT)
        days = int(data["d"])
        signing.loads(token, salt=PORTAL_SALT, max_age=days * 86400)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(
            "This portal link is not valid or has expired.", code="portal_link_invalid"
        ) from None
    service = FulfillmentService.objects.filter(pk=data["s"], active=True).first()
    if service is None:
        raise NotFound("This portal link is not valid or has expired.", code="portal_link_invalid")
    return service
