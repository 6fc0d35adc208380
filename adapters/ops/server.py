"""The operations side of a running gateway: a plain HTTP server (metrics_listen) answering
GET /metrics (Prometheus text format), /healthz (liveness) and /readyz (readiness), and a
watcher thread that probes the store and logs credentials about to expire.

Liveness and readiness are kept apart. /healthz answers 200 while the process serves. /readyz
answers 200 only once migrations are done and while the store answers; otherwise 503 with a
one-line reason. The same readiness drives gRPC health: each gateway service is NOT_SERVING
while the store does not answer (the "" entry, liveness, stays SERVING).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.ops import expiry
from adapters.ops.metrics import GatewayMetrics, StateCollector
from adapters.store.operations import SqlOperations
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError

log = logging.getLogger(__name__)

#: Seconds between store probes (a /readyz request probes at once too).
PROBE_SECONDS = 2.0
#: Seconds between the expiry warnings in the log.
EXPIRY_LOG_SECONDS = 86_400.0

STARTING = "starting: applying database migrations"
STOPPING = "shutting down"


class Readiness:
    """Whether the gateway is ready, and if not, why (one line)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = STARTING

    def set(self, reason: str | None) -> bool:
        """Not ready for ``reason`` (None: ready). Returns whether that changed anything."""
        with self._lock:
            changed = reason != self._reason and self._reason != STOPPING
            if changed:
                self._reason = reason
            return changed

    @property
    def reason(self) -> str | None:
        with self._lock:
            return self._reason

    def ready(self) -> bool:
        return self.reason is None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        ops = self.server.operations
        if path == "/metrics":
            try:
                body = generate_latest(ops.metrics.registry)
            except Exception:
                log.exception("scrape failed")
                self._answer(500, b"scrape failed: see the gateway's log\n")
                return
            self._answer(200, body, CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._answer(200, b"ok\n")
        elif path == "/readyz":
            reason = ops.check()
            if reason is None:
                self._answer(200, b"ready\n")
            else:
                self._answer(503, f"not ready: {reason}\n".encode())
        else:
            self._answer(404, b"not found: try /metrics, /healthz or /readyz\n")

    def _answer(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes and probes every few seconds: not worth a log line each


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    operations: Operations


class _Server6(_Server):
    address_family = socket.AF_INET6


class Operations:
    """Started by the composition root before the store is migrated (readiness says so), told
    when the gateway serves (``serving``), stopped with it."""

    def __init__(self, listen: str, metrics: GatewayMetrics | None = None) -> None:
        self.metrics = metrics or GatewayMetrics()
        self.readiness = Readiness()
        self._http: _Server | None = None
        self._http_thread: threading.Thread | None = None
        self._store: SqlOperations | None = None
        self._health: Callable[[bool], None] = lambda serving: None
        self._credentials: Callable[[], list[expiry.Credential]] = list
        self._now: Callable[[], datetime] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._probe_lock = threading.Lock()
        self.port = 0
        self._listen = listen
        if listen:
            host, _, port = listen.rpartition(":")
            server = _Server6 if ":" in host else _Server
            self._http = server((host.strip("[]"), int(port)), _Handler)
            self._http.operations = self
            self.port = self._http.server_address[1]
            self._http_thread = threading.Thread(
                target=self._http.serve_forever, name="ops-http", daemon=True
            )
            self._http_thread.start()

    def serving(
        self,
        store: SqlOperations,
        directory: Callable[[], Directory],
        files: expiry.OwnFiles,
        now: Callable[[], datetime],
        health: Callable[[bool], None],
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        """The gateway serves: metrics read the store, the store is probed, expiring
        credentials are logged now and daily."""
        if self._http is not None:
            host = self._listen.rpartition(":")[0]
            log.info("operations on http://%s:%d: /metrics /healthz /readyz", host, self.port)
        self._store = store
        self._health = health
        self._now = now
        self.metrics.registry.register(
            StateCollector(directory, store, files, now, self.readiness.ready)
        )
        self._credentials = lambda: expiry.inventory(files, directory())
        self.check()
        self.log_expiring()
        self._watcher = threading.Thread(
            target=self._watch, args=(probe_seconds,), name="ops-watch", daemon=True
        )
        self._watcher.start()

    def check(self) -> str | None:
        """Probes the store (unless still starting or stopping); returns why the gateway is
        not ready, or None. Flips gRPC health on a change."""
        with self._probe_lock:
            store = self._store
            if store is None or self.readiness.reason == STOPPING:
                return self.readiness.reason
            try:
                store.probe()
                reason = None
            except GatewayError as exc:
                cause = " ".join(str(exc.__cause__ or exc.message).split())[:200]
                reason = f"store unreachable: {cause}"
            was = self.readiness.reason
            if self.readiness.set(reason):
                if reason is None:
                    log.info("ready" if was == STARTING else "store answers again: ready")
                else:
                    log.warning("not ready: %s", reason)
                self._health(reason is None)
            return reason

    def _watch(self, probe_seconds: float) -> None:
        last_expiry_log = time.monotonic()  # serving() logged them
        while not self._stop.is_set():
            if time.monotonic() - last_expiry_log >= EXPIRY_LOG_SECONDS:
                last_expiry_log = time.monotonic()
                self.log_expiring()
            self.check()
            self._stop.wait(probe_seconds)

    def log_expiring(self) -> int:
        """Logs a WARNING for each credential ending within 30 days; returns how many."""
        if self._now is None:
            return 0
        try:
            return expiry.log_expiring(self._credentials(), self._now())
        except Exception:  # the log is best effort: doctor says what is wrong with a file
            log.warning("cannot read the credential inventory", exc_info=True)
            return 0

    def draining(self) -> None:
        """Shutdown began: not ready any more."""
        self.readiness.set(STOPPING)

    def stop(self) -> None:
        self.draining()
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
