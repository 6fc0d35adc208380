"""A raw HTTP/2 client over mutual TLS, for what a gRPC library will not do: open streams that
send request headers and never a body, ignore the server's stream limit, send bytes that are no
protobuf. Each stream's outcome is its grpc-status (or how the server reset it)."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from google.rpc import error_details_pb2, status_pb2

from gateway.client import TlsIdentity


class _Unruly(h2.connection.H2Connection):
    """Opens streams past the server's advertised limit, as a hostile client does."""

    open_outbound_streams = 0


@dataclass
class Outcome:
    status: int | None = None  # grpc-status from the trailers (or trailers-only headers)
    message: str = ""
    reset: int | None = None  # the RST_STREAM error code, when the server reset the stream
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.status is not None or self.reset is not None


@dataclass
class RawConnection:
    host: str
    port: int
    identity: TlsIdentity
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    def __post_init__(self) -> None:
        context = ssl.create_default_context(cafile=str(self.identity.ca))
        context.load_cert_chain(str(self.identity.cert), str(self.identity.key))
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection((self.host, self.port))
        self._sock = context.wrap_socket(raw, server_hostname=self.host)
        self._h2 = _Unruly(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self._lock = threading.Lock()
        self._h2.initiate_connection()
        self._flush()
        self._closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def open(
        self, path: str, body: bytes | None = None, timeout: str = "3600S", end_stream: bool = False
    ) -> int:
        """A stream calling ``path``; with ``body`` None, headers only, and the stream left open
        unless ``end_stream``."""
        with self._lock:
            sid = self._h2.get_next_available_stream_id()
            self.outcomes[sid] = Outcome()
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
                frame = b"\x00" + len(body).to_bytes(4, "big") + body
                self._h2.send_data(sid, frame, end_stream=True)
            self._flush()
        return sid

    def wait(self, streams: list[int], seconds: float) -> bool:
        """True once every stream in ``streams`` has ended."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(self.outcomes[s].done for s in streams):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()

    def _flush(self) -> None:
        self._sock.sendall(self._h2.data_to_send())

    def _read(self) -> None:
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
                try:
                    self._flush()
                except OSError:
                    return

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            headers = {_text(k): _text(v) for k, v in event.headers or []}
            outcome = self.outcomes.get(event.stream_id or 0)
            if outcome is not None and "grpc-status" in headers:
                outcome.status = int(headers["grpc-status"])
                outcome.message = str(headers.get("grpc-message", ""))
                outcome.reason = _reason(headers)
        elif isinstance(event, h2.events.StreamReset):
            outcome = self.outcomes.get(event.stream_id or 0)
            if outcome is not None and outcome.status is None:
                outcome.reset = int(event.error_code or 0)
        elif isinstance(event, h2.events.DataReceived):
            self._h2.acknowledge_received_data(
                event.flow_controlled_length or 0, event.stream_id or 0
            )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _reason(headers: dict[str, str]) -> str:
    """The ErrorInfo reason in grpc-status-details-bin, if any."""
    raw = headers.get("grpc-status-details-bin")
    if not raw:
        return ""
    status = status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""
