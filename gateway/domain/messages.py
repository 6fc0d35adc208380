"""Messages as received from partners, what a wire format decodes them to, and receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent


@dataclass(frozen=True, slots=True)
class DetachedSignature:
    """A signature carried beside the signed bytes, naming the registered key that made it."""

    key_id: str
    algorithm: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A signed envelope as it arrived, with the partner its TLS client certificate proves.

    ``wire_format`` is empty when the sender left it to its registered primary format;
    ``detached`` is None for formats whose signature is inside the payload.
    """

    partner: str
    wire_format: str
    payload: bytes
    detached: DetachedSignature | None
    received_at: datetime
    peer: str  # fingerprint of the client certificate, for the audit log


class RecordDraft(NamedTuple):
    """One record as a wire format read it, before the core's validation (a tuple: one is made
    per record on the ingest hot path).

    A codec fills what its format carries and converts types it owns (its timestamps, its
    dates); ``problem`` holds a (reason, detail) when it could not read a field. Whether the
    record is acceptable is decided once, for every format, by ``validation.validate_record``.
    """

    identifier: str
    version: int
    effective_at: datetime | None
    status: RecordStatus | None
    name: str = ""
    address: str = ""
    tier: str = ""
    event: StatusEvent = StatusEvent.UNSPECIFIED
    authorised_from: date | None = None
    valid_until: date | None = None
    suspended_on: date | None = None
    revoked_on: date | None = None
    consent_withdrawn: bool = False
    problem: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """What a codec yields once the signature holds: the header, the drafts, and the key that
    signed (from the envelope or from inside the payload, as the format puts it)."""

    partner: str
    sequence: int
    issued_at: datetime
    kind: BatchKind
    drafts: tuple[RecordDraft, ...]
    key_id: str
    algorithm: str


@dataclass(frozen=True, slots=True)
class OutboundBatch:
    """A batch to be sealed in some wire format (the partner simulator, tests, later outbound)."""

    partner: str
    sequence: int
    issued_at: datetime
    kind: BatchKind
    records: tuple[AeoRecord, ...]


@dataclass(frozen=True, slots=True)
class SealedEnvelope:
    """A batch in a wire format, signed: what goes on the wire."""

    wire_format: str
    payload: bytes
    detached: DetachedSignature | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the gateway did not apply, and why (a stable reason code)."""

    identifier: str
    version: int
    reason: str
    detail: str = ""


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
    #: The newest open gaps only; ``open_gaps_total`` counts them all.
    open_gaps: tuple[tuple[int, int], ...]
    open_gaps_total: int
    needs_snapshot: bool


@dataclass(frozen=True, slots=True)
class SealedReceipt:
    """A receipt as serialized and signed by the gateway: returned verbatim on resubmission."""

    receipt: bytes
    signature: bytes
    key_id: str
    algorithm: str
