"""The facilitation page, in front of a real gateway with recorded declaration outcomes: the
period the dates name, its tables and charts, both languages, and dates it cannot report."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from gateway.console.pages.facilitation import period_for
from tests.console.catalogue_check import page_messages, untranslated
from tests.console.client import ConsoleClient, Page
from tests.console.conftest import LiveConsole
from tests.factories import record
from tests.integration.helpers import now, partner_client, submit
from tests.integration.test_facilitation_over_mtls import (
    REGULAR_CODE,
    client,
    outcome,
    register_regular_home_enterprise,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def month(console: LiveConsole) -> tuple[date, date]:
    """One recognised SG declaration and ten regular home ones (the baseline), this month in the
    home administration's days; its first and last day."""
    live = console.live
    submit(partner_client(live), 1, record())
    register_regular_home_enterprise(live)
    facilitation = client(live)
    facilitation.record(outcome(1, "SG000000000001", inspected=False, minutes=60))
    for n in range(2, 12):
        facilitation.record(outcome(n, REGULAR_CODE, inspected=n % 2 == 0, minutes=120))
    first = (now() - timedelta(minutes=90)).astimezone(SHANGHAI).date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def report_of(
    browser: ConsoleClient, start: date, end: date, partner: str = "", **headers: str
) -> tuple[Page, str]:
    page = browser.get(
        "/facilitation?"
        + urlencode({"start": start.isoformat(), "end": end.isoformat(), "partner": partner}),
        **headers,
    )
    assert page.status == 200, page.text
    found = re.search(r'<section id="report".*</section>', page.text, re.S)
    assert found is not None
    return page, found.group(0)


def test_the_form_offers_dates_and_every_partner(console: LiveConsole) -> None:
    page = console.client("admin").get("/facilitation")
    assert page.status == 200
    assert 'type="date" id="start"' in page.text
    assert 'type="date" id="end"' in page.text
    assert '<label for="partner">' in page.text
    assert '<option value="SG">' in page.text
    assert 'id="report"' not in page.text


def test_a_months_report_with_its_tables_and_charts(
    console: LiveConsole, month: tuple[date, date]
) -> None:
    page, report = report_of(console.client("admin"), *month, partner="SG")
    label = month[0].strftime("%Y-%m")
    assert f"Report for {label}" in report
    assert 'role="status"' not in report  # the dates are exactly the month
    assert "advanced certified" in report
    assert "<td>SG</td>" in report
    assert '<td class="num">10</td>' in report  # the baseline's declarations
    assert "50.0%" in report  # the baseline's inspection rate
    images = re.findall(
        r'<img class="chart" src="data:image/png;base64,[^"]+" alt="([^"]+)"', report
    )
    assert len(images) == 3  # inspection, release, trend
    assert all(alt.startswith(("Inspection rate", "Release time")) for alt in images)
    assert "Trend: inspection reduction per period" in report
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_the_report_in_chinese(console: LiveConsole, month: tuple[date, date]) -> None:
    start, end = month
    page, report = report_of(console.client("admin"), start, end, **{"Accept-Language": "zh-CN"})
    assert "报告" in report
    assert "查验率（AEO）" in report  # noqa: RUF001  # Chinese punctuation
    assert "放行时间中位数（小时，AEO）" in report  # noqa: RUF001
    alts = re.findall(r'<img class="chart" [^>]*alt="([^"]+)"', report)
    assert alts
    assert all("见下方表格" in alt for alt in alts)
    for english in ("Measures", "Inspection rate, AEO", "Declarations, baseline", "Where"):
        assert english not in page.text


def test_an_empty_period_says_so(console: LiveConsole) -> None:
    _, report = report_of(console.client("admin"), date(2020, 1, 1), date(2020, 12, 31))
    assert "Report for 2020" in report
    assert 'id="no-declarations"' in report


def test_dates_that_are_no_period_show_the_one_that_covers_them(console: LiveConsole) -> None:
    _, report = report_of(console.client("admin"), date(2020, 2, 10), date(2020, 3, 5))
    assert "Report for 2020Q1" in report
    assert 'class="notice" role="status"' in report


def test_dates_it_cannot_report_are_an_error_on_the_form(console: LiveConsole) -> None:
    browser = console.client("admin")
    for start, end in (("2020-03-01", "2020-02-01"), ("2020-06-01", "2021-02-01"), ("x", "")):
        page = browser.get("/facilitation?" + urlencode({"start": start, "end": end}))
        assert page.status == 400
        assert 'role="alert"' in page.text
        assert 'id="start"' in page.text


@pytest.mark.parametrize(
    ("start", "end", "label", "exact"),
    [
        (date(2026, 7, 1), date(2026, 7, 31), "2026-07", True),
        (date(2026, 7, 1), date(2026, 8, 1), "2026-07", True),  # the day after, as exclusive
        (date(2026, 7, 1), date(2026, 9, 30), "2026Q3", True),
        (date(2026, 1, 1), date(2026, 12, 31), "2026", True),
        (date(2026, 7, 5), date(2026, 7, 6), "2026-07", False),
        (date(2026, 7, 5), date(2026, 8, 6), "2026Q3", False),
        (date(2026, 3, 5), date(2026, 4, 6), "2026", False),
    ],
)
def test_the_period_the_dates_name(start: date, end: date, label: str, exact: bool) -> None:
    period, was_exact = period_for(start, end)
    assert (period.label, was_exact) == (label, exact)


def test_every_string_of_the_page_is_translated() -> None:
    mine = page_messages("facilitation")
    assert len(mine) > 40
    assert untranslated(mine) == []
