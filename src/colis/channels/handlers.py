"""Outbox handlers of the channels: pushes and refunds to the vendors."""

from __future__ import annotations

from colis.channels.pushing import channel_push_deliver, channel_pushes_prepare
from colis.channels.refunds import channel_refund_deliver, channel_refunds_prepare
from colis.core.outbox import outbox_handler

# Parallel: pushes of one order stay in order on one lane, and a push cut off by a crash asks
# the vendor what it has before sending again, so several in flight cannot double one.
outbox_handler("channel_push", prepare=channel_pushes_prepare, parallel=True)(channel_push_deliver)
# Refunds of one order share a lane too (vendors take one refund of an order at a time).
outbox_handler("channel_refund", prepare=channel_refunds_prepare, parallel=True)(
    channel_refund_deliver
)
