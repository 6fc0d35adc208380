"""JSON: everything the Report holds, under stable keys; null where a measure is not available.

`from_json` reads it back into the same Report (what scripts and the tests rely on).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from gateway.domain.facilitation import (
    Comparison,
    Estimate,
    Jurisdiction,
    Measures,
    Period,
    Report,
    Row,
)
from gateway.domain.partners import TradeDirection

_COMPARISONS = ("inspection", "document_review", "release_median")


def to_json(report: Report) -> str:
    # allow_nan=False: a NaN or infinity is a defect upstream, never something to print.
    return json.dumps(to_dict(report), indent=2, allow_nan=False) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "period": {
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "rows": [_row(r) for r in report.rows],
        "trend": [to_dict(t) for t in report.trend],
    }


def _row(row: Row) -> dict[str, Any]:
    return {
        "jurisdiction": row.jurisdiction.value,
        "partner": row.partner,
        "direction": row.direction.value,
        "grade": row.grade,
        "before_recognition": row.before_recognition,
        "home_aeos_trading": row.home_aeos_trading,
        "group": _measures(row.group),
        "baseline": None if row.baseline is None else _measures(row.baseline),
        **{name: _comparison(getattr(row, name)) for name in _COMPARISONS},
    }


def _measures(m: Measures) -> dict[str, Any]:
    return {
        "declarations": m.declarations,
        "inspection_rate": _estimate(m.inspection_rate),
        "document_review_rate": _estimate(m.document_review_rate),
        "release_median_hours": _estimate(m.release_median_hours),
        "release_mean_hours": m.release_mean_hours,
        "release_p90_hours": m.release_p90_hours,
    }


def _comparison(c: Comparison | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"ratio": _estimate(c.ratio), "reduction": _estimate(c.reduction)}


def _estimate(e: Estimate | None) -> dict[str, float] | None:
    return None if e is None else {"value": e.value, "low": e.low, "high": e.high}


def from_json(text: str) -> Report:
    return from_dict(json.loads(text))


def from_dict(d: dict[str, Any]) -> Report:
    p = d["period"]
    return Report(
        period=Period(p["label"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"])),
        start=datetime.fromisoformat(d["start"]),
        end=datetime.fromisoformat(d["end"]),
        rows=tuple(_read_row(r) for r in d["rows"]),
        trend=tuple(from_dict(t) for t in d["trend"]),
    )


def _read_row(d: dict[str, Any]) -> Row:
    return Row(
        jurisdiction=Jurisdiction(d["jurisdiction"]),
        partner=d["partner"],
        direction=TradeDirection(d["direction"]),
        grade=d["grade"],
        before_recognition=d["before_recognition"],
        group=_read_measures(d["group"]),
        baseline=None if d["baseline"] is None else _read_measures(d["baseline"]),
        home_aeos_trading=d["home_aeos_trading"],
        inspection=_read_comparison(d["inspection"]),
        document_review=_read_comparison(d["document_review"]),
        release_median=_read_comparison(d["release_median"]),
    )


def _read_measures(d: dict[str, Any]) -> Measures:
    return Measures(
        declarations=d["declarations"],
        inspection_rate=_read_estimate(d["inspection_rate"]),
        document_review_rate=_read_estimate(d["document_review_rate"]),
        release_median_hours=_read_estimate(d["release_median_hours"]),
        release_mean_hours=d["release_mean_hours"],
        release_p90_hours=d["release_p90_hours"],
    )


def _read_comparison(d: dict[str, Any] | None) -> Comparison | None:
    if d is None:
        return None
    return Comparison(_read_estimate_required(d["ratio"]), _read_estimate_required(d["reduction"]))


def _read_estimate(d: dict[str, float] | None) -> Estimate | None:
    return None if d is None else _read_estimate_required(d)


def _read_estimate_required(d: dict[str, float]) -> Estimate:
    return Estimate(d["value"], d["low"], d["high"])
