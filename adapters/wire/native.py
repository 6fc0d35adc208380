"""The native wire format: a serialized aeo.gateway.v1.StatusBatch with a detached signature
over its exact bytes."""

from __future__ import annotations

from typing import Literal

from google.protobuf.message import DecodeError

from gateway import protomap
from gateway.domain.errors import MalformedPayload, SignatureInvalid, TooManyRecords
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    OutboundBatch,
    RecordDraft,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import AeoRecord
from gateway.pb import common_pb2 as pb

NAME = "native"
_DATES: tuple[Literal["authorised_from", "valid_until", "suspended_on", "revoked_on"], ...] = (
    "authorised_from",
    "valid_until",
    "suspended_on",
    "revoked_on",
)


def _draft(msg: pb.AeoRecord) -> RecordDraft:
    problem = None
    effective_at = None
    if msg.HasField("effective_at"):
        try:
            effective_at = protomap.instant(msg.effective_at)
        except ValueError as exc:
            problem = ("record.field_invalid", f"effective_at: {exc}")
    days = {}
    for field in _DATES:
        if msg.HasField(field):
            try:
                days[field] = protomap.calendar_date(getattr(msg, field))
            except ValueError:
                problem = problem or ("record.field_invalid", f"{field} is not a calendar date")
    return RecordDraft(
        identifier=msg.identifier,
        version=msg.version,
        effective_at=effective_at,
        status=protomap.STATUS.get(msg.status),
        name=msg.name,
        address=msg.address,
        tier=msg.tier,
        event=protomap.EVENT.get(msg.event, protomap.EVENT[pb.STATUS_EVENT_UNSPECIFIED]),
        consent_withdrawn=msg.consent_withdrawn,
        problem=problem,
        **days,
    )


def decode(payload: bytes, limits: DecodeLimits, key_id: str, algorithm: str) -> DecodedBatch:
    batch = pb.StatusBatch()
    try:
        batch.ParseFromString(payload)
    except DecodeError as exc:
        raise MalformedPayload(f"payload is not a StatusBatch: {exc}") from exc
    kind = protomap.KIND.get(batch.kind)
    if not batch.partner or batch.sequence == 0 or kind is None or not batch.HasField("issued_at"):
        raise MalformedPayload("partner, sequence, kind and issued_at are required")
    try:
        issued_at = protomap.instant(batch.issued_at)
    except ValueError as exc:
        raise MalformedPayload(f"issued_at: {exc}") from exc
    if len(batch.records) > limits.max_records:
        # Before converting a single record: the count is known once parsed.
        raise TooManyRecords(
            f"{len(batch.records)} records in one message; the limit is {limits.max_records}",
            limit=str(limits.max_records),
        )
    return DecodedBatch(
        partner=batch.partner,
        sequence=batch.sequence,
        issued_at=issued_at,
        kind=kind,
        drafts=tuple(_draft(r) for r in batch.records),
        key_id=key_id,
        algorithm=algorithm,
    )


def encode_record(record: AeoRecord) -> pb.AeoRecord:
    msg = pb.AeoRecord(
        identifier=record.identifier,
        name=record.name,
        address=record.address,
        status=protomap.STATUS_TO_PB[record.status],
        tier=record.tier,
        version=record.version,
        event=protomap.EVENT_TO_PB[record.event],
        consent_withdrawn=record.consent_withdrawn,
    )
    protomap.set_timestamp(msg.effective_at, record.effective_at)
    for field in _DATES:
        day = getattr(record, field)
        if day is not None:
            protomap.set_date(getattr(msg, field), day)
    return msg


def encode(batch: OutboundBatch) -> bytes:
    msg = pb.StatusBatch(
        partner=batch.partner,
        sequence=batch.sequence,
        kind=protomap.KIND_TO_PB[batch.kind],
        records=[encode_record(r) for r in batch.records],
    )
    protomap.set_timestamp(msg.issued_at, batch.issued_at)
    return msg.SerializeToString()


class NativeCodec:
    name = NAME

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        detached = message.detached
        if detached is None:
            raise SignatureInvalid("the native format needs a detached signature")
        key = keys.resolve(detached.key_id, detached.algorithm)
        # Signature first: nothing from an unverified payload is parsed, let alone trusted.
        if not detached.signature or not key.verify(message.payload, detached.signature):
            raise SignatureInvalid(
                f"signature does not verify with key {detached.key_id!r}", key_id=detached.key_id
            )
        return decode(message.payload, limits, detached.key_id, detached.algorithm)

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        payload = encode(batch)
        signature = DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload))
        return SealedEnvelope(NAME, payload, signature)
