"""Use case: a partner submits a signed status message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.app.unit_of_work import StoredMessage, Transactions, UnitOfWork
from gateway.domain.audit import AuditEvent, AuditKind, sha256_hex
from gateway.domain.directory import Directory
from gateway.domain.errors import PayloadTooLarge, UnsupportedWireFormat, shown
from gateway.domain.events import RecordVersionApplied
from gateway.domain.exchange import Limits, VerifiedMessage, accept, decide
from gateway.domain.messages import InboundMessage, SealedReceipt
from gateway.domain.partners import Partner
from gateway.domain.ports import DecodeLimits, ReceiptSealer, WireCodec
from gateway.domain.sequences import MAX_OPEN_GAPS
from gateway.domain.snapshots import presence


@dataclass(frozen=True, slots=True)
class SubmitResult:
    receipt: SealedReceipt
    duplicate: bool


class SubmitStatusMessage:
    def __init__(
        self,
        codecs: Mapping[str, WireCodec],
        transactions: Transactions,
        sealer: ReceiptSealer,
        limits: Limits,
    ) -> None:
        self._codecs = codecs
        self._transactions = transactions
        self._sealer = sealer
        self._limits = limits

    def __call__(self, message: InboundMessage, directory: Directory) -> SubmitResult:
        partner = directory.partner(message.partner)
        verified = verify(message, partner, directory, self._codecs, self._limits)
        wire_format = message.wire_format or partner.wire_formats[0]  # verify checked it
        signer = directory.keys.get((partner.code, verified.key_id))
        signer_key_sha256 = signer.key_sha256 if signer is not None else ""
        return self._transactions.run(
            lambda uow: record_message(
                uow,
                verified,
                wire_format,
                self._sealer,
                self._limits.max_open_gaps,
                signer_key_sha256=signer_key_sha256,
            ),
            partners=(partner.code,),
            prefetch=lambda uow: expect_reads(uow, verified),
        )


def expect_reads(uow: UnitOfWork, message: VerifiedMessage) -> None:
    """What record_message will read, announced so that a group of messages reads it at once."""
    uow.messages.expect(message.partner, message.digest)
    uow.records.expect(message.partner, [r.identifier for r in message.records])


def record_message(
    uow: UnitOfWork,
    message: VerifiedMessage,
    wire_format: str,
    sealer: ReceiptSealer,
    max_open_gaps: int = MAX_OPEN_GAPS,
    *,
    signer_key_sha256: str = "",
) -> SubmitResult:
    """Records an accepted message in ``uow``: its records, sequence, receipt and the changes.
    Idempotent: the same bytes again return the stored receipt and write nothing."""
    partner = message.partner
    existing = uow.messages.receipt(partner, message.digest)
    if existing is not None:
        return SubmitResult(existing, duplicate=True)
    latest = uow.records.latest_versions(partner, {r.identifier for r in message.records})
    sequence = uow.partner_states.sequence(partner)
    decision = decide(message, sequence, latest, max_open_gaps)
    sealed = sealer.seal(decision.receipt)
    meta = message.meta
    uow.partner_states.save(partner, decision.sequence, meta.received_at)
    for record in decision.applied:
        uow.records.add(partner, record, meta)
        uow.changes.append(
            RecordVersionApplied(
                partner,
                record.identifier,
                record.version,
                record.status,
                record.event,
                record.effective_at,
                meta.message_id,
            )
        )
    named = presence(
        message.kind,
        message.records,
        message.refused_named,
        decision.applied,
        message.issued_at,
        message.sequence,
        meta.message_id,
        sequence.last,
    )
    if named is not None:
        uow.absences.note(partner, named)
    detached = message.inbound.detached
    uow.messages.add(
        StoredMessage(
            partner=partner,
            digest=message.digest,
            meta=meta,
            kind=message.kind,
            issued_at=message.issued_at,
            wire_format=wire_format,
            payload=message.inbound.payload,
            signature=detached.signature if detached else b"",
            peer=message.inbound.peer,
            receipt=sealed,
        )
    )
    uow.audit.append(received_event(message, wire_format, sealed, signer_key_sha256))
    return SubmitResult(sealed, duplicate=False)


def received_event(
    message: VerifiedMessage, wire_format: str, sealed: SealedReceipt, signer_key_sha256: str = ""
) -> AuditEvent:
    """The audit entry of a stored message: digests of its raw bytes, of its detached signature,
    of the key that verified it (``signer_key_sha256``: its DER SubjectPublicKeyInfo's) and of
    our receipt; the bytes themselves stay in the messages table (docs/audit.md)."""
    detached = message.inbound.detached
    return AuditEvent(
        AuditKind.MESSAGE_RECEIVED,
        message.meta.received_at,
        partner=message.partner,
        actor_subject=f"partner {message.partner}",
        actor_fingerprint=message.inbound.peer,
        subject=message.message_id,
        sequence=message.sequence,
        digest=message.digest.hex(),
        key_id=message.key_id,
        receipt_digest=sha256_hex(sealed.receipt),
        detail={
            "wire_format": wire_format,
            "algorithm": message.algorithm,
            "kind": message.kind.value,
            "signature_sha256": sha256_hex(detached.signature) if detached else "",
            "signer_key_sha256": signer_key_sha256,
            "receipt_key_id": sealed.key_id,
        },
    )


def verify(
    message: InboundMessage,
    partner: Partner,
    directory: Directory,
    codecs: Mapping[str, WireCodec],
    limits: Limits,
) -> VerifiedMessage:
    """What every partner message passes before anything of it is kept (a status message, a
    test message): its size, a wire format the partner sends, its signature under the
    partner's keys valid at arrival, and the acceptance rules."""
    if len(message.payload) > limits.max_payload_bytes:
        raise PayloadTooLarge(
            f"payload of {len(message.payload)} bytes exceeds {limits.max_payload_bytes}",
            limit=str(limits.max_payload_bytes),
        )
    wire_format = message.wire_format or partner.wire_formats[0]
    codec = codecs.get(wire_format)
    if codec is None or wire_format not in partner.wire_formats:
        raise UnsupportedWireFormat(
            f"partner {partner.code} sends {', '.join(partner.wire_formats)}, "
            f"not {shown(wire_format)}",
            expected=",".join(partner.wire_formats),
        )
    keys = directory.keys_for(partner.code, message.received_at)
    batch = codec.open(message, keys, DecodeLimits(limits.max_records))
    return accept(message, batch, partner, limits)
