"""Outbox handlers of the channels: pushes to the vendors."""
