"""Liveness and readiness kept apart, against a real PostgreSQL: reached through a TCP proxy the
test controls, and cut; and held in its migration lock while the gateway starts."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.store.dialects import MIGRATION_LOCK_KEY
from gateway.bootstrap import SERVICE_NAMES, Gateway, build
from tests.conftest import Live, Workspace

pytestmark = pytest.mark.postgres

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Proxy:
    """Forwards TCP connections to ``target`` until cut: then every open connection is closed
    and new ones are closed as soon as they are accepted, until restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = True
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._open:
                    conn.close()
                    continue
                upstream = socket.create_connection(self._target)
                self._sockets += [conn, upstream]
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self._open = False
            cut, self._sockets = self._sockets, []
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


@pytest.fixture
def proxied_url(postgres_url: str) -> Iterator[tuple[str, Proxy]]:
    parts = urlsplit(postgres_url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), proxy
    proxy.close()


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def eventually(what: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def health(live: Live, service: str) -> int:
    with live.channel("domestic") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        return int(answer.status)


def test_readiness_and_grpc_health_follow_the_store(
    start_gateway: Callable[..., Live], proxied_url: tuple[str, Proxy]
) -> None:
    """A gateway on PostgreSQL through a proxy; the proxy is cut, then restored. Result: while
    cut, /readyz answers 503 with one line "not ready: store unreachable: ..." and every
    gateway service is NOT_SERVING in gRPC health, while /healthz answers 200 and health's ""
    (liveness) stays SERVING; once restored, /readyz is 200 and every service SERVING."""
    url, proxy = proxied_url
    live = start_gateway(database_url=url)
    port = live.gateway.metrics_port
    assert get(port, "/readyz") == (200, "ready\n")
    assert health(live, SERVICE_NAMES[0]) == SERVING

    proxy.cut()
    eventually(lambda: get(port, "/readyz")[0] == 503)
    status, body = get(port, "/readyz")
    assert status == 503
    assert body.startswith("not ready: store unreachable: ")
    assert body.count("\n") == 1
    assert get(port, "/healthz") == (200, "ok\n")
    assert health(live, "") == SERVING
    for name in SERVICE_NAMES:
        assert health(live, name) == NOT_SERVING
    assert get(port, "/metrics")[0] == 200  # a scrape still answers: store_up 0

    proxy.restore()
    eventually(lambda: get(port, "/readyz") == (200, "ready\n"))
    for name in SERVICE_NAMES:
        assert health(live, name) == SERVING


def test_not_ready_while_migrations_wait_for_their_lock(
    workspace: Workspace, postgres_url: str
) -> None:
    """Another session holds PostgreSQL's migration lock while the gateway starts. Result:
    /readyz answers 503 "not ready: starting: applying database migrations" and /healthz 200
    while the gateway waits; once the lock is released, the gateway starts and /readyz is 200."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    settings = workspace.settings(
        database_url=postgres_url, metrics_listen=f"127.0.0.1:{port}", outbound_enabled=False
    )
    started: list[Gateway] = []
    with psycopg.connect(postgres_url) as holder:
        holder.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        starting = threading.Thread(target=lambda: started.append(build(settings)))
        starting.start()
        try:
            eventually(lambda: _answers(port))
            assert get(port, "/readyz") == (
                503,
                "not ready: starting: applying database migrations\n",
            )
            assert get(port, "/healthz") == (200, "ok\n")
            assert not started
        finally:
            holder.rollback()  # releases the lock: the gateway migrates and starts
        starting.join(timeout=60)
    try:
        assert started
        assert get(port, "/readyz") == (200, "ready\n")
    finally:
        for gateway in started:
            gateway.stop(grace=0)


def _answers(port: int) -> bool:
    try:
        get(port, "/healthz")
    except OSError:
        return False
    return True
