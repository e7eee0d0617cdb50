"""What the daemon exposes at /metrics (Prometheus text format)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The daemon's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "cds_crawler_polls",
            "Polls of metadata URLs, by what they changed.",
            ["change"],
            registry=self.registry,
        )
        self.fetches = Counter(
            "cds_crawler_fetches",
            "Fetches of metadata URLs (retries included), by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "cds_crawler_fetch_seconds",
            "Duration of fetches of metadata URLs.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.requests = Counter(
            "cds_crawler_requests",
            "HTTP requests made, linked resources included.",
            registry=self.registry,
        )
        self.frontier_targets = Gauge(
            "cds_crawler_frontier_targets", "Targets on the schedule.", registry=self.registry
        )
        self.frontier_due = Gauge(
            "cds_crawler_frontier_due", "Targets due now.", registry=self.registry
        )
        self.frontier_lag = Gauge(
            "cds_crawler_frontier_lag_seconds",
            "How long the most overdue target has been due.",
            registry=self.registry,
        )
        self.leases_held = Gauge(
            "cds_crawler_leases_held", "Hosts this worker holds leases on.", registry=self.registry
        )
        self.shared_host_waits_exceeded = Counter(
            "cds_crawler_shared_host_waits_exceeded",
            "Requests to a host another worker held for too long, made under this worker's "
            "limits only.",
            registry=self.registry,
        )
        self.leased_hosts = Gauge(
            "cds_crawler_leased_hosts", "Hosts any worker holds leases on.", registry=self.registry
        )
        self.events_pending = Gauge(
            "cds_crawler_events_pending",
            "Events not yet delivered, per sink.",
            ["sink"],
            registry=self.registry,
        )
