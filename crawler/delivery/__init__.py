"""Delivering change events from the outbox to the configured sinks, at least once."""
