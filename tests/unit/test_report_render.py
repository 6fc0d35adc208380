"""The facilitation report's renderers over hand-made Reports: the table within 100 columns,
CSV and JSON that read back to the same numbers, "not available" never shown as 0 or infinity."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace

import pytest

from gateway.domain.facilitation import Estimate, Report
from gateway.report_render import FORMATS, render
from gateway.report_render.csv_out import HEADER
from gateway.report_render.json_out import from_json
from tests.report_samples import monthly, report


@pytest.mark.parametrize("made", [report(), report(trend=0), monthly()], ids=["Q", "no-trend", "M"])
def test_the_table_fits_100_columns(made: Report) -> None:
    """A quarter with three earlier ones, one with none, a month with eleven earlier ones.
    Result: no line is wider than 100 characters."""
    lines = render(made, "table").splitlines()
    assert max(len(line) for line in lines) <= 100
    assert len(lines) > 10


def test_the_table_shows_each_comparison_and_n_a_where_there_is_no_baseline() -> None:
    """SG reported no baseline. Result: its line says n/a for the baseline and the reductions,
    and no line anywhere shows infinity or nan."""
    text = render(report(), "table")
    [sg] = [
        line
        for line in text.splitlines()
        if line.startswith("  advanced certified  ") and "87/" in line
    ]
    assert "87/n/a" in sg
    assert "1.00%/n/a" in sg
    assert sg.split()[-1] == "n/a"
    assert "in SG: home AEOs against SG's baseline, export (9 home AEOs trading)" in text
    assert "0.52%/2.60%" in text
    assert "80% [69, 87]" in text
    assert "inf" not in text.lower().replace("info", "")
    assert "nan" not in text.lower()


def test_before_recognition_rows_come_apart_after_the_others() -> None:
    text = render(report(), "table")
    before = text.index("BEFORE RECOGNITION")
    assert text.index("321/120,000") > before
    assert text.index("1,234/120,000") < before


def test_the_table_trend_has_every_period_oldest_first() -> None:
    text = render(report(), "table")
    trend = text[text.index("TREND") :]
    positions = [trend.index(label) for label in ("2025Q4", "2026Q1", "2026Q2", "2026Q3")]
    assert positions == sorted(positions)
    kr = next(line for line in trend.splitlines() if "abroad KR exp" in line)
    assert kr.split()[-4:] == ["35%", "40%", "45%", "50%"]


def test_a_monthly_trend_wraps_into_blocks_of_periods() -> None:
    trend = render(monthly(), "table").split("TREND")[1]
    assert "2026-01" in trend
    assert "2026-12" in trend
    assert trend.count("abroad KR exp advanced certified") >= 2


def test_csv_parses_back_with_the_same_numbers() -> None:
    """Result: one line per row of the period and of each earlier one; every float reads back
    exactly; a measure not available is an empty cell."""
    made = report()
    lines = list(csv.DictReader(io.StringIO(render(made, "csv"))))
    assert len(lines) == sum(len(p.rows) for p in (made, *made.trend))
    assert len(set(HEADER)) == len(HEADER)
    first, row = lines[0], made.rows[0]
    assert first["period"] == "2026Q3"
    assert first["grade"] == "advanced certified"
    assert int(first["aeo_declarations"]) == row.group.declarations
    assert row.group.inspection_rate is not None
    assert row.inspection is not None
    assert float(first["aeo_inspection_rate"]) == row.group.inspection_rate.value
    assert float(first["aeo_inspection_rate_low"]) == row.group.inspection_rate.low
    assert float(first["aeo_inspection_rate_high"]) == row.group.inspection_rate.high
    assert float(first["inspection_reduction"]) == row.inspection.reduction.value
    assert float(first["inspection_reduction_low"]) == row.inspection.reduction.low
    assert float(first["baseline_release_p90_hours"]) == 3.5 * 2.5
    sg = next(line for line in lines if line["partner"] == "SG" and line["period"] == "2026Q3")
    assert sg["baseline_declarations"] == ""
    assert sg["inspection_ratio"] == sg["inspection_reduction_high"] == ""
    assert sg["home_aeos_trading"] == "9"
    before = [line for line in lines if line["before_recognition"] == "true"]
    assert len(before) == 4
    assert {line["period"] for line in lines} == {"2025Q4", "2026Q1", "2026Q2", "2026Q3"}


def test_json_round_trips_to_the_same_report() -> None:
    made = report()
    text = render(made, "json")
    assert from_json(text) == made
    data = json.loads(text)
    assert list(data) == ["period", "start", "end", "rows", "trend"]
    sg = data["rows"][4]
    assert (sg["partner"], sg["baseline"], sg["inspection"]) == ("SG", None, None)
    assert [t["period"]["label"] for t in data["trend"]] == ["2025Q4", "2026Q1", "2026Q2"]


def test_json_refuses_to_print_infinity() -> None:
    """A defect upstream (an infinite ratio) is an error, never "Infinity" in the output."""
    made = report(trend=0)
    row = made.rows[0]
    assert row.inspection is not None
    broken = type(row.inspection)(Estimate(math.inf, 1.0, math.inf), row.inspection.reduction)
    bad = replace(made, rows=(replace(row, inspection=broken),))
    with pytest.raises(ValueError, match="JSON compliant"):
        render(bad, "json")


def test_an_unknown_format_is_refused() -> None:
    assert "html" in FORMATS
    with pytest.raises(ValueError, match="unknown report format"):
        render(report(), "xlsx")


def test_a_page_is_not_poured_onto_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--format html` on a terminal without --output. Result: one line saying to give --output,
    exit status 2, before any store is opened."""
    import sys

    from gateway.cli import main

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code = main(["report", "facilitation", "--period", "2026Q3", "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "aeo-gateway: --format html writes a whole page: give --output FILE, or pipe it\n"
    )
