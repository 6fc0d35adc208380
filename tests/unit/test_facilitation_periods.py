"""Report periods: years, quarters and months as home days, and the trend before them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.errors import PeriodInvalid
from gateway.domain.periods import bounds, parse_period, trend_periods


@pytest.mark.parametrize(
    ("text", "label", "start", "end"),
    [
        ("2026", "2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026Q3", "2026Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026q4", "2026Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-07", "2026-07", date(2026, 7, 1), date(2026, 8, 1)),
        (" 2026-12 ", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_periods_parse_to_half_open_day_ranges(
    text: str, label: str, start: date, end: date
) -> None:
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "26",
        "2026Q5",
        "2026Q0",
        "2026-13",
        "2026-7",
        "2026-00",
        "Q3",
        "0000",
        "9999",
        "\uff12\uff10\uff12\uff16",
        "\u0662\u0660\u0662\u0666Q1",
    ],
)
def test_anything_else_is_refused_with_a_stable_reason(text: str) -> None:
    with pytest.raises(PeriodInvalid) as caught:
        parse_period(text)
    assert caught.value.reason == "report.period_invalid"


def test_bounds_are_midnight_in_the_home_zone() -> None:
    start, end = bounds(parse_period("2026Q3"), ZoneInfo("Asia/Shanghai"))
    assert start.astimezone(UTC) == datetime(2026, 6, 30, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 9, 30, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("2026Q3", ["2025Q4", "2026Q1", "2026Q2"]),
        ("2026Q1", ["2025Q2", "2025Q3", "2025Q4"]),
        ("2026", ["2025"]),
        ("2026-02", ["2025-03", *[f"2025-{m:02d}" for m in range(4, 13)], "2026-01"]),
    ],
)
def test_trend_is_the_same_kind_within_the_year_before(text: str, labels: list[str]) -> None:
    assert [p.label for p in trend_periods(parse_period(text))] == labels


def test_trend_stops_at_the_first_year() -> None:
    assert [p.label for p in trend_periods(parse_period("0001Q2"))] == ["0001Q1"]
