"""The gateway's Prometheus metrics: every one is defined here, in `GatewayMetrics`, and named
`gateway_…`. Each runtime has its own (`runtime.metrics`, in a registry of its own), so several
apps in one process never mix their counts. To count something new (the rate limiter's refusals,
say), add it to `GatewayMetrics` and count through `runtime.metrics`; a refusal answered as a
problem document is already counted by its type in `gateway_problems_total`.

Counters are counted as requests are answered. What the database knows (ledger, inbox, overdue
cases) is read only when /metrics is scraped (gateway.services.operations, a few aggregate queries
answered from indexes, under a timeout: gateway.ops.listener), so that its cost depends on the
scrape interval, not on the traffic; `ScrapedFigures` turns one scrape's reading into gauges.

No label holds personal data: route templates (never a raw path), problem types, institution and
unit ids, certificate fingerprints and key ids.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.services.operations import Counts, Figures

if TYPE_CHECKING:
    from gateway.runtime import Runtime

UNMATCHED = "unmatched"  # the route label of a request no route serves (or refused before routing)
SIGNATURE_PROBLEM = "signature-"
# From 5 ms (a read from memory) to 30 s (a large document over a slow line).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class SeenCertificate:
    institution: str
    unit: str
    not_after: datetime


class GatewayMetrics:
    """What this process counts, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter("gateway_http_requests_total", "Requests answered, by route template, method and status.",
                                ["route", "method", "status"], registry=registry)
        self.latency = Histogram("gateway_http_request_duration_seconds", "Time to answer a request, its body included, by route template.",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        self.problems = Counter("gateway_problems_total", "Problem documents answered, by problem type (slug), the edge's included.",
                                ["type"], registry=registry)
        self.signature_failures = Counter("gateway_signature_failures_total",
                                          "Writes refused for their request signature, by reason (the signature-* problem type).",
                                          ["reason"], registry=registry)
        self.idempotency_in_flight = Gauge("gateway_idempotency_keys_in_flight",
                                           "Writes with an Idempotency-Key whose transaction is running in this process.", registry=registry)
        self._certificates: dict[str, SeenCertificate] = {}  # by SHA-256 fingerprint
        self._lock = threading.Lock()
        # The labelled children of each (route, method, status) answered: `labels()` validates and
        # locks on every call, and every request counts. As many as the labels' values, no more.
        self._answers: dict[tuple[str | None, str, int], tuple[Counter, Histogram]] = {}

    def answered(self, route: str | None, method: str, status: int, seconds: float) -> None:
        children = self._answers.get((route, method, status))
        if children is None:
            label = route or UNMATCHED
            children = self._answers[(route, method, status)] = (self.requests.labels(label, method, str(status)),
                                                                 self.latency.labels(label, method))
        requests, latency = children
        requests.inc()
        latency.observe(seconds)

    def problem(self, slug: str) -> None:
        self.problems.labels(slug).inc()
        if slug.startswith(SIGNATURE_PROBLEM):
            self.signature_failures.labels(slug.removeprefix(SIGNATURE_PROBLEM)).inc()

    def certificate_seen(self, fingerprint: str, institution: str, unit: str, not_after: datetime) -> None:
        """A registered unit presented this certificate: its expiry is reported from now on."""
        if fingerprint not in self._certificates:
            with self._lock:
                self._certificates[fingerprint] = SeenCertificate(institution, unit, not_after)

    def seen_certificates(self) -> list[tuple[str, SeenCertificate]]:
        with self._lock:
            return sorted(self._certificates.items())


def days_until(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds() / SECONDS_PER_DAY


def certificate_expiry(path: Path) -> datetime | None:
    """When the PEM certificate at `path` expires; None if there is none to read (behind a proxy)."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
    except (OSError, ValueError):
        return None


class ScrapedFigures(Collector):
    """The gauges of one scrape: the database's figures (None when it did not answer in time:
    `gateway_database_up` is 0 and they are left out), the pool, and what expires when."""

    def __init__(self, runtime: Runtime, figures: Figures | None, server_expiry: datetime | None) -> None:
        self.runtime, self.figures, self.server_expiry = runtime, figures, server_expiry

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        yield GaugeMetricFamily("gateway_database_up", "Whether the database answered this scrape's queries in time.",
                                int(self.figures is not None))
        if self.figures is not None:
            yield from self._database(self.figures, now)
        yield from self._pool()
        yield from self._expiries(now)

    @staticmethod
    def _database(figures: Figures, now: datetime) -> Iterator[Metric]:
        yield GaugeMetricFamily("gateway_ledger_entries", "Entries in the ledger (the size of its latest checkpoint).", figures.ledger_size)
        if figures.checkpoint_at is not None:
            yield GaugeMetricFamily("gateway_ledger_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed.",
                                    (now - figures.checkpoint_at).total_seconds())
        yield _by_unit("gateway_inbox_unacknowledged_events", "Inbox events not acknowledged yet, by recipient institution and unit.",
                       figures.unacknowledged)
        yield _by_unit("gateway_cases_overdue", "Cases past their reply deadline, by the respondent institution and unit holding them.",
                       figures.overdue_cases)

    def _pool(self) -> Iterator[Metric]:
        pool = self.runtime.database.engine.pool
        if hasattr(pool, "checkedout") and hasattr(pool, "size"):
            yield GaugeMetricFamily("gateway_database_pool_checked_out", "Database connections in use by this process.", pool.checkedout())
            yield GaugeMetricFamily("gateway_database_pool_size", "Database connections this process keeps, at most, besides overflow.",
                                    pool.size())

    def _expiries(self, now: datetime) -> Iterator[Metric]:
        if self.server_expiry is not None:
            yield GaugeMetricFamily("gateway_server_certificate_expiry_days", "Days until the server certificate this process serves expires.",
                                    days_until(self.server_expiry, now))
        clients = GaugeMetricFamily("gateway_client_certificate_expiry_days",
                                    "Days until a client certificate expires, for each one a registered unit presented to this process.",
                                    labels=["institution", "unit", "sha256"])
        for fingerprint, seen in self.runtime.metrics.seen_certificates():
            clients.add_metric([seen.institution, seen.unit, fingerprint], days_until(seen.not_after, now))
        yield clients
        keys = GaugeMetricFamily("gateway_signing_key_expiry_days",
                                 "Days until a registered request-signing key's not_after (keys without one, and revoked keys, are left out).",
                                 labels=["institution", "unit", "kid"])
        for institution in self.runtime.registry.institutions:
            for unit in institution.all_units():
                for key in unit.signing_keys:
                    if key.not_after is not None and not key.revoked:
                        keys.add_metric([institution.id, unit.id, key.kid], days_until(key.not_after, now))
        yield keys


def _by_unit(name: str, documentation: str, counts: Counts) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["institution", "unit"])
    for (institution, unit), count in sorted(counts.items()):
        family.add_metric([institution, unit], count)
    return family
