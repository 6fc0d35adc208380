"""Facilitation reports built by hand, for the renderers' tests (no store, no generator)."""

from __future__ import annotations

from datetime import UTC, date, datetime

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

_QUARTERS = (
    ("2025Q4", date(2025, 10, 1), date(2026, 1, 1)),
    ("2026Q1", date(2026, 1, 1), date(2026, 4, 1)),
    ("2026Q2", date(2026, 4, 1), date(2026, 7, 1)),
    ("2026Q3", date(2026, 7, 1), date(2026, 10, 1)),
)


def measures(declarations: int, inspected: float, median: float) -> Measures:
    return Measures(
        declarations=declarations,
        inspection_rate=Estimate(inspected, inspected * 0.8, min(1.0, inspected * 1.25)),
        document_review_rate=Estimate(inspected / 2, inspected * 0.4, inspected * 0.6),
        release_median_hours=Estimate(median, median * 0.9, median * 1.1),
        release_mean_hours=median * 1.2,
        release_p90_hours=median * 2.5,
    )


def compared(group: Measures, baseline: Measures) -> dict[str, Comparison | None]:
    def one(g: Estimate | None, b: Estimate | None) -> Comparison | None:
        if g is None or b is None or b.value == 0:
            return None
        ratio = Estimate(g.value / b.value, g.low / b.high, g.high / b.low)
        return Comparison(ratio, Estimate(1 - ratio.value, 1 - ratio.high, 1 - ratio.low))

    return {
        "inspection": one(group.inspection_rate, baseline.inspection_rate),
        "document_review": one(group.document_review_rate, baseline.document_review_rate),
        "release_median": one(group.release_median_hours, baseline.release_median_hours),
    }


def row(
    jurisdiction: Jurisdiction,
    partner: str,
    direction: TradeDirection,
    grade: str,
    group: Measures,
    baseline: Measures | None,
    *,
    before: bool = False,
    trading: int = 0,
) -> Row:
    comparisons = (
        compared(group, baseline)
        if baseline
        else dict.fromkeys(("inspection", "document_review", "release_median"))
    )
    return Row(
        jurisdiction=jurisdiction,
        partner=partner,
        direction=direction,
        grade=grade,
        before_recognition=before,
        group=group,
        baseline=baseline,
        home_aeos_trading=trading,
        **comparisons,
    )


def rows(scale: float) -> tuple[Row, ...]:
    """Home grades, KR operators at home, home AEOs in KR and in SG (no baseline), and KR before
    its MRA; ``scale`` moves the AEO rates so that each period differs."""
    home, abroad = Jurisdiction.HOME, Jurisdiction.ABROAD
    imp, exp = TradeDirection.IMPORT, TradeDirection.EXPORT
    regular = measures(120_000, 0.026, 3.5)
    kr_base = measures(54_321, 0.031, 5.0)
    return (
        row(home, "", imp, "advanced certified", measures(9_876, 0.0052 * scale, 1.2), regular),
        row(home, "", imp, "discredited", measures(412, 0.97, 30.0), regular),
        row(home, "KR", imp, "advanced certified", measures(1_234, 0.006 * scale, 1.5), regular),
        row(
            abroad,
            "KR",
            exp,
            "advanced certified",
            measures(2_345, 0.0155 * scale, 3.5 * scale),
            kr_base,
            trading=312,
        ),
        row(abroad, "SG", exp, "advanced certified", measures(87, 0.01, 2.0), None, trading=9),
        row(home, "KR", imp, "advanced certified", measures(321, 0.02, 3.0), regular, before=True),
    )


def report(*, trend: int = 3) -> Report:
    """2026Q3 with ``trend`` earlier quarters (at most 3)."""
    made = [
        Report(
            period=Period(label, start, end),
            start=datetime(start.year, start.month, start.day, tzinfo=UTC),
            end=datetime(end.year, end.month, end.day, tzinfo=UTC),
            rows=rows(1.0 + 0.1 * (3 - i)),
        )
        for i, (label, start, end) in enumerate(_QUARTERS)
    ]
    current = made[-1]
    return Report(
        current.period, current.start, current.end, current.rows, tuple(made[3 - trend : 3])
    )


def monthly(months: int = 12) -> Report:
    """A month with ``months - 1`` earlier months: the widest trend a report can have."""
    periods = [
        Report(
            period=Period(f"2026-{m:02d}", date(2026, m, 1), date(2026, m, 28)),
            start=datetime(2026, m, 1, tzinfo=UTC),
            end=datetime(2026, m, 28, tzinfo=UTC),
            rows=rows(1.0 + m / 20),
        )
        for m in range(1, months + 1)
    ]
    last = periods[-1]
    return Report(last.period, last.start, last.end, last.rows, tuple(periods[:-1]))
