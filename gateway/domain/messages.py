"""Messages as received from partners, and the receipts the gateway returns for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.records import AeoRecord, BatchKind


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A signed envelope as it arrived, with the partner its TLS client certificate proves."""

    partner: str
    wire_format: str
    payload: bytes
    signature: bytes
    key_id: str
    algorithm: str
    received_at: datetime
    peer: str  # fingerprint of the client certificate, for the audit log


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the gateway did not apply, and why (a stable reason code)."""

    identifier: str
    version: int
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OpenedBatch:
    """What a wire-format adapter yields once the signature holds: records it could read, and
    the ones it could not, each with its reason."""

    partner: str
    sequence: int
    issued_at: datetime
    kind: BatchKind
    records: tuple[AeoRecord, ...]
    rejected: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    partner: str
    sequence: int
    digest: bytes
    received_at: datetime
    received: int
    applied: int
    ignored: tuple[Rejection, ...]
    gaps_detected: tuple[tuple[int, int], ...]
    open_gaps: tuple[tuple[int, int], ...]
