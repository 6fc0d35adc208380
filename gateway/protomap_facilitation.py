"""The facilitation report between protobuf and the domain, both ways in one place: the gRPC
edge answers GetFacilitationReport with ``report_to_pb``; the console reads the answer back
with ``report_from_pb`` to render it with gateway.report_render, as the CLI does.

A measure that is not available is an absent message on the wire and None in the domain; the
mean and 90th percentile (plain doubles on the wire) are None exactly when the median is.
"""

from __future__ import annotations

from gateway import protomap
from gateway.domain.errors import PeriodInvalid
from gateway.domain.facilitation import (
    Comparison,
    Estimate,
    Jurisdiction,
    Measures,
    Period,
    Report,
    Row,
)
from gateway.domain.periods import parse_period
from gateway.pb import facilitation_pb2 as pb

JURISDICTION = {
    pb.JURISDICTION_HOME: Jurisdiction.HOME,
    pb.JURISDICTION_ABROAD: Jurisdiction.ABROAD,
}
JURISDICTION_TO_PB = {v: k for k, v in JURISDICTION.items()}
_COMPARISONS = ("inspection", "document_review", "release_median")
_ESTIMATES = ("inspection_rate", "document_review_rate", "release_median_hours")


def report_to_pb(report: Report) -> pb.FacilitationReport:
    return pb.FacilitationReport(
        period=report.period.label,
        start=protomap.timestamp(report.start),
        end=protomap.timestamp(report.end),
        rows=[_row_to_pb(r) for r in report.rows],
        trend=[report_to_pb(t) for t in report.trend],
    )


def _row_to_pb(row: Row) -> pb.FacilitationRow:
    msg = pb.FacilitationRow(
        jurisdiction=JURISDICTION_TO_PB[row.jurisdiction],
        partner=row.partner,
        direction=protomap.DIRECTION_TO_PB[row.direction],
        grade=row.grade,
        before_recognition=row.before_recognition,
        group=_measures_to_pb(row.group),
        home_aeos_trading=row.home_aeos_trading,
    )
    if row.baseline is not None:
        msg.baseline.CopyFrom(_measures_to_pb(row.baseline))
    for name in _COMPARISONS:
        comparison: Comparison | None = getattr(row, name)
        if comparison is not None:
            getattr(msg, name).CopyFrom(
                pb.Comparison(
                    ratio=_estimate_to_pb(comparison.ratio),
                    reduction=_estimate_to_pb(comparison.reduction),
                )
            )
    return msg


def _measures_to_pb(m: Measures) -> pb.Measures:
    msg = pb.Measures(
        declarations=m.declarations,
        release_mean_hours=m.release_mean_hours or 0.0,
        release_p90_hours=m.release_p90_hours or 0.0,
    )
    for name in _ESTIMATES:
        estimate: Estimate | None = getattr(m, name)
        if estimate is not None:
            getattr(msg, name).CopyFrom(_estimate_to_pb(estimate))
    return msg


def _estimate_to_pb(e: Estimate) -> pb.Estimate:
    return pb.Estimate(value=e.value, low=e.low, high=e.high)


def report_from_pb(msg: pb.FacilitationReport) -> Report:
    """ValueError when the message names no period or holds an unknown enumeration value."""
    return Report(
        period=_period(msg.period),
        start=protomap.instant(msg.start),
        end=protomap.instant(msg.end),
        rows=tuple(_row_from_pb(r) for r in msg.rows),
        trend=tuple(report_from_pb(t) for t in msg.trend),
    )


def _period(label: str) -> Period:
    try:
        return parse_period(label)
    except PeriodInvalid as exc:  # a gateway never answers with one
        raise ValueError(f"the report's period {label!r} is not a period") from exc


def _row_from_pb(msg: pb.FacilitationRow) -> Row:
    direction = protomap.DIRECTION.get(msg.direction)
    jurisdiction = JURISDICTION.get(msg.jurisdiction)
    if direction is None or jurisdiction is None:
        raise ValueError(f"a report row without direction or jurisdiction: {msg}")
    return Row(
        jurisdiction=jurisdiction,
        partner=msg.partner,
        direction=direction,
        grade=msg.grade,
        before_recognition=msg.before_recognition,
        group=_measures_from_pb(msg.group),
        baseline=_measures_from_pb(msg.baseline) if msg.HasField("baseline") else None,
        inspection=_comparison_from_pb(msg, "inspection"),
        document_review=_comparison_from_pb(msg, "document_review"),
        release_median=_comparison_from_pb(msg, "release_median"),
        home_aeos_trading=msg.home_aeos_trading,
    )


def _comparison_from_pb(row: pb.FacilitationRow, name: str) -> Comparison | None:
    if not row.HasField(name):  # type: ignore[arg-type]  # one of _COMPARISONS
        return None
    msg: pb.Comparison = getattr(row, name)
    return Comparison(_estimate_from_pb(msg.ratio), _estimate_from_pb(msg.reduction))


def _measures_from_pb(msg: pb.Measures) -> Measures:
    def estimate(name: str) -> Estimate | None:
        if not msg.HasField(name):  # type: ignore[arg-type]  # one of _ESTIMATES
            return None
        return _estimate_from_pb(getattr(msg, name))

    released = msg.HasField("release_median_hours")
    return Measures(
        declarations=msg.declarations,
        inspection_rate=estimate("inspection_rate"),
        document_review_rate=estimate("document_review_rate"),
        release_median_hours=estimate("release_median_hours"),
        release_mean_hours=msg.release_mean_hours if released else None,
        release_p90_hours=msg.release_p90_hours if released else None,
    )


def _estimate_from_pb(msg: pb.Estimate) -> Estimate:
    return Estimate(msg.value, msg.low, msg.high)
