"""A raw HTTP/2 client over mutual TLS, for what a gRPC library will not do: open streams that
send request headers and never a body, past the server's advertised stream limit.

Adapted from tests/integration/raw_h2.py (bench does not import from tests): a flood keeps a
connection for as long as it runs, so ended streams are handed out once (``harvest``) and
forgotten, and a connection the server closes says so (``alive``).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import h2.exceptions

from gateway.client import TlsIdentity

REFUSED_STREAM, CANCEL = 0x7, 0x8


class _Unruly(h2.connection.H2Connection):
    """Opens streams past the server's advertised limit, as a hostile client does."""

    open_outbound_streams = 0


@dataclass
class Outcome:
    status: int | None = None  # grpc-status from the trailers (or trailers-only headers)
    reset: int | None = None  # the RST_STREAM error code, when the server reset the stream

    @property
    def done(self) -> bool:
        return self.status is not None or self.reset is not None

    @property
    def kind(self) -> str:
        """ "status N", "reset N", or "lost" (the connection ended first)."""
        if self.status is not None:
            return f"status {self.status}"
        if self.reset is not None:
            return f"reset {self.reset}"
        return "lost"


class RawConnection:
    def __init__(self, host: str, port: int, identity: TlsIdentity) -> None:
        self.host, self.port = host, port
        context = ssl.create_default_context(cafile=str(identity.ca))
        context.load_cert_chain(str(identity.cert), str(identity.key))
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection((host, port), timeout=10)
        self._sock = context.wrap_socket(raw, server_hostname=host)
        self._sock.settimeout(None)
        self._h2 = _Unruly(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self._lock = threading.Lock()
        self._open: dict[int, Outcome] = {}
        self._ended: list[Outcome] = []
        self._closed = threading.Event()
        self._h2.initiate_connection()
        self._flush()
        threading.Thread(target=self._read, daemon=True, name="raw-h2").start()

    @property
    def alive(self) -> bool:
        return not self._closed.is_set()

    @property
    def streams(self) -> int:
        """Streams opened and not ended yet."""
        with self._lock:
            return len(self._open)

    def open(self, path: str, timeout: str = "3600S") -> None:
        """A stream calling ``path`` that sends its request headers and never a body."""
        with self._lock:
            sid = self._h2.get_next_available_stream_id()
            self._open[sid] = Outcome()
            self._h2.send_headers(
                sid,
                [
                    (":method", "POST"),
                    (":scheme", "https"),
                    (":path", path),
                    (":authority", f"{self.host}:{self.port}"),
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                    ("grpc-timeout", timeout),
                ],
            )
            self._flush()

    def harvest(self) -> list[Outcome]:
        """The streams that ended since the last call (all of them once the connection died)."""
        with self._lock:
            ended, self._ended = self._ended, []
            if self._closed.is_set():
                ended.extend(self._open.values())
                self._open.clear()
            return ended

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _flush(self) -> None:
        try:
            self._sock.sendall(self._h2.data_to_send())
        except OSError:
            self._closed.set()

    def _read(self) -> None:
        try:
            while not self._closed.is_set():
                try:
                    data = self._sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    try:
                        events = self._h2.receive_data(data)
                    except h2.exceptions.ProtocolError:
                        return
                    for event in events:
                        self._on(event)
                    self._flush()
        finally:
            self._closed.set()

    def _on(self, event: h2.events.Event) -> None:
        sid = getattr(event, "stream_id", None) or 0
        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or []}
            outcome = self._open.get(sid)
            if outcome is not None and "grpc-status" in headers:
                outcome.status = int(headers["grpc-status"])
                self._ended.append(self._open.pop(sid))
        elif isinstance(event, h2.events.StreamReset):
            outcome = self._open.get(sid)
            if outcome is not None:
                outcome.reset = int(event.error_code or 0)
                self._ended.append(self._open.pop(sid))
        elif isinstance(event, h2.events.DataReceived):
            self._h2.acknowledge_received_data(event.flow_controlled_length or 0, sid)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._closed.set()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
