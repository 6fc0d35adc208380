"""The native wire format: a serialized aeo.gateway.v1.StatusBatch with a detached signature
over its exact bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Literal

from google.protobuf.message import DecodeError

from adapters.wire.protowire import count_field
from gateway import protomap
from gateway.domain.errors import MalformedPayload, SignatureInvalid, TooManyRecords, shown
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    OutboundBatch,
    RecordDraft,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import StatusEvent
from gateway.pb import common_pb2 as pb

NAME = "native"
_STATUS = protomap.STATUS
_EVENT = protomap.EVENT
_DateField = Literal["authorised_from", "valid_until", "suspended_on", "revoked_on"]
#: In RecordDraft's order.
_DATES: tuple[_DateField, ...] = (
    "authorised_from",
    "valid_until",
    "suspended_on",
    "revoked_on",
)


def _day(msg: pb.AeoRecord, field: _DateField) -> date | None:
    """The calendar date in ``field``, None when unset; ValueError when not a real date."""
    return protomap.calendar_date(getattr(msg, field)) if msg.HasField(field) else None


def _is_date(msg: pb.AeoRecord, field: _DateField) -> bool:
    try:
        _day(msg, field)
    except ValueError:
        return False
    return True


def _draft(msg: pb.AeoRecord) -> RecordDraft:
    problem = None
    effective_at = None
    if msg.HasField("effective_at"):
        try:
            effective_at = protomap.instant(msg.effective_at)
        except ValueError as exc:
            problem = ("record.field_invalid", f"effective_at: {exc}")
    try:
        days = (
            _day(msg, "authorised_from"),
            _day(msg, "valid_until"),
            _day(msg, "suspended_on"),
            _day(msg, "revoked_on"),
        )
    except ValueError:
        days = (None, None, None, None)
        bad = next(f for f in _DATES if msg.HasField(f) and not _is_date(msg, f))
        problem = problem or ("record.field_invalid", f"{bad} is not a calendar date")
    status = _STATUS.get(msg.status)
    if status is None and msg.status != pb.RECORD_STATUS_UNSPECIFIED:
        # Set, but to a value this gateway does not know (a newer partner's enum): refused
        # for what it is, not as missing.
        problem = problem or ("record.status_unknown", f"status {msg.status} is not known")
    return RecordDraft(
        msg.identifier,
        msg.version,
        effective_at,
        status,
        msg.name,
        msg.address,
        msg.tier,
        _EVENT.get(msg.event, StatusEvent.UNSPECIFIED),
        *days,
        msg.consent_withdrawn,
        problem,
    )


_RECORDS = pb.StatusBatch.RECORDS_FIELD_NUMBER


def check_size(payload: bytes, limits: DecodeLimits) -> None:
    """Refuses a payload of more records than the limit, counted on the wire: a message of
    millions of tiny records costs the reading of the limit's worth of them, not of parsing,
    materialising or even hashing them all. Bytes that are no message are left to the parser
    (after the signature check, whose verdict says more about them)."""
    try:
        count = count_field(payload, _RECORDS, stop_after=limits.max_records)
    except ValueError:
        return
    if count > limits.max_records:
        raise TooManyRecords(
            f"more than {limits.max_records} records in one message",
            limit=str(limits.max_records),
        )


def decode(payload: bytes, limits: DecodeLimits, key_id: str, algorithm: str) -> DecodedBatch:
    check_size(payload, limits)
    return _parse(payload, limits, key_id, algorithm)


def _parse(payload: bytes, limits: DecodeLimits, key_id: str, algorithm: str) -> DecodedBatch:
    batch = pb.StatusBatch()
    try:
        batch.ParseFromString(payload)
    except DecodeError as exc:
        raise MalformedPayload(f"payload is not a StatusBatch: {exc}") from exc
    if len(batch.records) > limits.max_records:  # the wire count's second line of defence
        raise TooManyRecords(
            f"more than {limits.max_records} records in one message",
            limit=str(limits.max_records),
        )
    kind = protomap.KIND.get(batch.kind)
    if not batch.partner or batch.sequence == 0 or kind is None or not batch.HasField("issued_at"):
        raise MalformedPayload("partner, sequence, kind and issued_at are required")
    try:
        issued_at = protomap.instant(batch.issued_at)
    except ValueError as exc:
        raise MalformedPayload(f"issued_at: {exc}") from exc
    return DecodedBatch(
        partner=batch.partner,
        sequence=batch.sequence,
        issued_at=issued_at,
        kind=kind,
        drafts=tuple(_draft(r) for r in batch.records),
        key_id=key_id,
        algorithm=algorithm,
    )


#: The native format carries records as the API does.
encode_record = protomap.encode_record


def encode(batch: OutboundBatch) -> bytes:
    msg = pb.StatusBatch(
        partner=batch.partner,
        sequence=batch.sequence,
        kind=protomap.KIND_TO_PB[batch.kind],
        records=[encode_record(r) for r in batch.records],
    )
    protomap.set_timestamp(msg.issued_at, batch.issued_at)
    return msg.SerializeToString()


def verified(
    message: InboundMessage, keys: KeyResolver, check_size: Callable[[bytes], None]
) -> DetachedSignature:
    """The detached signature, once it holds over the payload with a key of the sender's;
    ``check_size`` refuses a payload with too many entries for the format's own message."""
    detached = message.detached
    if detached is None:
        raise SignatureInvalid("the native format needs a detached signature")
    key = keys.resolve(detached.key_id, detached.algorithm)
    # The entry count first: it reads less than the signature check hashes (a flood of
    # oversized messages is refused at a fraction of the cost) and trusts nothing.
    check_size(message.payload)
    # Then the signature: nothing from an unverified payload is parsed, let alone trusted.
    if not detached.signature or not key.verify(message.payload, detached.signature):
        raise SignatureInvalid(
            f"signature does not verify with key {shown(detached.key_id)}",
            key_id=detached.key_id,
        )
    return detached


class NativeCodec:
    name = NAME

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        detached = verified(message, keys, lambda payload: check_size(payload, limits))
        return _parse(message.payload, limits, detached.key_id, detached.algorithm)

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        payload = encode(batch)
        signature = DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload))
        return SealedEnvelope(NAME, payload, signature)
