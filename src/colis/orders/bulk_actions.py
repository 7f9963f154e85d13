"""Bulk actions over many orders: fulfill, hold, release, set a status, cancel, mark printed.

Each action is a pair of functions over one order. `evaluate` reads the order and returns what
would happen, or raises the DomainError the service would raise (the order is then skipped
with that code); `apply` calls the service. A dry run only evaluates, without a write or a
lock. The real run, one transaction per order, locks the order, evaluates, then applies: both
say the same for each order unless someone else changed it in between. A refusal the check did
not foresee still skips just that order, with the service's code.

Up to SYNC_LIMIT orders run within the request; more (or when asked) run as a job on the worker
(`colis.core.jobs`), which keeps each order's result as it goes and resumes after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django_tasks import TaskContext, task

from colis.core.actor import Actor
from colis.core.errors import Conflict, DomainError, NotFound, ValidationError
from colis.core.jobs import ItemResult, job_actor, job_create, job_kind_register, job_run
from colis.core.models import Job
from colis.core.timeline import event_record
from colis.fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, Shipment
from colis.fulfillment.services import HOLDABLE, order_hold, order_release
from colis.fulfillment.shipments import ShipmentDraft, shipment_create
from colis.fulfillment.status import LIVE_FO, PACKED, FOStatus, HoldReason
from colis.inventory.models import InventoryLevel
from colis.locations.models import Location
from colis.orders.models import Order, OrderLine
from colis.orders.selectors import OrderFilters, order_queryset
from colis.orders.services import order_cancel, order_lock, order_status_set
from colis.orders.status import (
    STATUS_BY_NAME,
    STATUS_NAMES,
    TRANSITIONS,
    OrderStatus,
    status_transition_check,
)

logger = logging.getLogger(__name__)

ACTIONS = ("fulfill", "hold", "release", "set-status", "cancel", "print")
DOCUMENTS = ("packing_slip", "pick_list", "label")
SYNC_LIMIT = 200
MAX_ORDERS = 10_000
JOB_PREFIX = "bulk."
CANCELLED = OrderStatus.CANCELLED
SHIPMENT_FIELDS = (
    "fulfillment_order_id",
    "carrier",
    "carrier_name",
    "service",
    "tracking_numbers",
    "tracking_urls",
    "notes",
    "ship_date",
    "notify_customer",
    "force",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class BulkAction:
    """One action and its options, as JSON-safe values (a job stores them as they are).

    `shipments` (fulfill) holds per-order shipment fields by order id; `options` holds the
    fields shared by every order."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    shipments: dict[int, dict[str, Any]] = field(default_factory=dict)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "options": self.options,
            "shipments": {str(k): v for k, v in self.shipments.items()},
            "dry_run": self.dry_run,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BulkAction:
        return cls(
            name=data["name"],
            options=data.get("options") or {},
            shipments={int(k): v for k, v in (data.get("shipments") or {}).items()},
            dry_run=bool(data.get("dry_run")),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderOutcome:
    order_id: int
    number: str | None
    ok: bool
    detail: dict[str, Any] | None = None
    skipped: dict[str, Any] | None = None

    def as_json(self, *, dry_run: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"order_id": self.order_id, "number": self.number, "ok": self.ok}
        if self.ok:
            out["would" if dry_run else "did"] = self.detail
        else:
            out["skipped"] = self.skipped
        return out


def _skipped(order_id: int, number: str | None, exc: DomainError) -> OrderOutcome:
    skipped: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.fields:
        skipped["fields"] = exc.fields
    return OrderOutcome(order_id=order_id, number=number, ok=False, skipped=skipped)


# --- what the checks read -----------------------------------------------------------


@dataclass(kw_only=True, slots=True)
class OrderState:
    """An order as the checks see it: lines, fulfillment orders (lines, holds), shipments."""

    order: Order
    lines: list[OrderLine]
    fos: list[FulfillmentOrder]
    shipments: list[Shipment]


def order_states(order_ids: Iterable[int]) -> dict[int, OrderState]:
    """The states of these orders (those that exist), in six queries whatever their number."""
    orders = Order.objects.filter(pk__in=list(order_ids)).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position")),
        Prefetch(
            "fulfillment_orders",
            queryset=FulfillmentOrder.objects.order_by("pk").prefetch_related(
                Prefetch("lines", queryset=FulfillmentOrderLine.objects.order_by("pk")), "holds"
            ),
        ),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.order_by("pk").only(
                "pk", "order_id", "fulfillment_order_id", "status"
            ),
        ),
    )
    return {
        o.pk: OrderState(
            order=o,
            lines=list(o.lines.all()),
            fos=list(o.fulfillment_orders.all()),
            shipments=list(o.shipments.all()),
        )
        for o in orders
    }


def stock_check(fos: Sequence[FulfillmentOrder]) -> None:
    """Refuse, as the inventory service would, a shipment of everything these FOs have left
    that takes a level below its rules (negative on hand, committed above on hand). Raises
    Conflict (`insufficient_stock`)."""
    need: dict[tuple[int, int], list[int]] = {}
    skus: dict[int, str] = {}
    for fo in fos:
        for ln in fo.lines.all():
            if ln.remaining:
                delta = need.setdefault((ln.product_id, fo.location_id), [0, 0])
                delta[0] += ln.remaining
                delta[1] += ln.remaining if fo.commits_stock else 0
                skus[ln.product_id] = ln.sku
    if not need:
        return
    products, locations = {k[0] for k in need}, {k[1] for k in need}
    levels = {
        (p, loc): (on_hand, committed)
        for p, loc, on_hand, committed in InventoryLevel.objects.filter(
            product_id__in=products, location_id__in=locations
        ).values_list("product_id", "location_id", "on_hand", "committed")
    }
    negative_ok = set(
        Location.objects.filter(pk__in=locations, allow_negative_stock=True).values_list(
            "pk", flat=True
        )
    )
    short: dict[str, Any] = {}
    for (product_id, location_id), (d_on_hand, d_committed) in sorted(need.items()):
        if location_id in negative_ok:
            continue
        on_hand, committed = levels.get((product_id, location_id), (0, 0))
        after, after_committed = on_hand - d_on_hand, committed - d_committed
        if (
            after_committed < 0
            or (after < 0 and after < on_hand)
            or (after - after_committed < 0 and after - after_committed < on_hand - committed)
        ):
            short[f"{skus[product_id]}@{location_id}"] = {
                "on_hand": on_hand,
                "committed": committed,
                "on_hand_after": after,
                "committed_after": after_committed,
            }
    if short:
        raise Conflict(
            "Not enough stock: " + ", ".join(k.replace("@", " at location ") for k in short),
            code="insufficient_stock",
            fields=short,
        )


# --- checks and effects, one pair per action -----------------------------------------------


def _require_not_cancelled(st: OrderState) -> None:
    if st.order.status == CANCELLED:
        raise Conflict("This order is cancelled.", code="order_cancelled")


def _live(st: OrderState) -> list[FulfillmentOrder]:
    return [fo for fo in st.fos if fo.status in LIVE_FO]


def _hold_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    _require_not_cancelled(st)
    reason = action.options["reason"]
    live = _live(st)
    targets = [fo.pk for fo in live if reason not in {h.reason for h in fo.holds.all()}]
    if not targets:
        if live:
            raise Conflict(f"This order is already on hold for {reason}.", code="already_on_hold")
        if any(ln.quantity_fulfilled for ln in st.lines):
            raise Conflict("This order has shipped.", code="order_shipped")
        raise Conflict("This order has no open fulfillment order to hold.", code="nothing_to_hold")
    return {"reason": reason, "fulfillment_order_ids": targets}


def _hold_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    held = order_hold(
        order_id=order.pk,
        reason=action.options["reason"],
        notes=action.options.get("notes", ""),
        notify_customer=action.options.get("notify_customer", True),
        actor=actor,
    )
    return {"reason": action.options["reason"], "fulfillment_order_ids": held}


def _release_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    _require_not_cancelled(st)
    releasable: dict[int, list[str]] = {}
    waits_for_stock = False
    for fo in _live(st):
        for hold in fo.holds.all():
            if hold.reason == HoldReason.INVENTORY_OUT_OF_STOCK:
                waits_for_stock = True
            else:
                releasable.setdefault(fo.pk, []).append(hold.reason)
    if not releasable:
        if waits_for_stock:
            raise Conflict(
                "This order waits for stock; it is released when stock arrives.",
                code="out_of_stock_hold",
            )
        raise Conflict("This order is not on hold.", code="not_on_hold")
    return {
        "fulfillment_order_ids": sorted(releasable),
        "reasons": sorted({r for reasons in releasable.values() for r in reasons}),
    }


def _release_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    return {**plan, "released": order_release(order_id=order.pk, actor=actor)}


def _cancel_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    order = st.order
    if order.status == CANCELLED:
        raise Conflict("This order is already cancelled.", code="order_already_cancelled")
    status_transition_check(order.status, CANCELLED)
    if any(ln.quantity_fulfilled for ln in st.lines):
        raise Conflict(
            "Part of this order has shipped; cancel its open items instead.",
            code="order_has_shipments",
        )
    live = _live(st)
    live_ids = {fo.pk for fo in live}
    packed = [
        sh.pk for sh in st.shipments if sh.fulfillment_order_id in live_ids and sh.status in PACKED
    ]
    if packed:
        raise Conflict(
            "Packed shipments wait to leave; ship or cancel them first.",
            code="fulfillment_order_has_packed_shipments",
            fields={"shipments": packed},
        )
    return {
        "status": {"from": STATUS_NAMES[order.status], "to": STATUS_NAMES[CANCELLED]},
        "fulfillment_order_ids": [fo.pk for fo in live],
    }


def _reason(action: BulkAction) -> str:
    return str(action.options.get("reason") or action.options.get("note") or "")


def _cancel_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    order_cancel(order_id=order.pk, reason=_reason(action), actor=actor)
    return plan


def _status_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    target = int(action.options["status"])
    if target == CANCELLED:
        return _cancel_evaluate(st, action)
    if st.order.status == target:
        raise Conflict(f"The order is already {STATUS_NAMES[target]}.", code="status_unchanged")
    status_transition_check(st.order.status, target)
    return {"status": {"from": STATUS_NAMES[st.order.status], "to": STATUS_NAMES[target]}}


def _status_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    target = int(action.options["status"])
    note = str(action.options.get("note") or "")
    order_status_set(order_id=order.pk, status=target, note=note, actor=actor)
    return plan


def _print_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    _require_not_cancelled(st)
    plan: dict[str, Any] = {"printed": action.options.get("document", "packing_slip")}
    if action.options.get("mark_awaiting_shipment"):
        plan["status"] = _print_move(st.order.status)
    return plan


def _print_move(current: int) -> dict[str, str] | None:
    """The status change printing makes: to awaiting_shipment, when the order may go there."""
    target = OrderStatus.AWAITING_SHIPMENT
    if current == target or target not in TRANSITIONS[OrderStatus(current)]:
        return None
    return {"from": STATUS_NAMES[current], "to": STATUS_NAMES[target]}


def _print_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    order_printed_mark(
        order_id=order.pk,
        document=plan["printed"],
        awaiting_shipment=bool(action.options.get("mark_awaiting_shipment")),
        actor=actor,
    )
    return plan


def order_printed_mark(
    *, order_id: int, document: str, awaiting_shipment: bool = False, actor: Actor
) -> Order:
    """Record on the order's timeline that a document of it was printed; with
    `awaiting_shipment`, also move the order to awaiting_shipment where its status allows it
    (it stays as it is otherwise). Raises NotFound, Conflict (`order_cancelled`)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == CANCELLED:
            raise Conflict("This order is cancelled.", code="order_cancelled")
        event_record(
            subject_type="order",
            subject_id=order.pk,
            order_id=order.pk,
            kind="documents_printed",  # the same event the documents endpoints write
            actor=actor,
            data={"document": document},
        )
        if awaiting_shipment and _print_move(order.status):
            order = order_status_set(
                order_id=order.pk,
                status=OrderStatus.AWAITING_SHIPMENT,
                note=f"{document.replace('_', ' ')} printed",
                actor=actor,
            )
    return order


def _shipment_fields(order_id: int, action: BulkAction) -> dict[str, Any]:
    return {**action.options, **action.shipments.get(order_id, {})}


def _fulfill_evaluate(st: OrderState, action: BulkAction) -> dict[str, Any]:
    from colis.shipping.services import tracking_resolve

    _require_not_cancelled(st)
    spec = _shipment_fields(st.order.pk, action)
    live = _live(st)
    if spec.get("fulfillment_order_id"):
        targets = [fo for fo in live if fo.pk == spec["fulfillment_order_id"]]
        if not targets:
            raise NotFound(
                "This order has no such open fulfillment order.",
                code="fulfillment_order_not_found",
                fields={"fulfillment_order_id": spec["fulfillment_order_id"]},
            )
    else:
        targets = [fo for fo in live if any(ln.remaining for ln in fo.lines.all())]
    if not targets or not any(ln.remaining for fo in targets for ln in fo.lines.all()):
        if any(ln.quantity_fulfilled for ln in st.lines):
            raise Conflict("This order has shipped.", code="order_shipped")
        raise Conflict("Nothing is left to ship on this order.", code="nothing_to_ship")
    if len(targets) > 1 and spec.get("tracking_numbers"):
        raise ValidationError(
            "This order has several open fulfillment orders; say which one these tracking "
            "numbers ship.",
            code="fulfillment_order_required",
            fields={"fulfillment_order_id": [fo.pk for fo in targets]},
        )
    for fo in targets:
        if fo.status == FOStatus.ON_HOLD:
            reasons = sorted({h.reason for h in fo.holds.all()})
            raise Conflict(
                f"Fulfillment order {fo.pk} is on hold ({', '.join(reasons)}).",
                code="fulfillment_order_on_hold",
                fields={"fulfillment_order_id": {"holds": reasons}},
            )
    tracking = tracking_resolve(
        carrier=spec.get("carrier"),
        carrier_name=spec.get("carrier_name") or "",
        numbers=list(spec.get("tracking_numbers") or []),
        urls=spec.get("tracking_urls"),
        force=bool(spec.get("force")),
    )
    stock_check(targets)
    return {
        "shipments": [
            {
                "fulfillment_order_id": fo.pk,
                "location_id": fo.location_id,
                "carrier": tracking.carrier_code,
                "tracking_numbers": list(tracking.numbers),
                "lines": {ln.sku: ln.remaining for ln in fo.lines.all() if ln.remaining},
            }
            for fo in targets
        ]
    }


def _fulfill_apply(order: Order, action: BulkAction, plan: dict[str, Any], actor: Actor) -> Any:
    spec = _shipment_fields(order.pk, action)
    shipped = []
    for planned in plan["shipments"]:
        ship_date = spec.get("ship_date")
        shipment = shipment_create(
            order_id=order.pk,
            draft=ShipmentDraft(
                fulfillment_order_id=planned["fulfillment_order_id"],
                carrier=spec.get("carrier"),
                carrier_name=spec.get("carrier_name") or "",
                service=spec.get("service") or "",
                tracking_numbers=list(spec.get("tracking_numbers") or []),
                tracking_urls=spec.get("tracking_urls"),
                notes=spec.get("notes") or "",
                ship_date=date.fromisoformat(ship_date) if ship_date else None,
                notify_customer=spec.get("notify_customer", True) is not False,
                force=bool(spec.get("force")),
            ),
            actor=actor,
        )
        shipped.append({"shipment_id": shipment.pk, **planned})
    return {"shipments": shipped}


Evaluate = Callable[[OrderState, BulkAction], dict[str, Any]]
Apply = Callable[[Order, BulkAction, dict[str, Any], Actor], Any]
HANDLERS: dict[str, tuple[Evaluate, Apply]] = {
    "fulfill": (_fulfill_evaluate, _fulfill_apply),
    "hold": (_hold_evaluate, _hold_apply),
    "release": (_release_evaluate, _release_apply),
    "set-status": (_status_evaluate, _status_apply),
    "cancel": (_cancel_evaluate, _cancel_apply),
    "print": (_print_evaluate, _print_apply),
}


# --- one order ------------------------------------------------------------------------


def bulk_order_evaluate(
    *, action: BulkAction, state: OrderState | None, order_id: int
) -> OrderOutcome:
    """What the action would do to one order (`state` None: the order does not exist)."""
    if state is None:
        return _skipped(order_id, None, NotFound("No such order.", code="order_not_found"))
    evaluate, _ = HANDLERS[action.name]
    try:
        plan = evaluate(state, action)
    except DomainError as exc:
        return _skipped(order_id, state.order.number, exc)
    return OrderOutcome(order_id=order_id, number=state.order.number, ok=True, detail=plan)


def bulk_order_apply(*, action: BulkAction, order_id: int, actor: Actor) -> OrderOutcome:
    """Do the action to one order, inside the caller's transaction: lock, check, apply. A
    refusal undoes whatever this order's step wrote and is reported as skipped."""
    try:
        order_lock(order_id)
    except NotFound as exc:
        return _skipped(order_id, None, exc)
    state = order_states([order_id])[order_id]
    outcome = bulk_order_evaluate(action=action, state=state, order_id=order_id)
    if not outcome.ok:
        return outcome
    _, apply = HANDLERS[action.name]
    try:
        with transaction.atomic():
            did = apply(state.order, action, outcome.detail or {}, actor)
    except DomainError as exc:
        return _skipped(order_id, state.order.number, exc)
    return OrderOutcome(order_id=order_id, number=state.order.number, ok=True, detail=did)


# --- many orders ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class BulkReport:
    dry_run: bool
    outcomes: list[OrderOutcome]

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "results": [o.as_json(dry_run=self.dry_run) for o in self.outcomes],
            "summary": bulk_summary(self.outcomes),
        }


def bulk_summary(outcomes: Iterable[OrderOutcome]) -> dict[str, Any]:
    total = ok = 0
    codes: dict[str, int] = {}
    for o in outcomes:
        total += 1
        ok += o.ok
        if o.skipped:
            codes[o.skipped["code"]] = codes.get(o.skipped["code"], 0) + 1
    return {"total": total, "ok": ok, "skipped": total - ok, "skipped_by_code": codes}


def _internal_error(order_id: int) -> OrderOutcome:
    return OrderOutcome(
        order_id=order_id,
        number=None,
        ok=False,
        skipped={"code": "internal_error", "message": "This order could not be processed."},
    )


def bulk_run(*, action: BulkAction, order_ids: Sequence[int], actor: Actor) -> BulkReport:
    """Run the action over these orders now: one result per order, in the same order."""
    outcomes: list[OrderOutcome] = []
    if action.dry_run:
        for start in range(0, len(order_ids), 500):
            chunk = order_ids[start : start + 500]
            states = order_states(chunk)
            outcomes += [
                bulk_order_evaluate(action=action, state=states.get(oid), order_id=oid)
                for oid in chunk
            ]
        return BulkReport(dry_run=True, outcomes=outcomes)
    for oid in order_ids:
        try:
            with transaction.atomic():
                outcomes.append(bulk_order_apply(action=action, order_id=oid, actor=actor))
        except Exception:
            # A fault of ours on one order: logged, reported, and the others go on.
            logger.exception("bulk %s: order %s failed", action.name, oid)
            outcomes.append(_internal_error(oid))
    return BulkReport(dry_run=False, outcomes=outcomes)


def bulk_start(*, action: BulkAction, order_ids: Sequence[int], actor: Actor) -> Job:
    """Queue the action over these orders as a job on the worker."""
    return job_create(
        kind=JOB_PREFIX + action.name,
        params=action.as_json(),
        subject_ids=order_ids,
        actor=actor,
    )


class BulkStep:
    """A bulk job's step: one order, evaluated (dry run) or applied."""

    def __init__(self, job: Job) -> None:
        self.action = BulkAction.from_json(job.params)
        self.actor = job_actor(job)

    def run(self, subject_id: int) -> ItemResult:
        if self.action.dry_run:
            state = order_states([subject_id]).get(subject_id)
            outcome = bulk_order_evaluate(action=self.action, state=state, order_id=subject_id)
        else:
            outcome = bulk_order_apply(action=self.action, order_id=subject_id, actor=self.actor)
        return _item(outcome, self.action.dry_run)

    def failed(self, subject_id: int, error: Exception) -> ItemResult:
        return _item(_internal_error(subject_id), self.action.dry_run)


def _item(outcome: OrderOutcome, dry_run: bool) -> ItemResult:
    return ItemResult(
        ok=outcome.ok,
        code=outcome.skipped["code"] if outcome.skipped else "",
        data=outcome.as_json(dry_run=dry_run),
    )


@task(queue_name="default", takes_context=True)
def bulk_job_task(context: TaskContext, job_id: int) -> dict[str, Any]:
    worker = context.task_result.worker_ids[-1] if context.task_result.worker_ids else "worker"
    job = job_run(job_id=job_id, worker_id=worker, step_for=BulkStep)
    return {"job_id": job_id, "status": job.status if job else "not_ours"}


for _name in ACTIONS:
    job_kind_register(JOB_PREFIX + _name, bulk_job_task)


# --- what the caller asks -------------------------------------------------------------


def bulk_targets(
    *, order_ids: Sequence[int] | None = None, filters: OrderFilters | None = None
) -> list[int]:
    """The orders to act on: the ids given (each once, in the order given), or the orders the
    filter finds now, oldest first. Raises ValidationError naming `order_ids` or `filter`."""
    if (order_ids is None) == (filters is None):
        raise ValidationError(
            "Give either order_ids or a filter.",
            code="invalid_targets",
            fields={"order_ids": "Give either order_ids or a filter, not both."},
        )
    if order_ids is not None:
        ids = list(dict.fromkeys(order_ids))
        if not ids or len(ids) > MAX_ORDERS:
            raise ValidationError(
                f"Give 1 to {MAX_ORDERS:,} orders.",
                code="invalid_targets",
                fields={"order_ids": f"1 to {MAX_ORDERS:,} order ids."},
            )
        return ids
    assert filters is not None
    try:
        found = list(
            order_queryset(filters).order_by("pk").values_list("pk", flat=True)[: MAX_ORDERS + 1]
        )
    except ValidationError as exc:
        exc.fields = {f"filter.{k}": v for k, v in exc.fields.items()}
        raise
    if len(found) > MAX_ORDERS:
        raise ValidationError(
            f"The filter finds more than {MAX_ORDERS:,} orders; narrow it.",
            code="too_many_orders",
            fields={"filter": f"At most {MAX_ORDERS:,} orders."},
        )
    return found


def bulk_action_build(
    *,
    name: str,
    options: dict[str, Any],
    shipments: dict[int, dict[str, Any]] | None = None,
    dry_run: bool = False,
) -> BulkAction:
    """Check the options of an action (each bad one named) and return the action."""
    errors: dict[str, str] = {}
    options = {k: v for k, v in options.items() if v is not None}
    if name not in ACTIONS:
        errors["action"] = f"One of {', '.join(ACTIONS)}."
    elif name == "hold" and options.get("reason") not in HOLDABLE:
        errors["reason"] = f"One of {', '.join(sorted(HOLDABLE))}."
    elif name == "set-status":
        options["status"] = _status_id(options.get("status"), errors)
    elif name == "print" and options.get("document", "packing_slip") not in DOCUMENTS:
        errors["document"] = f"One of {', '.join(DOCUMENTS)}."
    elif name == "fulfill":
        _fulfill_check(options, shipments or {}, errors)
    if errors:
        raise ValidationError("The bulk action is not valid.", code="invalid", fields=errors)
    return BulkAction(name=name, options=options, shipments=shipments or {}, dry_run=dry_run)


def _status_id(raw: Any, errors: dict[str, str]) -> int:
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        value = int(raw)
    else:
        value = STATUS_BY_NAME[raw].value if raw in STATUS_BY_NAME else -1
    if value not in STATUS_NAMES:
        errors["status"] = f"Unknown status {raw!r}."
    return value


def _fulfill_check(
    options: dict[str, Any], shipments: dict[int, dict[str, Any]], errors: dict[str, str]
) -> None:
    """A carrier named for all orders must exist: otherwise every order would be skipped."""
    from colis.shipping.selectors import carrier_find

    unknown = [k for k in (*options, *(k for s in shipments.values() for k in s))
               if k not in SHIPMENT_FIELDS]  # fmt: skip
    if unknown:
        errors[unknown[0]] = "Not a shipment field."
    carrier = options.get("carrier")
    if carrier and carrier_find(value=carrier) is None:
        errors["carrier"] = f"Unknown carrier {carrier!r}."
