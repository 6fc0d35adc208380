"""Report periods: a calendar year ("2026"), quarter ("2026Q3") or month ("2026-07"), as days
of the home administration, and the periods of the same kind before one (the trend)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

from gateway.domain.errors import PeriodInvalid, shown
from gateway.domain.facilitation import Period

_YEAR = re.compile(r"(\d{4})", re.ASCII)
_QUARTER = re.compile(r"(\d{4})[Qq]([1-4])", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
#: The years a period may name: the next one's start must still be a date.
_FIRST_YEAR, _LAST_YEAR = 1, 9998


def parse_period(text: str) -> Period:
    """The period ``text`` names; PeriodInvalid when it names none."""
    text = text.strip()
    for pattern, kind in ((_YEAR, "year"), (_QUARTER, "quarter"), (_MONTH, "month")):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        year = int(found.group(1))
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            break
        if kind == "year":
            return _year(year)
        if kind == "quarter":
            return _quarter(year, int(found.group(2)))
        return _month(year, int(found.group(2)))
    raise PeriodInvalid(
        f"{shown(text)} is not a period: write a year (2026), a quarter (2026Q3) or a month "
        "(2026-07)",
        period=text,
    )


def _year(year: int) -> Period:
    return Period(f"{year:04d}", date(year, 1, 1), date(year + 1, 1, 1))


def _quarter(year: int, quarter: int) -> Period:
    first = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year:04d}Q{quarter}", first, end)


def _month(year: int, month: int) -> Period:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(f"{year:04d}-{month:02d}", date(year, month, 1), end)


def previous(period: Period) -> Period:
    """The period of the same kind just before ``period``."""
    return parse_period(_label_before(period))


def _label_before(period: Period) -> str:
    year, month = period.start.year, period.start.month
    months = _months(period)
    if months == 12:
        return f"{year - 1:04d}"
    if months == 3:
        quarter = (month - 1) // 3 + 1
        return f"{year - 1:04d}Q4" if quarter == 1 else f"{year:04d}Q{quarter - 1}"
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def _months(period: Period) -> int:
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month


def trend_periods(period: Period) -> tuple[Period, ...]:
    """The periods of the same kind within the year before ``period``, oldest first: 2026Q3 ->
    2025Q4, 2026Q1, 2026Q2; 2026-07 -> 2025-08 ... 2026-06; 2026 -> 2025."""
    count = {12: 1, 3: 3, 1: 11}[_months(period)]
    found: list[Period] = []
    current = period
    for _ in range(count):
        if current.start == date(_FIRST_YEAR, 1, 1):
            break
        current = previous(current)
        found.append(current)
    return tuple(reversed(found))


def bounds(period: Period, zone: tzinfo) -> tuple[datetime, datetime]:
    """The period's first instant and the first after it, at midnight in ``zone``."""
    return (
        datetime.combine(period.start, time(), zone),
        datetime.combine(period.end, time(), zone),
    )
