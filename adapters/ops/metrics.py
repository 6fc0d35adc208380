"""The gateway's Prometheus metrics, in a registry of its own (several gateways in one process,
as in the tests, do not share series).

Counted where things end, never inside the domain: calls in the interceptor (``call_ended``),
partners' messages at the submit use case's result (``message_in``), deliveries where their
result is written (``ObservedSqlOutbound``). Read at scrape time (``StateCollector``): outbox
backlog and oldest unsettled age, partner staleness, credential expiry, readiness.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from adapters.ops import expiry
from adapters.store.database import Database
from adapters.store.operations import SqlOperations
from adapters.store.outbound import SqlOutbound
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.outbound import SettledReceipt

log = logging.getLogger(__name__)

#: Refusals of a partner's message that are failed signature checks (key, algorithm, value).
VERIFICATION_IN = "signature."
#: Failed deliveries whose receipt did not verify (unknown key, bad signature, other message).
VERIFICATION_OUT = "receipt."
#: Seconds the credential inventory read at a scrape is reused (it reads certificate files).
INVENTORY_TTL = 60.0

SETTLED = "settled"
FAILED = "failed"
DEAD = "dead"


class GatewayMetrics:
    """Counters and the latency histogram; the CallObserver and MessageObserver ports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._in = Counter(
            "aeo_gateway_messages_in",
            "Partners' status messages by outcome: accepted, duplicate, or refused with the "
            "refusal's stable reason.",
            ["partner", "outcome", "reason"],
            registry=self.registry,
        )
        self._out = Counter(
            "aeo_gateway_messages_out",
            "Delivery attempts of outbound messages to partners by outcome: settled, failed "
            "with the attempt's reason, or dead (dead-lettered).",
            ["partner", "outcome", "reason"],
            registry=self.registry,
        )
        self._verification = Counter(
            "aeo_gateway_verification_failures",
            "Signatures that did not verify: direction in (a partner's message) or out (a "
            "partner's receipt), by reason.",
            ["direction", "partner", "reason"],
            registry=self.registry,
        )
        self._calls = Histogram(
            "aeo_gateway_rpc_duration_seconds",
            "Duration of gRPC calls by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )

    def call_ended(self, method: str, code: str, seconds: float) -> None:
        self._calls.labels(method.lstrip("/"), code).observe(seconds)

    def message_in(self, partner: str, outcome: str, reason: str) -> None:
        self._in.labels(partner, outcome, reason).inc()
        if reason.startswith(VERIFICATION_IN):
            self._verification.labels("in", partner, reason).inc()

    def message_out(self, partner: str, outcome: str, reason: str) -> None:
        self._out.labels(partner, outcome, reason).inc()
        if reason.startswith(VERIFICATION_OUT):
            self._verification.labels("out", partner, reason).inc()


class ObservedSqlOutbound(SqlOutbound):
    """The outbound store, telling ``metrics`` each delivery result it records."""

    def __init__(self, db: Database, metrics: GatewayMetrics) -> None:
        super().__init__(db)
        self._metrics = metrics

    def settle(
        self, partner: str, sequence: int, digest: bytes, receipt: SettledReceipt, at: datetime
    ) -> bool:
        written = super().settle(partner, sequence, digest, receipt, at)
        if written:
            self._metrics.message_out(partner, SETTLED, "")
        return written

    def failed(
        self, partner: str, sequence: int, digest: bytes, error: str, next_attempt_at: datetime
    ) -> bool:
        written = super().failed(partner, sequence, digest, error, next_attempt_at)
        if written:
            self._metrics.message_out(partner, FAILED, error)
        return written

    def dead_letter(self, partner: str, sequence: int, at: datetime) -> None:
        super().dead_letter(partner, sequence, at)
        self._metrics.message_out(partner, DEAD, "")


class StateCollector:
    """Gauges read when Prometheus scrapes: a few grouped statements on the store, the
    credential inventory (cached for INVENTORY_TTL), readiness."""

    def __init__(
        self,
        directory: Callable[[], Directory],
        store: SqlOperations,
        files: expiry.OwnFiles,
        now: Callable[[], datetime],
        ready: Callable[[], bool],
    ) -> None:
        self._directory = directory
        self._store = store
        self._files = files
        self._now = now
        self._ready = ready
        self._lock = threading.Lock()
        self._inventory: tuple[int, float, list[expiry.Credential]] = (-1, 0.0, [])

    def _credentials(self, snapshot: Directory) -> list[expiry.Credential]:
        with self._lock:
            version, read_at, found = self._inventory
            if version != snapshot.version or time.monotonic() - read_at > INVENTORY_TTL:
                found = expiry.inventory(self._files, snapshot)
                self._inventory = (snapshot.version, time.monotonic(), found)
            return found

    def collect(self) -> Iterable[Metric]:
        snapshot = self._directory()
        now = self._now()
        ready = GaugeMetricFamily(
            "aeo_gateway_ready", "1 when the gateway is ready (migrated, store answering)."
        )
        ready.add_metric([], 1.0 if self._ready() else 0.0)
        yield ready

        expires = GaugeMetricFamily(
            "aeo_gateway_credential_expiry_seconds",
            "Seconds until a certificate or signing key ends (negative: ended).",
            labels=["kind", "partner", "name"],
        )
        for c in self._credentials(snapshot):
            expires.add_metric([c.kind, c.partner, c.name], c.seconds_left(now))
        yield expires

        store_up = GaugeMetricFamily(
            "aeo_gateway_store_up", "1 when the store answered this scrape's reads."
        )
        try:
            backlog = self._store.outbox_backlog()
            last = self._store.last_received()
        except GatewayError as exc:
            log.debug("scrape: store unavailable: %s", exc.message)
            store_up.add_metric([], 0.0)
            yield store_up
            return
        store_up.add_metric([], 1.0)
        yield store_up

        size = GaugeMetricFamily(
            "aeo_gateway_outbox_backlog",
            "Home AEO changes queued for a partner and not yet settled.",
            labels=["partner"],
        )
        oldest = GaugeMetricFamily(
            "aeo_gateway_outbox_oldest_age_seconds",
            "Age of the oldest home AEO change queued for a partner and not yet settled.",
            labels=["partner"],
        )
        dead = GaugeMetricFamily(
            "aeo_gateway_outbox_dead_letters",
            "Outbound messages dead-lettered for a partner (until re-driven).",
            labels=["partner"],
        )
        for code in sorted(snapshot.partners):
            count, first, letters = backlog.get(code, (0, None, 0))
            size.add_metric([code], float(count))
            oldest.add_metric([code], (now - first).total_seconds() if first else 0.0)
            dead.add_metric([code], float(letters))
        yield size
        yield oldest
        yield dead

        since = GaugeMetricFamily(
            "aeo_gateway_partner_last_message_age_seconds",
            "Seconds since a partner's last message arrived (absent: never).",
            labels=["partner"],
        )
        stale = GaugeMetricFamily(
            "aeo_gateway_partner_stale",
            "1 when a partner has been silent longer than its freshness policy allows (or was "
            "never heard from); 0 otherwise, and for partners without a policy.",
            labels=["partner"],
        )
        for code in sorted(snapshot.partners):
            at = last.get(code)
            if at is not None:
                since.add_metric([code], (now - at).total_seconds())
            fresh = snapshot.partners[code].freshness
            stale.add_metric([code], 1.0 if fresh is not None and fresh.stale(at, now) else 0.0)
        yield since
        yield stale
