"""A fulfillment service's answers to the FOs routed to it: accept, or reject with a reason.

A rejected FO releases its stock at the service and, as the service is set, goes back to
routing (any other location) or stays on hold for the merchant.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.fulfillment.models import FulfillmentHold, FulfillmentOrder
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.routing import RouteLine, RouteRequest, orders_route, route_sites
from colis.fulfillment.services import _fo_event, fo_effects, fo_lock, fo_require_live
from colis.fulfillment.status import FOStatus, HoldReason, RequestStatus
from colis.inventory.models import Reason
from colis.inventory.services import StockChange, inventory_apply, inventory_levels_lock


def _service_fo(fo_id: int, actor: Actor) -> tuple[int, FulfillmentOrder]:
    from colis.partners.models import FulfillmentService

    order, fo = fo_lock(fo_id)
    service = FulfillmentService.objects.filter(location_id=fo.location_id).first()
    if service is None or (actor.kind == "service" and actor.id != service.pk):
        raise NotFound("No such fulfillment order.", code="fulfillment_order_not_found")
    fo_require_live(fo)
    if fo.request_status != RequestStatus.SUBMITTED:
        raise Conflict(
            f"This request is {fo.request_status}; only a submitted one can be answered.",
            code="request_not_submitted",
        )
    return order.pk, fo


def fulfillment_order_accept(*, fo_id: int, actor: Actor) -> FulfillmentOrder:
    """The service takes the FO on. Raises NotFound, Conflict (`request_not_submitted`)."""
    with transaction.atomic():
        order_id, fo = _service_fo(fo_id, actor)
        fo.request_status = RequestStatus.ACCEPTED
        if fo.status == FOStatus.OPEN:
            fo.status = FOStatus.IN_PROGRESS
        fo.updated_at = timezone.now()
        fo.save(update_fields=["request_status", "status", "updated_at"])
        _fo_event(fo, "fulfillment_request_accepted", actor, {})
        fo_effects(fo_id=fo.pk, order_id=order_id, location_id=fo.location_id, what="accepted")
        orders_progress(order_ids=[order_id], actor=actor)
    return fo


def fulfillment_order_reject(*, fo_id: int, reason: str, actor: Actor) -> FulfillmentOrder:
    """The service declines the FO. Raises NotFound, ValidationError (reason), Conflict."""
    from colis.partners.models import FulfillmentService, OnReject

    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationError(
            "Say why the request is rejected.",
            code="invalid_reject_reason",
            fields={"reason": "1 to 500 characters."},
        )
    with transaction.atomic():
        order_id, fo = _service_fo(fo_id, actor)
        service = FulfillmentService.objects.get(location_id=fo.location_id)
        now = timezone.now()
        fo.request_status = RequestStatus.REJECTED
        fo.reject_reason = reason
        fo.updated_at = now
        fo.save(update_fields=["request_status", "reject_reason", "updated_at"])
        _fo_event(fo, "fulfillment_request_rejected", actor, {"reason": reason})
        fo_effects(fo_id=fo.pk, order_id=order_id, location_id=fo.location_id, what="rejected")
        lines = [ln for ln in fo.lines.all() if ln.remaining]
        if service.on_reject == OnReject.HOLD:
            FulfillmentHold.objects.create(
                fulfillment_order=fo,
                reason=HoldReason.OTHER,
                notes=f"Rejected by {service.name}: {reason}"[:1000],
                actor_kind=actor.kind,
                actor_id=actor.id,
                actor_label=actor.label[:200],
                created_at=now,
            )
            fo.status = FOStatus.ON_HOLD
            fo.save(update_fields=["status"])
        else:
            # Every level this rejection touches (the service's and every site's), locked in
            # one pk-ordered round before anything changes.
            sites, _ = route_sites()
            locked = inventory_levels_lock(
                product_ids={ln.product_id for ln in lines},
                location_ids={fo.location_id, *(site.location_id for site in sites)},
            )
            inventory_apply(
                locked=locked,
                changes=[
                    StockChange(
                        product_id=ln.product_id,
                        location_id=fo.location_id,
                        reason=Reason.RELEASED,
                        committed=-ln.remaining,
                        order_id=order_id,
                        reference=f"fo:{fo.pk}",
                    )
                    for ln in lines
                    if fo.commits_stock
                ],
                actor=actor,
            )
            fo.commits_stock = False
            fo.save(update_fields=["commits_stock"])
            request = RouteRequest(
                order_id=order_id,
                lines=[
                    RouteLine(
                        line_id=ln.order_line_id,
                        product_id=ln.product_id,
                        sku=ln.sku,
                        quantity=ln.remaining,
                    )
                    for ln in lines
                ],
                exclude=frozenset({fo.location_id}),
                source=fo,
                move_short=True,
            )
            orders_route(
                requests=[request], actor=actor, event_kind="order_rerouted", locked=locked
            )
        orders_progress(order_ids=[order_id], actor=actor)
    return fo
