"""Facilitation: what mutual recognition achieved in a period, for every partner or one — the
report of FacilitationService.GetFacilitationReport with the charts the CLI draws
(gateway.report_render) and its tables rendered here, with translated headings.

The gateway reports whole calendar months, quarters and years (in the home administration's
days); the page takes the start and end dates a person thinks in and asks for the period they
name, or the smallest one that covers them, saying so.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, g, render_template, request

from gateway.console import views
from gateway.console.i18n import _
from gateway.console.views import N_
from gateway.domain.facilitation import Jurisdiction, Measures, Period, Report, Row
from gateway.domain.periods import parse_period
from gateway.pb import facilitation_pb2
from gateway.protomap_facilitation import report_from_pb
from gateway.report_render import labels

blueprint = Blueprint("facilitation", __name__)

DIRECTION = {"import": N_("import"), "export": N_("export")}


@dataclass(frozen=True)
class Figure:
    caption: str
    alt: str
    data_uri: str


@blueprint.get("/facilitation")
def facilitation() -> tuple[str, int]:
    today = datetime.now(g.zone).date()
    quarter = parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}")
    form = {
        "start": request.args.get("start", quarter.start.isoformat()),
        "end": request.args.get("end", (quarter.end - timedelta(days=1)).isoformat()),
        "partner": request.args.get("partner", ""),
    }
    partners = [(views.code(p.name), p.display_name) for p in views.partners(g.api)]
    shown: dict[str, Any] = {"form": form, "partners": partners}
    if "start" not in request.args:
        return render_template("facilitation.html", **shown), 200
    try:
        period, exact = period_for(_day(form["start"]), _day(form["end"]))
    except ValueError as problem:
        return render_template("facilitation.html", error=str(problem), **shown), 400
    answer = g.api.facilitation.GetFacilitationReport(
        facilitation_pb2.GetFacilitationReportRequest(period=period.label, partner=form["partner"])
    )
    report = report_from_pb(answer.report)
    return render_template(
        "facilitation.html",
        report=report,
        exact=exact,
        tables=_tables(report),
        figures=_figures(report),
        **shown,
    ), 200


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            _("%(text)s is not a date such as 2026-07-01.") % {"text": text or "—"}
        ) from None


def period_for(start: date, end: date) -> tuple[Period, bool]:
    """The month, quarter or year from ``start`` to ``end`` (the last day, or the day after
    it), and True; else the smallest of them that covers both days, and False. ValueError
    (translated) when none does."""
    if end < start:
        raise ValueError(_("The end date is before the start date."))
    kinds = (
        f"{start.year:04d}-{start.month:02d}",
        f"{start.year:04d}Q{(start.month - 1) // 3 + 1}",
        f"{start.year:04d}",
    )
    periods = [parse_period(label) for label in kinds]
    for period in periods:
        if period.start == start and end in (period.end - timedelta(days=1), period.end):
            return period, True
    for period in periods:
        if end < period.end:
            return period, False
    raise ValueError(
        _("The gateway reports a month, a quarter or a year: choose dates within one year.")
    )


def na(text: str) -> str:
    """report_render's "not available", in the user's language."""
    return text.replace(labels.NA, _("n/a"))


@dataclass(frozen=True)
class TableRow:
    where: str
    partner: str
    direction: str
    grade: str
    before_recognition: bool
    numbers: tuple[str, ...]


def _tables(report: Report) -> dict[str, Any]:
    rows = [
        TableRow(
            _("abroad") if r.jurisdiction is Jurisdiction.ABROAD else _("at home"),
            r.partner or _("home grades"),
            _(DIRECTION[r.direction.value]),
            r.grade,
            r.before_recognition,
            tuple(na(n) for n in _numbers(r)),
        )
        for r in report.rows
    ]
    periods = [*report.trend, report]
    trend: dict[str, dict[str, str]] = {}
    for period in periods:
        for r in period.rows:
            if not r.before_recognition:
                trend.setdefault(labels.short(r), {})[period.period.label] = na(
                    labels.reduction(r.inspection)
                )
    return {"rows": rows, "trend_periods": [p.period.label for p in periods], "trend": trend}


def _numbers(row: Row) -> tuple[str, ...]:
    base = row.baseline
    return (
        f"{row.group.declarations:,}",
        f"{base.declarations:,}" if base else labels.NA,
        labels.interval(row.group.inspection_rate),
        _of(base, "inspection_rate"),
        labels.reduction(row.inspection),
        labels.interval(row.group.document_review_rate),
        _of(base, "document_review_rate"),
        labels.reduction(row.document_review),
        labels.interval(row.group.release_median_hours, "hours"),
        _of(base, "release_median_hours", "hours"),
        labels.reduction(row.release_median),
        labels.hours(row.group.release_mean_hours),
        labels.hours(base.release_mean_hours) if base else labels.NA,
        labels.hours(row.group.release_p90_hours),
        labels.hours(base.release_p90_hours) if base else labels.NA,
        f"{row.home_aeos_trading:,}",
    )


def _of(measures: Measures | None, name: str, form: str = "percent") -> str:
    return labels.NA if measures is None else labels.interval(getattr(measures, name), form)


def _figures(report: Report) -> list[Figure]:
    """The CLI's charts (their axes and legends in English), with captions and alt text in the
    user's language; in English the alt text is the chart's own, which lists every value."""
    if not report.rows:
        return []
    # matplotlib only when there is something to draw: it is slow to import.
    from gateway.report_render import charts

    label = report.period.label
    drawn = [
        (
            charts.inspection(report),
            _("Inspection rate, AEO against baseline, %(period)s") % {"period": label},
        ),
        (charts.release(report), _("Release time per group, %(period)s") % {"period": label}),
    ]
    if report.trend:
        first = report.trend[0].period.label
        drawn.append(
            (
                charts.trend(report),
                _("Inspection rate against baseline, %(first)s to %(period)s")
                % {"first": first, "period": label},
            )
        )
    english = g.language == "en"
    return [
        Figure(
            caption,
            chart.alt if english else caption + _(": the figures are in the tables below."),
            "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii"),
        )
        for chart, caption in drawn
    ]
