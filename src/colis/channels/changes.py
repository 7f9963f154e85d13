"""Changes made on the channel to orders already imported: cancelled there, address edited
before shipping, shipped from the marketplace itself."""

from __future__ import annotations

import logging

from django.utils import timezone

from colis.channels.connectors.base import ChannelOrder
from colis.channels.models import Channel
from colis.channels.models import ChannelOrder as ChannelOrderRow
from colis.channels.records import order_from_data, order_to_data
from colis.core.actor import Actor
from colis.core.errors import Conflict, DomainError
from colis.core.timeline import event_record

logger = logging.getLogger(__name__)


def channel_changes_apply(
    channel: Channel, record: ChannelOrderRow, order: ChannelOrder, actor: Actor
) -> bool:
    """Bring one imported order in line with the channel. True when something changed."""
    from colis.orders.models import Order
    from colis.orders.services import order_cancel, order_shipping_address_set
    from colis.orders.status import OrderStatus

    before = order_from_data(record.data) if record.data else None
    ours = Order.objects.filter(pk=record.order_id).first()
    record.data = order_to_data(order)
    if ours is not None and ours.redacted_at is not None:
        from colis.orders.redaction import channel_data_redact

        # The buyer's data of this order is gone here: it stays gone from its record too.
        record.data = channel_data_redact(record.data)
    record.vendor_updated_at = order.updated_at
    record.checked_at = timezone.now()
    record.save(update_fields=["data", "vendor_updated_at", "checked_at"])
    if ours is None:
        return False
    did = False
    if order.state == "cancelled" and ours.status != OrderStatus.CANCELLED:
        try:
            order_cancel(order_id=ours.pk, reason=f"Cancelled on {channel.name}", actor=actor)
            did = True
        except Conflict as exc:
            event_record(
                subject_type="order",
                subject_id=ours.pk,
                order_id=ours.pk,
                kind="channel_cancel_refused",
                actor=actor,
                data={"channel": channel.name, "reason": exc.message},
            )
        return did
    if (
        before is not None
        and ours.redacted_at is None
        and order.shipping_address != before.shipping_address
    ):
        try:
            order_shipping_address_set(
                order_id=ours.pk, address=order.shipping_address, actor=actor
            )
            did = True
        except DomainError as exc:
            event_record(
                subject_type="order",
                subject_id=ours.pk,
                order_id=ours.pk,
                kind="channel_address_refused",
                actor=actor,
                data={"channel": channel.name, "reason": exc.message, "fields": exc.fields},
            )
    if order.shipments:
        did = _shipped_elsewhere(channel, ours.pk, order, actor) or did
    return did


def carrier_from_channel(key: str, vendor_name: str) -> tuple[str, str]:
    """Our registry code for a carrier as a channel names it (by its channel code or name),
    else "other" with the name."""
    from colis.shipping.models import Carrier

    wanted = vendor_name.strip().lower()
    for code, name, codes in Carrier.objects.filter(active=True).values_list(
        "code", "name", "channel_codes"
    ):
        if wanted and wanted in {str((codes or {}).get(key, "")).lower(), name.lower(), code}:
            return code, name
    return "other", vendor_name.strip()[:100] or "Other"


def _shipped_elsewhere(channel: Channel, order_id: int, order: ChannelOrder, actor: Actor) -> bool:
    """Shipments made on the channel itself become shipments here (without telling the buyer
    again, and without pushing them back)."""
    from colis.channels.connectors import connector_class
    from colis.fulfillment.models import FulfillmentOrder, Shipment
    from colis.fulfillment.shipments import ShipmentDraft, shipment_create
    from colis.fulfillment.status import LIVE_FO

    known = {
        n.upper()
        for numbers in Shipment.objects.filter(order_id=order_id).values_list(
            "tracking_numbers", flat=True
        )
        for n in numbers or []
    }
    key = connector_class(channel.kind).carrier_key
    did = False
    for ship in order.shipments:
        if not ship.tracking_number or ship.tracking_number.upper() in known:
            continue
        code, name = carrier_from_channel(key, ship.carrier)
        for fo_id in FulfillmentOrder.objects.filter(order_id=order_id, status__in=LIVE_FO) \
                .order_by("id").values_list("id", flat=True):  # fmt: skip
            try:
                shipment_create(
                    order_id=order_id,
                    draft=ShipmentDraft(
                        fulfillment_order_id=fo_id,
                        carrier=code,
                        carrier_name=name if code == "other" else "",
                        tracking_numbers=[ship.tracking_number],
                        notify_customer=False,
                        force=True,
                        notes=f"Shipped on {channel.name}",
                    ),
                    actor=actor,
                )
                did = True
            except DomainError as exc:
                logger.info("order %s: shipment from %s not recorded: %s", order_id,
                            channel.name, exc.message)  # fmt: skip
            break
    return did
