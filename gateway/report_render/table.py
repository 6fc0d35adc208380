"""The terminal table: one block per comparison (where, partner, direction), one line per grade,
within 100 columns; before-recognition rows apart; the trend in period columns that wrap."""

from __future__ import annotations

from itertools import groupby

from gateway.domain.facilitation import Estimate, Report, Row
from gateway.report_render import labels
from gateway.report_render.labels import NA

WIDTH = 100
_GRADE = 19
#: (heading, second heading line, width with one space before) of the columns after the grade.
_COLUMNS = (
    ("declarations", "AEO/baseline", 17),
    ("inspected", "AEO/baseline", 14),
    ("reduction", "[95% CI]", 17),
    ("median hours", "AEO/baseline", 13),
    ("reduction", "[95% CI]", 17),
)
_LEGEND = (
    'reduction: 1 - AEO/baseline; "4.2x": the AEO figure is 4.2 times the baseline\'s; '
    "n/a: not available"
)
_TREND_KEY = 44
_TREND_CELL = 8


def table(report: Report) -> str:
    lines = [
        f"Facilitation report {report.period.label} "
        f"({report.period.start.isoformat()} to {report.period.end.isoformat()}, end excluded)",
    ]
    current = [r for r in report.rows if not r.before_recognition]
    before = [r for r in report.rows if r.before_recognition]
    lines += _blocks(current) if current else ["", "No declarations in the period."]
    if before:
        lines += ["", "BEFORE RECOGNITION (lodged before the MRA entered into force; apart)"]
        lines += _blocks(before)
    lines += ["", _LEGEND]
    if report.trend:
        lines += _trend(report)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _blocks(rows: list[Row]) -> list[str]:
    lines: list[str] = []
    for _, block in groupby(rows, key=lambda r: (r.jurisdiction, r.partner, r.direction)):
        members = list(block)
        first = members[0]
        trading = (
            f" ({first.home_aeos_trading:,} home AEOs trading)" if first.home_aeos_trading else ""
        )
        lines += ["", _fit(labels.where(first) + trading)]
        lines.append("  " + "grade".ljust(_GRADE) + "".join(h.rjust(w) for h, _, w in _COLUMNS))
        lines.append("  " + "".ljust(_GRADE) + "".join(h.rjust(w) for _, h, w in _COLUMNS))
        lines += [_line(r) for r in members]
    return lines


def _line(row: Row) -> str:
    base = row.baseline
    cells = (
        f"{row.group.declarations:,}/{f'{base.declarations:,}' if base else NA}",
        f"{labels.rate(row.group.inspection_rate)}/"
        f"{labels.rate(base.inspection_rate) if base else NA}",
        labels.reduction(row.inspection),
        f"{_median(row.group.release_median_hours)}/"
        f"{_median(base.release_median_hours) if base else NA}",
        labels.reduction(row.release_median),
    )
    grade = row.grade if len(row.grade) <= _GRADE - 1 else row.grade[: _GRADE - 2] + "~"
    return (
        "  "
        + grade.ljust(_GRADE)
        + "".join(c.rjust(w) for c, (_, _, w) in zip(cells, _COLUMNS, strict=True))
    )


def _median(estimate: Estimate | None) -> str:
    return labels.hours(None if estimate is None else estimate.value)


def _trend(report: Report) -> list[str]:
    """The inspection-rate reduction per row and period, oldest first, wrapped to the width."""
    periods = (*report.trend, report)
    keys: list[tuple[str, str, str, str, bool]] = []
    names: dict[tuple[str, str, str, str, bool], str] = {}
    for period in periods:
        for row in period.rows:
            if not row.before_recognition and labels.key(row) not in names:
                keys.append(labels.key(row))
                names[labels.key(row)] = labels.short(row)
    values = {
        (labels.key(row), i): _whole(row) for i, period in enumerate(periods) for row in period.rows
    }
    per_line = (WIDTH - 2 - _TREND_KEY) // _TREND_CELL
    lines = ["", "TREND: inspection-rate reduction, AEO against baseline"]
    for start in range(0, len(periods), per_line):
        chunk = range(start, min(start + per_line, len(periods)))
        lines.append(
            "  "
            + "".ljust(_TREND_KEY)
            + "".join(periods[i].period.label.rjust(_TREND_CELL) for i in chunk)
        )
        for k in keys:
            lines.append(
                "  "
                + _fit(names[k], _TREND_KEY - 1).ljust(_TREND_KEY)
                + "".join(values.get((k, i), NA).rjust(_TREND_CELL) for i in chunk)
            )
    return lines


def _whole(row: Row) -> str:
    return labels.reduction(row.inspection, interval=False)


def _fit(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"
