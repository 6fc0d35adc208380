"""Receiving a partner's signed status message: checks, version rules, receipt."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from gateway.domain.errors import (
    GatewayError,
    IssuedAtOutsideWindow,
    PartnerImpersonation,
    PartnerNotRegistered,
    PayloadTooLarge,
    TooManyRecords,
    UnsupportedWireFormat,
)
from gateway.domain.messages import InboundMessage, OpenedBatch, Receipt, Rejection
from gateway.domain.partners import Partner
from gateway.domain.ports import (
    GroupWrites,
    IngestTx,
    ReceiptSealer,
    SealedReceipt,
    SequenceState,
    SignatureCheck,
    StoredMessage,
    WireCodec,
)
from gateway.domain.records import AeoRecord, MessageMeta
from gateway.domain.sequences import advance


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A message whose signature held and whose batch passed every whole-message check."""

    inbound: InboundMessage
    batch: OpenedBatch
    digest: bytes
    #: Raised by ``apply`` unless these exact bytes were accepted before: a late retry of an
    #: accepted message still gets its original receipt rather than, say, a stale-clock refusal.
    refusal: GatewayError | None = None

    @property
    def message_id(self) -> str:
        return f"{self.inbound.partner}-{self.batch.sequence}-{self.digest[:8].hex()}"

    @property
    def meta(self) -> MessageMeta:
        m = self.inbound
        return MessageMeta(
            self.message_id, self.batch.sequence, m.received_at, m.key_id, m.algorithm
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    receipt: SealedReceipt
    duplicate: bool


class Committer(Protocol):
    """Runs ``apply_group`` inside a durable transaction; returns once it is committed."""

    def commit(self, message: VerifiedMessage) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int
    max_records: int
    clock_skew: timedelta


class ExchangeService:
    def __init__(
        self,
        partners: Mapping[str, Partner],
        codecs: Mapping[str, WireCodec],
        signatures: SignatureCheck,
        committer: Committer,
        limits: Limits,
    ) -> None:
        self._partners = partners
        self._codecs = codecs
        self._signatures = signatures
        self._committer = committer
        self._limits = limits

    def submit(self, message: InboundMessage) -> Outcome:
        partner = self._partners.get(message.partner)
        if partner is None:
            raise PartnerNotRegistered(f"partner {message.partner} is not registered")
        if len(message.payload) > self._limits.max_payload_bytes:
            raise PayloadTooLarge(
                f"payload of {len(message.payload)} bytes exceeds {self._limits.max_payload_bytes}",
                limit=str(self._limits.max_payload_bytes),
            )
        wire_format = message.wire_format or partner.wire_format
        codec = self._codecs.get(wire_format)
        if codec is None or wire_format != partner.wire_format:
            raise UnsupportedWireFormat(
                f"partner {partner.code} speaks {partner.wire_format!r}, not {wire_format!r}",
                expected=partner.wire_format,
            )
        if message.wire_format != wire_format:
            message = replace(message, wire_format=wire_format)
        batch = codec.open(message, self._signatures)
        if batch.partner != message.partner:
            raise PartnerImpersonation(
                f"partner {message.partner} may not submit for {batch.partner!r}",
                claimed=batch.partner,
            )
        count = len(batch.records) + len(batch.rejected)
        if count > self._limits.max_records:
            raise TooManyRecords(
                f"{count} records in one message; the limit is {self._limits.max_records}",
                limit=str(self._limits.max_records),
            )
        refusal = None
        skew = abs(message.received_at - batch.issued_at)
        if skew > self._limits.clock_skew:
            refusal = IssuedAtOutsideWindow(
                f"issued_at {batch.issued_at.isoformat()} is {skew} from the gateway's clock; "
                f"the window is ±{self._limits.clock_skew}",
            )
        digest = hashlib.sha256(message.payload).digest()
        return self._committer.commit(
            VerifiedMessage(message, _normalised(batch, partner), digest, refusal)
        )


def _normalised(batch: OpenedBatch, partner: Partner) -> OpenedBatch:
    """Identifiers in canonical declared form; records whose identifier is not the partner's
    format are rejected, the rest kept."""
    records: list[AeoRecord] = []
    rejected = list(batch.rejected)
    changed = False
    for record in batch.records:
        canonical = partner.identifiers.canonical(record.identifier.strip().upper())
        changed = changed or canonical != record.identifier
        if canonical is None:
            rejected.append(
                Rejection(
                    record.identifier,
                    record.version,
                    "record.identifier_invalid",
                    f"not a {partner.code} identifier",
                )
            )
        elif canonical == record.identifier:
            records.append(record)
        else:
            records.append(replace(record, identifier=canonical))
    if not changed:
        return batch
    return OpenedBatch(
        batch.partner, batch.sequence, batch.issued_at, batch.kind, tuple(records), tuple(rejected)
    )


def apply_group(
    tx: IngestTx, messages: Sequence[VerifiedMessage], sealer: ReceiptSealer
) -> list[Outcome | GatewayError]:
    """Applies the messages of one group commit, in order, inside the caller's transaction.

    What the group needs is read in bulk, decided in memory message by message (each sees the
    ones before it), and written in one bulk write. Idempotent: the same bytes again return the
    stored receipt and write nothing. A record whose version is not newer than the stored one
    is not applied and the receipt says so. A refused message changes nothing and does not
    affect the others; its error takes its place in the result.
    """
    state = _GroupState(tx, messages)
    writes = GroupWrites()
    results: list[Outcome | GatewayError] = []
    for message in messages:
        try:
            results.append(_apply_one(message, state, writes, sealer))
        except GatewayError as refusal:
            if refusal.transient:
                raise
            results.append(refusal)
    tx.write(writes)
    return results


class _GroupState:
    """Receipts, sequence states and latest versions of a group, read once, kept current."""

    def __init__(self, tx: IngestTx, messages: Sequence[VerifiedMessage]) -> None:
        by_partner: dict[str, list[VerifiedMessage]] = {}
        for m in messages:
            by_partner.setdefault(m.inbound.partner, []).append(m)
        self.receipts: dict[tuple[str, bytes], SealedReceipt] = {}
        self.sequences: dict[str, SequenceState] = {}
        self.latest: dict[tuple[str, str], int] = {}
        # Partners in a fixed order: concurrent gateways lock them alike and cannot deadlock.
        for partner, group in sorted(by_partner.items()):
            found = tx.find_receipts(partner, {m.digest for m in group})
            self.receipts.update(((partner, d), r) for d, r in found.items())
            self.sequences[partner] = tx.sequence_state(partner)
            ids = {r.identifier for m in group for r in m.batch.records}
            self.latest.update(
                ((partner, i), v) for i, v in tx.latest_versions(partner, ids).items()
            )


def _apply_one(
    message: VerifiedMessage, state: _GroupState, writes: GroupWrites, sealer: ReceiptSealer
) -> Outcome:
    partner, batch = message.inbound.partner, message.batch
    existing = state.receipts.get((partner, message.digest))
    if existing is not None:
        return Outcome(existing, duplicate=True)
    if message.refusal is not None:
        raise message.refusal
    sequences, gap = advance(state.sequences[partner], batch.sequence)
    # Every refusal is above this line: from here on the message is accepted.
    applied: list[AeoRecord] = []
    ignored = list(batch.rejected)
    for record in batch.records:
        stored = state.latest.get((partner, record.identifier))
        if stored is not None and record.version <= stored:
            reason = Rejection(
                record.identifier,
                record.version,
                "record.stale_version",
                f"stored version is {stored}",
            )
            ignored.append(reason)
            continue
        applied.append(record)
        state.latest[(partner, record.identifier)] = record.version
    meta = message.meta
    sealed = sealer.seal(
        Receipt(
            message_id=meta.message_id,
            partner=partner,
            sequence=batch.sequence,
            digest=message.digest,
            received_at=meta.received_at,
            received=len(batch.records) + len(batch.rejected),
            applied=len(applied),
            ignored=tuple(ignored),
            gaps_detected=(gap,) if gap else (),
            open_gaps=sequences.gaps,
        )
    )
    state.sequences[partner] = writes.sequence_states[partner] = sequences
    state.receipts[(partner, message.digest)] = sealed
    writes.versions.extend((partner, r, meta) for r in applied)
    inbound = message.inbound
    writes.messages.append(
        StoredMessage(
            partner=partner,
            digest=message.digest,
            meta=meta,
            kind=batch.kind.value,
            issued_at=batch.issued_at,
            wire_format=inbound.wire_format,
            payload=inbound.payload,
            signature=inbound.signature,
            peer=inbound.peer,
            receipt=sealed,
        )
    )
    return Outcome(sealed, duplicate=False)
