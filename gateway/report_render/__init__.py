"""The facilitation report (gateway.domain.facilitation.Report) as a person or a program wants
it: a terminal table, CSV, JSON, or one self-contained HTML page with charts.

Renderers only read the Report: every number is the core's, and a measure that is not
available is shown as "n/a" (empty in CSV, null in JSON), never as 0 or infinity.
"""

from __future__ import annotations

from gateway.domain.facilitation import Report

FORMATS = ("table", "csv", "json", "html")


def render(report: Report, form: str) -> str:
    """The report in one of FORMATS."""
    if form == "table":
        from gateway.report_render.table import table

        return table(report)
    if form == "csv":
        from gateway.report_render.csv_out import to_csv

        return to_csv(report)
    if form == "json":
        from gateway.report_render.json_out import to_json

        return to_json(report)
    if form == "html":
        # Charts need matplotlib: imported only when a page is asked for.
        from gateway.report_render.html_page import page

        return page(report)
    raise ValueError(f"unknown report format {form!r} (one of {', '.join(FORMATS)})")
