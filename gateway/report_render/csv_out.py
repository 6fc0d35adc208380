"""CSV: one line per row (the period's, then the trend's, each naming its period), every measure
and every interval bound in its own column; an empty cell where a measure is not available."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from gateway.domain.facilitation import Comparison, Estimate, Measures, Report, Row

_KEYS = (
    "period",
    "period_start",
    "period_end",
    "jurisdiction",
    "partner",
    "direction",
    "grade",
    "before_recognition",
    "home_aeos_trading",
)
_MEASURES = (
    "declarations",
    *(f"inspection_rate{s}" for s in ("", "_low", "_high")),
    *(f"document_review_rate{s}" for s in ("", "_low", "_high")),
    *(f"release_median_hours{s}" for s in ("", "_low", "_high")),
    "release_mean_hours",
    "release_p90_hours",
)
_COMPARISONS = tuple(
    f"{measure}_{what}{s}"
    for measure in ("inspection", "document_review", "release_median")
    for what in ("ratio", "reduction")
    for s in ("", "_low", "_high")
)
HEADER = (
    *_KEYS,
    *(f"aeo_{m}" for m in _MEASURES),
    *(f"baseline_{m}" for m in _MEASURES),
    *_COMPARISONS,
)

Cell = str | int | float


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for period in (report, *report.trend):
        writer.writerows(_cells(period, row) for row in period.rows)
    return out.getvalue()


def _cells(report: Report, row: Row) -> list[str]:
    cells: list[Cell | None] = [
        report.period.label,
        report.period.start.isoformat(),
        report.period.end.isoformat(),
        row.jurisdiction.value,
        row.partner,
        row.direction.value,
        row.grade,
        "true" if row.before_recognition else "false",
        row.home_aeos_trading,
        *_measures(row.group),
        *_measures(row.baseline),
        *_comparison(row.inspection),
        *_comparison(row.document_review),
        *_comparison(row.release_median),
    ]
    # repr of a float reads back as the same float.
    return ["" if c is None else repr(c) if isinstance(c, float) else str(c) for c in cells]


def _measures(m: Measures | None) -> Iterator[Cell | None]:
    if m is None:
        yield from [None] * len(_MEASURES)
        return
    yield m.declarations
    yield from _estimate(m.inspection_rate)
    yield from _estimate(m.document_review_rate)
    yield from _estimate(m.release_median_hours)
    yield m.release_mean_hours
    yield m.release_p90_hours


def _comparison(c: Comparison | None) -> Iterator[float | None]:
    yield from _estimate(None if c is None else c.ratio)
    yield from _estimate(None if c is None else c.reduction)


def _estimate(e: Estimate | None) -> tuple[float | None, float | None, float | None]:
    return (None, None, None) if e is None else (e.value, e.low, e.high)
