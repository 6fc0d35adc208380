"""The native wire format: a serialized aeo.gateway.v1.StatusBatch with a detached signature
over its exact bytes."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from adapters.times import from_us
from gateway.domain.errors import MalformedPayload
from gateway.domain.messages import InboundMessage, OpenedBatch, Rejection
from gateway.domain.ports import SignatureCheck
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.pb import common_pb2 as pb

NAME = "native"

_STATUS = {
    pb.RECORD_STATUS_VALID: RecordStatus.VALID,
    pb.RECORD_STATUS_SUSPENDED: RecordStatus.SUSPENDED,
    pb.RECORD_STATUS_REVOKED: RecordStatus.REVOKED,
    pb.RECORD_STATUS_EXPIRED: RecordStatus.EXPIRED,
}
STATUS_TO_PB = {v: k for k, v in _STATUS.items()}
_EVENT = {
    pb.STATUS_EVENT_UNSPECIFIED: StatusEvent.UNSPECIFIED,
    pb.STATUS_EVENT_GRANTED: StatusEvent.GRANTED,
    pb.STATUS_EVENT_SUSPENDED: StatusEvent.SUSPENDED,
    pb.STATUS_EVENT_REINSTATED: StatusEvent.REINSTATED,
    pb.STATUS_EVENT_REVOKED: StatusEvent.REVOKED,
    pb.STATUS_EVENT_EXPIRED: StatusEvent.EXPIRED,
    pb.STATUS_EVENT_AMENDED: StatusEvent.AMENDED,
    pb.STATUS_EVENT_CONSENT_WITHDRAWN: StatusEvent.CONSENT_WITHDRAWN,
    pb.STATUS_EVENT_REVALIDATED: StatusEvent.REVALIDATED,
    pb.STATUS_EVENT_TIER_CHANGED: StatusEvent.TIER_CHANGED,
}
EVENT_TO_PB = {v: k for k, v in _EVENT.items()}
_KIND = {pb.BATCH_KIND_SNAPSHOT: BatchKind.SNAPSHOT, pb.BATCH_KIND_DELTA: BatchKind.DELTA}
KIND_TO_PB = {v: k for k, v in _KIND.items()}


class RecordProblem(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _instant(ts: Timestamp) -> datetime:
    # Timestamp.ToDatetime is pure Python and runs once per record: convert directly.
    if not 0 <= ts.nanos < 1_000_000_000:
        raise RecordProblem("record.field_invalid", "timestamp nanos out of range")
    try:
        return from_us(ts.seconds * 1_000_000 + ts.nanos // 1000)
    except (ValueError, OverflowError, OSError) as exc:
        raise RecordProblem("record.field_invalid", "timestamp out of range") from exc


def _date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise RecordProblem("record.field_invalid", f"{field} is not an ISO date") from exc


def _record(msg: pb.AeoRecord) -> AeoRecord:
    if not msg.identifier:
        raise RecordProblem("record.field_missing", "identifier is empty")
    if msg.version == 0:
        raise RecordProblem("record.field_missing", "version is missing")
    if not msg.HasField("effective_at"):
        raise RecordProblem("record.field_missing", "effective_at is missing")
    status = _STATUS.get(msg.status)
    if status is None:
        raise RecordProblem("record.field_missing", "status is missing")
    return AeoRecord(
        identifier=msg.identifier,
        name=msg.name,
        address=msg.address,
        status=status,
        tier=msg.tier,
        version=msg.version,
        effective_at=_instant(msg.effective_at),
        event=_EVENT.get(msg.event, StatusEvent.UNSPECIFIED),
        authorised_from=_date(msg.authorised_from, "authorised_from"),
        valid_until=_date(msg.valid_until, "valid_until"),
        suspended_on=_date(msg.suspended_on, "suspended_on"),
        revoked_on=_date(msg.revoked_on, "revoked_on"),
        consent_withdrawn=msg.consent_withdrawn,
    )


def decode(payload: bytes) -> OpenedBatch:
    batch = pb.StatusBatch()
    try:
        batch.ParseFromString(payload)
    except DecodeError as exc:
        raise MalformedPayload(f"payload is not a StatusBatch: {exc}") from exc
    kind = _KIND.get(batch.kind)
    if not batch.partner or batch.sequence == 0 or kind is None or not batch.HasField("issued_at"):
        raise MalformedPayload("partner, sequence, kind and issued_at are required")
    try:
        issued_at = _instant(batch.issued_at)
    except RecordProblem as problem:
        raise MalformedPayload(f"issued_at: {problem.detail}") from problem
    records: list[AeoRecord] = []
    rejected: list[Rejection] = []
    for msg in batch.records:
        try:
            records.append(_record(msg))
        except RecordProblem as problem:
            rejected.append(Rejection(msg.identifier, msg.version, problem.reason, problem.detail))
    return OpenedBatch(
        partner=batch.partner,
        sequence=batch.sequence,
        issued_at=issued_at,
        kind=kind,
        records=tuple(records),
        rejected=tuple(rejected),
    )


def encode_record(record: AeoRecord) -> pb.AeoRecord:
    msg = pb.AeoRecord(
        identifier=record.identifier,
        name=record.name,
        address=record.address,
        status=STATUS_TO_PB[record.status],
        tier=record.tier,
        version=record.version,
        event=EVENT_TO_PB[record.event],
        authorised_from=record.authorised_from.isoformat() if record.authorised_from else "",
        valid_until=record.valid_until.isoformat() if record.valid_until else "",
        suspended_on=record.suspended_on.isoformat() if record.suspended_on else "",
        revoked_on=record.revoked_on.isoformat() if record.revoked_on else "",
        consent_withdrawn=record.consent_withdrawn,
    )
    msg.effective_at.FromDatetime(record.effective_at)
    return msg


def encode(
    partner: str, sequence: int, issued_at: datetime, kind: BatchKind, records: list[AeoRecord]
) -> bytes:
    """The payload bytes a partner signs (used by the partner simulator and the tests)."""
    batch = pb.StatusBatch(
        partner=partner,
        sequence=sequence,
        kind=KIND_TO_PB[kind],
        records=[encode_record(r) for r in records],
    )
    batch.issued_at.FromDatetime(issued_at)
    return batch.SerializeToString()


class NativeCodec:
    name = NAME

    def open(self, message: InboundMessage, signatures: SignatureCheck) -> OpenedBatch:
        # Signature first: nothing from an unverified payload is parsed, let alone trusted.
        signatures.verify(
            message.partner,
            message.key_id,
            message.algorithm,
            message.payload,
            message.signature,
            message.received_at,
        )
        return decode(message.payload)
