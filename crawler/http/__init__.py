"""Outbound HTTP: the network guard, the one client factory, politeness and the fetcher."""
