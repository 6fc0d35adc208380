"""In-memory fakes of the core's ports, for unit tests of the core only."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from gateway.domain.errors import GatewayError, SignatureInvalid
from gateway.domain.exchange import Outcome, VerifiedMessage, apply_group
from gateway.domain.messages import InboundMessage, OpenedBatch, Receipt
from gateway.domain.ports import (
    GroupWrites,
    SealedReceipt,
    SequenceState,
    SignatureCheck,
    StoredMessage,
)
from gateway.domain.records import AeoRecord, MessageMeta


class MemoryTx:
    """The IngestTx port over dicts: one 'transaction' that is always committed."""

    def __init__(self) -> None:
        self.messages: dict[tuple[str, bytes], StoredMessage] = {}
        self.sequences: dict[str, SequenceState] = {}
        self.versions: dict[tuple[str, str], list[tuple[AeoRecord, MessageMeta]]] = {}

    def find_receipts(
        self, partner: str, digests: Collection[bytes]
    ) -> Mapping[bytes, SealedReceipt]:
        return {
            d: self.messages[(partner, d)].receipt for d in digests if (partner, d) in self.messages
        }

    def sequence_state(self, partner: str) -> SequenceState:
        return self.sequences.get(partner, SequenceState())

    def latest_versions(self, partner: str, identifiers: Collection[str]) -> Mapping[str, int]:
        return {
            i: max(r.version for r, _ in self.versions[(partner, i)])
            for i in identifiers
            if (partner, i) in self.versions
        }

    def write(self, writes: GroupWrites) -> None:
        for partner, r, meta in writes.versions:
            self.versions.setdefault((partner, r.identifier), []).append((r, meta))
        self.sequences.update(writes.sequence_states)
        for message in writes.messages:
            self.messages[(message.partner, message.digest)] = message


class ReprSealer:
    """Seals a receipt as its repr, signed with a marker: enough to compare receipts."""

    def __init__(self) -> None:
        self.sealed: list[Receipt] = []

    def seal(self, receipt: Receipt) -> SealedReceipt:
        self.sealed.append(receipt)
        return SealedReceipt(repr(receipt).encode(), b"sig", "GW", "ed25519")


class InlineCommitter:
    def __init__(self, tx: MemoryTx, sealer: ReprSealer) -> None:
        self.tx = tx
        self.sealer = sealer

    def commit(self, message: VerifiedMessage) -> Outcome:
        (result,) = apply_group(self.tx, [message], self.sealer)
        if isinstance(result, GatewayError):
            raise result
        return result


class AcceptSignatures:
    """Accepts exactly the signature b'good'."""

    def verify(
        self,
        partner: str,
        key_id: str,
        algorithm: str,
        payload: bytes,
        signature: bytes,
        at: datetime,
    ) -> None:
        if signature != b"good":
            raise SignatureInvalid("bad signature")


class TableCodec:
    """Opens payloads by looking them up: the test decides what each payload 'decodes' to."""

    name = "native"

    def __init__(self) -> None:
        self.batches: dict[bytes, OpenedBatch] = {}

    def open(self, message: InboundMessage, signatures: SignatureCheck) -> OpenedBatch:
        signatures.verify(
            message.partner,
            message.key_id,
            message.algorithm,
            message.payload,
            message.signature,
            message.received_at,
        )
        return self.batches[message.payload]
