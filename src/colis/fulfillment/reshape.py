"""Reshaping fulfillment orders: split one by quantities, merge several of one location, move
what one has left to another location. Same rules as `services`: the order row is locked first,
then stock levels through the inventory service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from colis.core.actor import Actor
from colis.core.errors import Conflict, NotFound, ValidationError
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from colis.fulfillment.progress import orders_progress
from colis.fulfillment.services import (
    AT_SERVICE,
    LinePick,
    _fo_event,
    _picks_resolve,
    _settle,
    fo_effects,
    fo_lock,
    fo_require_live,
)
from colis.fulfillment.status import FOStatus, HoldReason, RequestStatus
from colis.inventory.models import InventoryLevel, Reason
from colis.inventory.services import StockChange, inventory_apply
from colis.locations.models import Location


def fulfillment_order_split(
    *, fo_id: int, lines: Sequence[LinePick], actor: Actor
) -> FulfillmentOrder:
    """Take these quantities out into a new FO at the same location, with the same holds.
    Raises NotFound, ValidationError (lines), Conflict (closed, at a service, all of it)."""
    with transaction.atomic():
        order, fo = fo_lock(fo_id)
        fo_require_live(fo)
        _require_not_at_service(fo)
        chosen = _picks_resolve(fo, lines)
        fo_lines = {ln.pk: ln for ln in fo.lines.all()}
        if sum(chosen.values()) >= sum(ln.remaining for ln in fo_lines.values()):
            raise Conflict(
                "A split must leave something in the original fulfillment order.",
                code="split_takes_everything",
            )
        now = timezone.now()
        new = FulfillmentOrder.objects.create(
            order=order,
            location_id=fo.location_id,
            status=FOStatus.OPEN,
            request_status=fo.request_status,
            commits_stock=fo.commits_stock,
            created_at=now,
            updated_at=now,
        )
        for line_pk, qty in chosen.items():
            src = fo_lines[line_pk]
            src.quantity -= qty
            FulfillmentOrderLine.objects.create(
                fulfillment_order=new,
                order_line_id=src.order_line_id,
                product_id=src.product_id,
                sku=src.sku,
                quantity=qty,
            )
        FulfillmentOrderLine.objects.bulk_update(list(fo_lines.values()), ["quantity"])
        for hold in fo.holds.all():
            hold.pk = None
            hold.fulfillment_order = new
            hold.save(force_insert=True)
        _settle(new, now)
        _fo_event(
            fo,
            "fulfillment_order_split",
            actor,
            {
                "new_fulfillment_order": new.pk,
                "lines": {fo_lines[k].sku: q for k, q in chosen.items()},
            },
        )
        orders_progress(order_ids=[order.pk], actor=actor)
    return new


def fulfillment_orders_merge(*, fo_ids: Sequence[int], actor: Actor) -> FulfillmentOrder:
    """Merge FOs of one order and one location into the first. Raises NotFound, Conflict."""
    ids = list(dict.fromkeys(fo_ids))
    if len(ids) < 2:
        raise ValidationError(
            "Give at least two fulfillment orders.",
            code="invalid",
            fields={"fulfillment_order_ids": "At least two."},
        )
    with transaction.atomic():
        order, first = fo_lock(ids[0])
        fos = {fo.pk: fo for fo in FulfillmentOrder.objects.filter(pk__in=ids)}
        missing = [i for i in ids if i not in fos]
        if missing:
            raise NotFound(
                "No such fulfillment order.",
                code="fulfillment_order_not_found",
                fields={"fulfillment_order_ids": missing},
            )
        group = [fos[i] for i in ids]
        for fo in group:
            fo_require_live(fo)
            _require_not_at_service(fo)
        if len({(fo.order_id, fo.location_id, fo.commits_stock) for fo in group}) != 1:
            raise Conflict(
                "Only fulfillment orders of one order, at one location, can be merged.",
                code="merge_mismatch",
            )
        now = timezone.now()
        target_lines = {ln.order_line_id: ln for ln in first.lines.all()}
        reasons = {h.reason for h in first.holds.all()}
        for fo in group[1:]:
            for ln in fo.lines.all():
                if not ln.remaining:
                    continue
                if ln.order_line_id in target_lines:
                    target_lines[ln.order_line_id].quantity += ln.remaining
                else:
                    target_lines[ln.order_line_id] = FulfillmentOrderLine.objects.create(
                        fulfillment_order=first,
                        order_line_id=ln.order_line_id,
                        product_id=ln.product_id,
                        sku=ln.sku,
                        quantity=ln.remaining,
                    )
                ln.quantity = ln.quantity_fulfilled
                ln.save(update_fields=["quantity"])
            for hold in fo.holds.all():
                if hold.reason not in reasons:
                    reasons.add(hold.reason)
                    hold.fulfillment_order = first
                    hold.save(update_fields=["fulfillment_order"])
            fo.holds.all().delete()
            fo.status = FOStatus.CLOSED
            fo.updated_at = now
            fo.save(update_fields=["status", "updated_at"])
            _fo_event(fo, "fulfillment_order_merged_into", actor, {"into": first.pk})
        FulfillmentOrderLine.objects.bulk_update(list(target_lines.values()), ["quantity"])
        _settle(first, now)
        _fo_event(first, "fulfillment_orders_merged", actor, {"merged": ids[1:]})
        orders_progress(order_ids=[order.pk], actor=actor)
    return first


def _require_not_at_service(fo: FulfillmentOrder) -> None:
    if fo.request_status in AT_SERVICE:
        raise Conflict(
            "This fulfillment order was submitted to a fulfillment service.",
            code="fulfillment_order_submitted",
        )


def fulfillment_order_move(*, fo_id: int, location_id: int, actor: Actor) -> FulfillmentOrder:
    """Move what an FO has left to another location; returns the FO that now holds it (the same
    one, or a new one when part was already shipped). Raises NotFound, Conflict
    (closed, submitted, same location, `location_never_stocked`, insufficient stock)."""
    with transaction.atomic():
        order, fo = fo_lock(fo_id)
        fo_require_live(fo)
        _require_not_at_service(fo)
        dest = Location.objects.filter(pk=location_id, active=True).first()
        if dest is None:
            raise NotFound(
                "No such active location.",
                code="location_not_found",
                fields={"location_id": "Unknown or inactive location."},
            )
        if dest.pk == fo.location_id:
            raise Conflict("The FO is already at this location.", code="same_location")
        lines = [ln for ln in fo.lines.all() if ln.remaining]
        stocked = set(
            InventoryLevel.objects.filter(
                location=dest, product_id__in=[ln.product_id for ln in lines]
            ).values_list("product_id", flat=True)
        )
        never = [ln.sku for ln in lines if ln.product_id not in stocked]
        if never and not dest.allow_negative_stock:
            raise Conflict(
                f"{dest.name} has never stocked {', '.join(never)}.",
                code="location_never_stocked",
                fields={"location_id": {"skus": never}},
            )
        changes = []
        for ln in lines:
            if fo.commits_stock:
                changes.append(
                    StockChange(
                        product_id=ln.product_id,
                        location_id=fo.location_id,
                        reason=Reason.RELEASED,
                        committed=-ln.remaining,
                        order_id=order.pk,
                        reference=f"fo:{fo.pk}",
                    )
                )
            changes.append(
                StockChange(
                    product_id=ln.product_id,
                    location_id=dest.pk,
                    reason=Reason.COMMITTED,
                    committed=ln.remaining,
                    order_id=order.pk,
                    reference=f"fo:{fo.pk}",
                )
            )
        inventory_apply(changes=changes, actor=actor)
        now = timezone.now()
        source = fo.location_id
        target = _relocate(fo, lines, dest.pk, now)
        target.holds.filter(reason=HoldReason.INVENTORY_OUT_OF_STOCK).delete()
        # A hold a service placed by rejecting the request belongs to that service.
        target.holds.filter(reason=HoldReason.OTHER, actor_kind="service").delete()
        target.commits_stock = True
        target.request_status = _request_for(dest.pk)
        target.save(update_fields=["commits_stock", "request_status"])
        _settle(target, now)
        if target.request_status == RequestStatus.SUBMITTED:
            fo_effects(
                fo_id=target.pk,
                order_id=order.pk,
                location_id=dest.pk,
                what="submitted",
                service_message="fulfillment_request",
                # One request per submission: an FO may be submitted again after a rejection.
                key=f"fo:{target.pk}:request:{dest.pk}:{int(now.timestamp() * 1e6)}",
            )
        _fo_event(
            target,
            "fulfillment_order_moved",
            actor,
            {"from_location": source, "to_location": dest.pk, "from_fulfillment_order": fo.pk},
        )
        orders_progress(order_ids=[order.pk], actor=actor)
    return target


def _relocate(
    fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], location_id: int, now: Any
) -> FulfillmentOrder:
    if not any(ln.quantity_fulfilled for ln in fo.lines.all()):
        fo.location_id = location_id
        fo.updated_at = now
        fo.save(update_fields=["location", "updated_at"])
        return fo
    new = FulfillmentOrder.objects.create(
        order_id=fo.order_id,
        location_id=location_id,
        status=FOStatus.OPEN,
        created_at=now,
        updated_at=now,
    )
    for ln in lines:
        FulfillmentOrderLine.objects.create(
            fulfillment_order=new,
            order_line_id=ln.order_line_id,
            product_id=ln.product_id,
            sku=ln.sku,
            quantity=ln.remaining,
        )
        ln.quantity = ln.quantity_fulfilled
    FulfillmentOrderLine.objects.bulk_update(lines, ["quantity"])
    for hold in fo.holds.all():
        hold.fulfillment_order = new
        hold.save(update_fields=["fulfillment_order"])
    fo.status = FOStatus.CLOSED
    fo.updated_at = now
    fo.save(update_fields=["status", "updated_at"])
    return new


def _request_for(location_id: int) -> str:
    from colis.partners.models import FulfillmentService

    if FulfillmentService.objects.filter(location_id=location_id, active=True).exists():
        return RequestStatus.SUBMITTED
    return RequestStatus.UNSUBMITTED
