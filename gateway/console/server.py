"""The console over HTTPS: cheroot, with TLS that requires a client certificate issued by the
home CA (the same PKI as the gRPC API), so nothing of the console answers anyone without one."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from flask import Flask

#: Handler threads: the console is for a few people at once, each page a few gRPC calls.
THREADS = 16

log = logging.getLogger(__name__)


class _Server(wsgi.Server):
    """cheroot's server, its messages in the gateway's log (a browser without a certificate,
    refused at the handshake, is an INFO line there, not text on stderr)."""

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        log.log(logging.ERROR if traceback else level, "console: %s", msg, exc_info=traceback)


def tls_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(cafile=client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class ConsoleServer:
    """Serves ``app`` on ``listen`` (host:port; port 0 picks a free port) in its own threads."""

    def __init__(
        self,
        app: Flask,
        listen: str,
        cert: Path,
        key: Path,
        client_ca: Path,
        closing: Callable[[], None] | None = None,
    ) -> None:
        #: Called once the server has stopped (the console's channel to the gateway).
        self._closing = closing
        host, _, port = listen.rpartition(":")
        self._server = _Server(
            (host.strip("[]"), int(port)), app, numthreads=THREADS, server_name="aeo-console"
        )
        adapter = BuiltinSSLAdapter(str(cert), str(key))
        adapter.context = tls_context(cert, key, client_ca)
        self._server.ssl_adapter = adapter
        self._server.prepare()  # binds now: a taken port fails here, in the caller
        self._thread = threading.Thread(target=self._server.serve, name="console", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=5)
        if self._closing is not None:
            self._closing()
