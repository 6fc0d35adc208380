"""Out-of-band files: a partner's signed batch that arrived by other means (a liaison officer's
file, a back-fill). Each goes through the use case a gRPC submission goes through: the same
verification against the partner's registered keys, the same storage, the same signed receipt.

A file holds either a serialized SignedEnvelope (any wire format; the only form a native batch
can take, since its signature is detached) or, for formats that carry their signature inside,
the payload itself: an XML document (xmldsig) or a JWS compact serialization (jws).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError

from gateway import protomap
from gateway.app.submit import SubmitResult, SubmitStatusMessage
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.ports import Clock
from gateway.pb import common_pb2, exchange_pb2

_JWS_COMPACT = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
_BOM = b"\xef\xbb\xbf"


class UnreadableFile(ValueError):
    """The file is none of the forms a batch can arrive in, or cannot be read."""


def envelope_from(data: bytes, wire_format: str = "") -> exchange_pb2.SignedEnvelope:
    """The envelope a file holds. ``wire_format`` names the format when the file is a bare
    payload the sniffing below would misread; a SignedEnvelope names its own."""
    head = data.removeprefix(_BOM).lstrip()
    if wire_format in ("", "xmldsig") and head.startswith(b"<"):
        return exchange_pb2.SignedEnvelope(format=common_pb2.WIRE_FORMAT_XMLDSIG, payload=data)
    # A text file may start with a byte-order mark and ends in a newline; the signed JWS is the
    # serialization without them.
    compact = head.rstrip()
    if wire_format in ("", "jws") and _JWS_COMPACT.fullmatch(compact):
        return exchange_pb2.SignedEnvelope(format=common_pb2.WIRE_FORMAT_JWS, payload=compact)
    envelope = exchange_pb2.SignedEnvelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError:
        envelope.Clear()
    if not envelope.payload:
        expected = {
            "xmldsig": "an XML document",
            "jws": "a JWS compact serialization",
        }.get(wire_format, "a JWS compact serialization, an XML document")
        raise UnreadableFile(f"is neither {expected} nor a serialized SignedEnvelope")
    named = protomap.FORMAT_TO_PB.get(wire_format) if wire_format else None
    if named is not None and envelope.format not in (named, common_pb2.WIRE_FORMAT_UNSPECIFIED):
        held = protomap.FORMAT_NAME.get(envelope.format, f"unknown ({envelope.format})")
        raise UnreadableFile(f"holds a {held} envelope, not {wire_format}")
    if named is not None:
        envelope.format = named
    return envelope


def printable(path: Path) -> str:
    """A file name as text that can always be printed and stored: bytes that are not UTF-8
    (a name from another system) are written as escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Imported:
    path: Path
    result: SubmitResult | None = None
    refusal: GatewayError | UnreadableFile | None = None


def import_files(
    paths: Iterable[Path],
    partner: str,
    submit: SubmitStatusMessage,
    directory: Callable[[], Directory],
    clock: Clock,
    wire_format: str = "",
    who: str = "",
) -> Iterator[Imported]:
    """Submits each file as ``partner``, in the order given (a partner's sequence order), one
    outcome per file: a refused file does not stop the next."""
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Imported(path, refusal=UnreadableFile(f"cannot be read: {exc.strerror}"))
            continue
        try:
            envelope = envelope_from(data, wire_format)
            # The audit log's peer: who imported which file, in place of a TLS fingerprint.
            peer = f"import:{who}:{printable(Path(path.name))}"[:200]
            message = protomap.inbound_message(envelope, partner, clock.now(), peer)
            yield Imported(path, result=submit(message, directory()))
        except (GatewayError, UnreadableFile) as exc:
            yield Imported(path, refusal=exc)
