"""Outcome reports in the native wire format: a serialized aeo.gateway.v1.OutcomeReport with a
detached signature over its exact bytes, as status batches are (adapters/wire/native.py)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from adapters.wire import native
from adapters.wire.protowire import count_field
from gateway import protomap
from gateway.domain.errors import MalformedPayload, TooManyRecords
from gateway.domain.messages import DetachedSignature, InboundMessage, SealedEnvelope
from gateway.domain.outcome_reports import (
    AggregateDraft,
    DecodedOutcomeReport,
    OutcomeDraft,
    OutcomeReportDraft,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.pb import facilitation_pb2 as fpb

NAME = "native"
_OUTCOMES = fpb.OutcomeReport.OUTCOMES_FIELD_NUMBER
_AGGREGATES = fpb.OutcomeReport.AGGREGATES_FIELD_NUMBER


def _too_many(limits: DecodeLimits) -> TooManyRecords:
    return TooManyRecords(
        f"more than {limits.max_records} outcomes and aggregates in one report",
        limit=str(limits.max_records),
    )


def check_size(payload: bytes, limits: DecodeLimits) -> None:
    """Counts outcomes and aggregates on the wire, before the signature is hashed: a report
    of millions of entries costs the reading of the limit's worth of them."""
    try:
        outcomes = count_field(payload, _OUTCOMES, stop_after=limits.max_records)
        aggregates = count_field(payload, _AGGREGATES, stop_after=limits.max_records - outcomes)
    except ValueError:
        return  # not a message: the parser says so, after the signature
    if outcomes + aggregates > limits.max_records:
        raise _too_many(limits)


def _instant(msg: object, field: str) -> datetime | None:
    """The instant in ``field``, None when unset; ValueError when out of range."""
    assert hasattr(msg, "HasField")
    return protomap.instant(getattr(msg, field)) if msg.HasField(field) else None


def _outcome(reported: fpb.ReportedOutcome) -> OutcomeDraft:
    o = reported.outcome
    problem = None
    try:
        arrived, released = _instant(o, "arrived_at"), _instant(o, "released_at")
    except ValueError as exc:
        arrived = released = None
        problem = ("outcome.field_invalid", f"arrived_at or released_at: {exc}")
    direction = protomap.DIRECTION.get(o.direction)
    mode = protomap.MODE.get(o.mode)
    if mode is None and o.mode:
        problem = problem or ("outcome.field_invalid", f"mode {o.mode} is not known")
    if direction is None and o.direction:
        problem = problem or ("outcome.field_invalid", f"direction {o.direction} is not known")
    return OutcomeDraft(
        o.declaration_id,
        o.declared_code,
        direction,
        mode,
        arrived,
        released,
        o.document_review,
        o.inspected,
        reported.baseline,
        problem,
    )


def _aggregate(a: fpb.OutcomeAggregate) -> AggregateDraft:
    problem = None
    try:
        start, end = _instant(a, "start"), _instant(a, "end")
    except ValueError as exc:
        start = end = None
        problem = ("aggregate.invalid", f"start or end: {exc}")
    direction = protomap.DIRECTION.get(a.direction)
    return AggregateDraft(
        direction,
        start,
        end,
        a.declarations,
        a.inspected,
        a.document_reviews,
        a.release_median_hours,
        a.release_mean_hours,
        a.release_p90_hours,
        problem,
    )


def _parse(payload: bytes, limits: DecodeLimits) -> OutcomeReportDraft:
    report = fpb.OutcomeReport()
    try:
        report.ParseFromString(payload)
    except DecodeError as exc:
        raise MalformedPayload(f"payload is not an OutcomeReport: {exc}") from exc
    if len(report.outcomes) + len(report.aggregates) > limits.max_records:
        raise _too_many(limits)  # the wire count's second line of defence
    if not report.partner or not report.HasField("issued_at"):
        raise MalformedPayload("partner and issued_at are required")
    try:
        issued_at = protomap.instant(report.issued_at)
    except ValueError as exc:
        raise MalformedPayload(f"issued_at: {exc}") from exc
    return OutcomeReportDraft(
        report.partner,
        issued_at,
        tuple(_outcome(o) for o in report.outcomes),
        tuple(_aggregate(a) for a in report.aggregates),
    )


def _set(target: Timestamp, moment: datetime | None) -> None:
    if moment is not None:
        protomap.set_timestamp(target, moment)


def encode(report: OutcomeReportDraft) -> bytes:
    msg = fpb.OutcomeReport(partner=report.partner)
    protomap.set_timestamp(msg.issued_at, report.issued_at)
    for d in report.outcomes:
        o = msg.outcomes.add(baseline=d.baseline).outcome
        o.declaration_id, o.declared_code = d.declaration_id, d.declared_code
        if d.direction is not None:
            o.direction = protomap.DIRECTION_TO_PB[d.direction]
        if d.mode is not None:
            o.mode = protomap.MODE_TO_PB[d.mode]
        _set(o.arrived_at, d.arrived_at)
        _set(o.released_at, d.released_at)
        o.document_review, o.inspected = d.document_review, d.inspected
    for g in report.aggregates:
        a = msg.aggregates.add(
            declarations=g.declarations,
            inspected=g.inspected,
            document_reviews=g.document_reviews,
            release_median_hours=g.release_median_hours,
            release_mean_hours=g.release_mean_hours,
            release_p90_hours=g.release_p90_hours,
        )
        if g.direction is not None:
            a.direction = protomap.DIRECTION_TO_PB[g.direction]
        _set(a.start, g.start)
        _set(a.end, g.end)
    return msg.SerializeToString()


class NativeOutcomeCodec:
    name = NAME

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedOutcomeReport:
        detached = native.verified(message, keys, lambda payload: check_size(payload, limits))
        report = _parse(message.payload, limits)
        return DecodedOutcomeReport(report, detached.key_id, detached.algorithm)

    def seal(self, report: OutcomeReportDraft, signer: Signer) -> SealedEnvelope:
        payload = encode(report)
        signature = DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload))
        return SealedEnvelope(NAME, payload, signature)
