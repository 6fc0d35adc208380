"""A raw HTTP/2 client over mutual TLS, for what a gRPC library will not do: open streams that
send request headers and never a body, past the server's advertised stream limit, or bytes that
are no protobuf. Used by the hostile-neighbour flood and by the tests of issue 6.

Each stream's Outcome (its grpc-status and ErrorInfo reason, or how the server reset it) is
returned by ``open`` for a caller that watches it; a flood, which keeps a connection for as long
as it runs, takes ended streams once with ``harvest`` and the connection forgets them.

One thread per connection owns the TLS socket and does all of its I/O after the handshake: an
OpenSSL SSL object must not be used from two threads at once (a reader in recv() while another
thread is in sendall() corrupts its record state, seen as "TSI_DATA_CORRUPTED" or "decryption
failed" now and then). Callers only change the HTTP/2 state machine under a lock and wake that
thread, which moves the frames h2 queued onto the socket.
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

#: At most one TLS record per SSL_write, so a write retried after SSLWantWriteError starts with
#: the same bytes and is no shorter, as OpenSSL requires, even if more output queued meanwhile.
_CHUNK = 16384
#: Reads before the I/O thread turns to writing again, so a chatty server cannot starve writes.
_READS_PER_TURN = 16

#: Notified whenever a stream of any connection ends, for ``wait``.
_ended_changed = threading.Condition()


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
        try:
            # The handshake runs here, blocking, before the I/O thread exists.
            self._sock = context.wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        self._sock.setblocking(False)
        self._h2 = _Unruly(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self._lock = threading.Lock()  # guards _h2, _open, _ended and the wake-up socket
        self._open: dict[int, Outcome] = {}
        self._ended: list[Outcome] = []
        self._closed = threading.Event()
        self._out = bytearray()  # encoded frames not on the socket yet; the I/O thread's alone
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_open = True
        self._h2.initiate_connection()
        self._io = threading.Thread(target=self._run, daemon=True, name="raw-h2")
        self._io.start()

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
        """Ends the connection; the I/O thread closes the socket and is gone on return."""
        self._closed.set()
        with self._lock:
            self._wake()
        if threading.current_thread() is not self._io:
            self._io.join(timeout=10)

    # --- the I/O thread ----------------------------------------------------------------------

    def _wake(self) -> None:
        """Wakes the I/O thread to send what h2 queued (or to notice close); under _lock."""
        if self._wake_open:
            # A full socketpair buffer already holds a wake-up the thread has yet to read.
            with contextlib.suppress(BlockingIOError):
                self._wake_w.send(b"\0")

    def _run(self) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self._wake_r, selectors.EVENT_READ)
                selector.register(self._sock, selectors.EVENT_READ)
                while not self._closed.is_set():
                    with self._lock:
                        self._out += self._h2.data_to_send()
                    if not self._send():
                        return
                    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self._out else 0)
                    selector.modify(self._sock, events)
                    # Bytes OpenSSL already decrypted are no longer on the socket to wake us.
                    selector.select(timeout=0 if self._sock.pending() else None)
                    self._drain_wake()
                    if self._closed.is_set() or not self._receive():
                        return
        finally:
            self._closed.set()
            with self._lock:
                self._wake_open = False
                self._wake_r.close()
                self._wake_w.close()
            with contextlib.suppress(OSError):
                self._sock.close()

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(4096):
                pass

    def _send(self) -> bool:
        """Writes queued output until the socket would block; False once the connection broke."""
        try:
            while self._out:
                del self._out[: self._sock.send(self._out[:_CHUNK])]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass  # retried with the same first bytes when the selector says so
        except OSError:
            return False
        return True

    def _receive(self) -> bool:
        """Reads and handles what arrived; False once the connection ended."""
        for _ in range(_READS_PER_TURN):
            try:
                data = self._sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True  # nothing more to read now; the selector waits for more
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
            if self._closed.is_set():
                return False
        return True

    def _on(self, event: h2.events.Event) -> None:
        sid = getattr(event, "stream_id", None) or 0
        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or []}
            outcome = self._open.get(sid)
            if outcome is not None and "grpc-status" in headers:
                outcome.status = int(headers["grpc-status"])
                outcome.reason = _reason(headers.get("grpc-status-details-bin", ""))
                self._end(sid)
        elif isinstance(event, h2.events.StreamReset):
            outcome = self._open.get(sid)
            if outcome is not None:
                outcome.reset = int(event.error_code or 0)
                self._end(sid)
        elif isinstance(event, h2.events.DataReceived):
            self._h2.acknowledge_received_data(event.flow_controlled_length or 0, sid)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._closed.set()

    def _end(self, sid: int) -> None:
        self._ended.append(self._open.pop(sid))
        with _ended_changed:
            _ended_changed.notify_all()


def wait(outcomes: list[Outcome], seconds: float) -> bool:
    """True once every one of ``outcomes`` has ended, within ``seconds``."""
    deadline = time.monotonic() + seconds
    with _ended_changed:
        while not all(o.done for o in outcomes):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _ended_changed.wait(remaining)
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
