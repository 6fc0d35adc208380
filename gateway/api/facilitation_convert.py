"""Protobuf <-> domain conversions of facilitation: outcomes in, the report out. Shared with
the partner exchange, whose OutcomeReport carries the same DeclarationOutcome."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from gateway import protomap
from gateway.domain.errors import OutcomeInvalid
from gateway.domain.facilitation import (
    Comparison,
    DeclarationFacts,
    Estimate,
    Jurisdiction,
    Measures,
    Report,
    Row,
)
from gateway.pb import common_pb2
from gateway.pb import facilitation_pb2 as pb

JURISDICTION_TO_PB = {
    Jurisdiction.HOME: pb.JURISDICTION_HOME,
    Jurisdiction.ABROAD: pb.JURISDICTION_ABROAD,
}


def declaration_facts(msg: pb.DeclarationOutcome) -> DeclarationFacts:
    """OutcomeInvalid names the field when one is missing or out of range."""
    direction = protomap.DIRECTION.get(msg.direction)
    if direction is None:
        raise OutcomeInvalid(
            "direction is required: TRADE_DIRECTION_IMPORT or _EXPORT", field="direction"
        )
    mode = None
    if msg.mode != common_pb2.TRANSPORT_MODE_UNSPECIFIED:
        mode = protomap.MODE.get(msg.mode)
        if mode is None:
            raise OutcomeInvalid(f"mode {msg.mode} is not a TransportMode", field="mode")
    return DeclarationFacts(
        declaration_id=msg.declaration_id,
        declared_code=msg.declared_code,
        direction=direction,
        mode=mode,
        arrived_at=_time(msg, "arrived_at"),
        released_at=_time(msg, "released_at"),
        document_review=msg.document_review,
        inspected=msg.inspected,
    )


def _time(msg: pb.DeclarationOutcome, field: str) -> datetime:
    if not msg.HasField(field):  # type: ignore[arg-type]
        raise OutcomeInvalid(f"{field} is required", field=field)
    stamp: Timestamp = getattr(msg, field)
    try:
        return protomap.instant(stamp)
    except ValueError as exc:
        raise OutcomeInvalid(f"{field} is not a valid time", field=field) from exc


def report_to_pb(report: Report) -> pb.FacilitationReport:
    return pb.FacilitationReport(
        period=report.period.label,
        start=protomap.timestamp(report.start),
        end=protomap.timestamp(report.end),
        rows=[_row(r) for r in report.rows],
        trend=[report_to_pb(t) for t in report.trend],
    )


def _row(row: Row) -> pb.FacilitationRow:
    msg = pb.FacilitationRow(
        jurisdiction=JURISDICTION_TO_PB[row.jurisdiction],
        partner=row.partner,
        direction=protomap.DIRECTION_TO_PB[row.direction],
        grade=row.grade,
        before_recognition=row.before_recognition,
        group=_measures(row.group),
        home_aeos_trading=row.home_aeos_trading,
    )
    if row.baseline is not None:
        msg.baseline.CopyFrom(_measures(row.baseline))
    for name, comparison in (
        ("inspection", row.inspection),
        ("document_review", row.document_review),
        ("release_median", row.release_median),
    ):
        if comparison is not None:
            getattr(msg, name).CopyFrom(_comparison(comparison))
    return msg


def _measures(m: Measures) -> pb.Measures:
    msg = pb.Measures(
        declarations=m.declarations,
        release_mean_hours=m.release_mean_hours or 0.0,
        release_p90_hours=m.release_p90_hours or 0.0,
    )
    for name, estimate in (
        ("inspection_rate", m.inspection_rate),
        ("document_review_rate", m.document_review_rate),
        ("release_median_hours", m.release_median_hours),
    ):
        if estimate is not None:
            getattr(msg, name).CopyFrom(_estimate(estimate))
    return msg


def _estimate(e: Estimate) -> pb.Estimate:
    return pb.Estimate(value=e.value, low=e.low, high=e.high)


def _comparison(c: Comparison) -> pb.Comparison:
    return pb.Comparison(ratio=_estimate(c.ratio), reduction=_estimate(c.reduction))
