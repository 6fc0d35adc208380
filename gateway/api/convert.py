"""Protobuf <-> domain conversions shared by the servicers and the client."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from adapters.times import to_us
from adapters.wire.native import STATUS_TO_PB
from gateway.domain.errors import InvalidQuery
from gateway.domain.recognition import Answer, Outcome
from gateway.pb import common_pb2, recognition_pb2

OUTCOME_TO_PB = {
    Outcome.RECOGNISED: recognition_pb2.OUTCOME_RECOGNISED,
    Outcome.NOT_RECOGNISED: recognition_pb2.OUTCOME_NOT_RECOGNISED,
    Outcome.UNKNOWN_OPERATOR: recognition_pb2.OUTCOME_UNKNOWN_OPERATOR,
    Outcome.CODE_FORMAT_UNKNOWN: recognition_pb2.OUTCOME_CODE_FORMAT_UNKNOWN,
}


def timestamp(moment: datetime) -> Timestamp:
    # Direct fields: Timestamp.FromDatetime is pure Python and this runs several times per answer.
    us = to_us(moment)
    return Timestamp(seconds=us // 1_000_000, nanos=us % 1_000_000 * 1000)


def optional_time(message: object, field: str) -> datetime | None:
    """A Timestamp field as an aware datetime, or None when unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    ts: Timestamp = getattr(message, field)
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidQuery(f"{field} is not a valid time") from exc


def answer_to_pb(answer: Answer) -> recognition_pb2.RecognitionAnswer:
    msg = recognition_pb2.RecognitionAnswer(
        declared_code=answer.declared_code,
        normalised_code=answer.normalised_code,
        outcome=OUTCOME_TO_PB[answer.outcome],
        reason=answer.reason,
        administration=answer.administration,
        programme=answer.programme,
        treatment=answer.treatment,
        grade_scheme=answer.grade_scheme,
        benefits=answer.benefits,
        as_of=timestamp(answer.as_of),
    )
    record, basis = answer.record, answer.basis
    if record is not None:
        msg.tier = record.tier
        msg.status = STATUS_TO_PB.get(record.status, common_pb2.RECORD_STATUS_UNSPECIFIED)
        msg.operator_name = record.name
    if basis is not None and record is not None:
        msg.basis.CopyFrom(
            recognition_pb2.Basis(
                message_id=basis.message_id,
                sequence=basis.sequence,
                received_at=timestamp(basis.received_at),
                key_id=basis.key_id,
                algorithm=basis.algorithm,
                record_version=record.version,
                effective_at=timestamp(record.effective_at),
            )
        )
    return msg
