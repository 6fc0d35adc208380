"""A raw HTTP/2 client over mutual TLS, for what a gRPC library will not do: open streams that
send request headers and never a body, past the server's advertised stream limit, or bytes that
are no protobuf. Used by the hostile-neighbour flood and by the tests of issue 6.

Each stream's Outcome (its grpc-status and ErrorInfo reason, or how the server reset it) is
returned by ``open`` for a caller that watches it; a flood, which keeps a connection for as long
as it runs, takes ended streams once with ``harvest`` and the connection forgets them.
"""

from __future__ import annotations

import base64
import contextlib
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from google.rpc import error_details_pb2, status_pb2

from gateway.client import TlsIdentity

REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0x7, 0x8, 0xB
#: How a gRPC server's transport refuses a stream it will not serve: past the advertised stream
#: limit (REFUSED_STREAM), or, from a client that keeps opening streams it must refuse,
#: ENHANCE_YOUR_CALM (RFC 9113 section 7).
TRANSPORT_REFUSALS = frozenset({REFUSED_STREAM, ENHANCE_YOUR_CALM})


class _Unruly(h2.connection.H2Connection):
    """Opens streams past the server's advertised limit, as a hostile client does."""

    open_outbound_streams = 0


@dataclass
class Outcome:
    status: int | None = None  # grpc-status from the trailers (or trailers-only headers)
    reset: int | None = None  # the RST_STREAM error code, when the server reset the stream
    reason: str = ""  # the ErrorInfo reason of a failed status

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
        self._sock.sendall(self._h2.data_to_send())
        # One OpenSSL connection must not be used by two threads at once (a recv racing a
        # sendall corrupts records): only the I/O thread touches the socket from here on, and
        # other threads wake it to send what they queued in the h2 state machine.
        self._sock.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        threading.Thread(target=self._io, daemon=True, name="raw-h2").start()

    @property
    def alive(self) -> bool:
        return not self._closed.is_set()

    @property
    def streams(self) -> int:
        """Streams opened and not ended yet."""
        with self._lock:
            return len(self._open)

    def open(
        self, path: str, body: bytes | None = None, timeout: str = "3600S", end_stream: bool = False
    ) -> Outcome:
        """A stream calling ``path``. With ``body`` None it sends its request headers only and
        stays open (unless ``end_stream``); otherwise ``body`` as one gRPC message, then ends."""
        outcome = Outcome()
        with self._lock:
            sid = self._h2.get_next_available_stream_id()
            self._open[sid] = outcome
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
                end_stream=end_stream and body is None,
            )
            if body is not None:
                self._h2.send_data(
                    sid, b"\x00" + len(body).to_bytes(4, "big") + body, end_stream=True
                )
        self._wake()
        return outcome

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
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _io(self) -> None:
        """Reads and writes the socket, alone: frames in go to the h2 state machine, and what
        it has to send (answers, and what open() queued) goes out."""
        selector = selectors.DefaultSelector()
        selector.register(self._sock, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        pending = b""
        try:
            while not self._closed.is_set():
                # TLS may have decrypted bytes buffered that select() cannot see.
                ready = self._sock.pending() > 0
                if not ready:
                    events = selector.select(timeout=None if not pending else 0.05)
                    ready = any(key.fileobj is self._sock for key, _ in events)
                    if any(key.fileobj is self._wake_r for key, _ in events):
                        with contextlib.suppress(BlockingIOError):
                            self._wake_r.recv(4096)
                if ready and not self._receive():
                    return
                with self._lock:
                    pending += self._h2.data_to_send()
                pending = self._send(pending)
        finally:
            self._closed.set()
            selector.close()
            with contextlib.suppress(OSError):
                self._sock.close()
            self._wake_r.close()
            self._wake_w.close()

    def _receive(self) -> bool:
        """False once the connection has ended."""
        try:
            data = self._sock.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return True
        except OSError:
            return False
        if not data:
            return False
        with self._lock:
            try:
                events = self._h2.receive_data(data)
            except h2.exceptions.ProtocolError:
                return False
            for event in events:
                self._on(event)
        return True

    def _send(self, pending: bytes) -> bytes:
        """Sends what it can of ``pending`` without blocking; returns the rest."""
        while pending:
            try:
                sent = self._sock.send(pending)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return pending
            except OSError:
                self._closed.set()
                return b""
            pending = pending[sent:]
        return pending

    def _on(self, event: h2.events.Event) -> None:
        sid = getattr(event, "stream_id", None) or 0
        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or []}
            outcome = self._open.get(sid)
            if outcome is not None and "grpc-status" in headers:
                outcome.status = int(headers["grpc-status"])
                outcome.reason = _reason(headers.get("grpc-status-details-bin", ""))
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


def wait(outcomes: list[Outcome], seconds: float) -> bool:
    """True once every one of ``outcomes`` has ended, within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not all(o.done for o in outcomes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _reason(details: str) -> str:
    """The ErrorInfo reason in a grpc-status-details-bin header, if any."""
    if not details:
        return ""
    status = status_pb2.Status.FromString(base64.b64decode(details + "=" * (-len(details) % 4)))
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""
