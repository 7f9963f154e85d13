"""Outbox handlers of the channels: pushes to the vendors."""

from __future__ import annotations

from colis.channels.pushing import channel_push_deliver
from colis.core.outbox import outbox_handler

outbox_handler("channel_push")(channel_push_deliver)
