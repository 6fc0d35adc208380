"""Ports: what the core needs from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gateway.domain.messages import InboundMessage, OpenedBatch, Receipt
from gateway.domain.records import AeoRecord, MessageMeta, StoredRecord


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class RecordReader(Protocol):
    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        """The newest version of the operator's record effective at ``at``, or None."""
        ...


@dataclass(frozen=True, slots=True)
class SealedReceipt:
    """A receipt as serialized and signed by the gateway: returned verbatim on resubmission."""

    receipt: bytes
    signature: bytes
    key_id: str
    algorithm: str


@dataclass(frozen=True, slots=True)
class SequenceState:
    last: int = 0
    gaps: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """Everything kept about a received message: the raw envelope and what we answered."""

    partner: str
    digest: bytes
    meta: MessageMeta
    kind: str
    issued_at: datetime
    wire_format: str
    payload: bytes
    signature: bytes
    peer: str
    receipt: SealedReceipt


@dataclass(slots=True)
class GroupWrites:
    """Everything one group commit writes, collected so the store can write it in bulk."""

    versions: list[tuple[str, AeoRecord, MessageMeta]] = field(default_factory=list)
    sequence_states: dict[str, SequenceState] = field(default_factory=dict)
    messages: list[StoredMessage] = field(default_factory=list)


class IngestTx(Protocol):
    """The store as seen from inside one group-commit transaction: bulk reads, one bulk write."""

    def find_receipts(
        self, partner: str, digests: Collection[bytes]
    ) -> Mapping[bytes, SealedReceipt]: ...

    def sequence_state(self, partner: str) -> SequenceState: ...

    def latest_versions(self, partner: str, identifiers: Collection[str]) -> Mapping[str, int]: ...

    def write(self, writes: GroupWrites) -> None: ...


class ReceiptSealer(Protocol):
    def seal(self, receipt: Receipt) -> SealedReceipt:
        """Serialize and sign a domain Receipt with the gateway's own key."""
        ...


class SignatureCheck(Protocol):
    """Checks a detached signature with a registered partner key (see keyring.Keyring)."""

    def verify(
        self,
        partner: str,
        key_id: str,
        algorithm: str,
        payload: bytes,
        signature: bytes,
        at: datetime,
    ) -> None:
        """Returns when the signature holds; raises a GatewayError saying why it does not."""
        ...


class WireCodec(Protocol):
    """One wire format: checks the message's signature and decodes its records."""

    name: str

    def open(self, message: InboundMessage, signatures: SignatureCheck) -> OpenedBatch:
        """Raises SignatureInvalid (and kin) or MalformedPayload; never returns unchecked data."""
        ...
