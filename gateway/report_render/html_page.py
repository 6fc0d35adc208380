"""The HTML report: one self-contained page (styles inline, charts as PNG data URIs; nothing to
fetch, so it opens offline and can be mailed as one file). Every string from the report is
escaped."""

from __future__ import annotations

import base64
from html import escape

from gateway.domain.facilitation import Estimate, Measures, Report, Row
from gateway.report_render import labels
from gateway.report_render.charts import Chart, charts

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; max-width: 80rem; }
div.wide { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.5rem; }
th { background: #eef2f7; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.before td { background: #fff8e6; }
figure { margin: 2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
p.note { font-size: 0.85rem; color: #444; }
"""

_HEADINGS = (
    "where",
    "partner",
    "direction",
    "grade",
    "declarations AEO",
    "declarations baseline",
    "inspection rate AEO [95% CI]",
    "inspection rate baseline [95% CI]",
    "inspection reduction [95% CI]",
    "document review AEO",
    "document review baseline",
    "document review reduction",
    "median release h AEO [95% CI]",
    "median release h baseline [95% CI]",
    "median release reduction [95% CI]",
    "mean release h AEO / baseline",
    "p90 release h AEO / baseline",
    "home AEOs trading",
)


def page(report: Report) -> str:
    label = escape(report.period.label)
    title = f"Facilitation report {label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        f"<p>Declarations from {escape(report.period.start.isoformat())} to "
        f"{escape(report.period.end.isoformat())} (end excluded), AEO groups against their "
        "baselines. Reduction = 1 &minus; AEO / baseline; where the AEO figure is over twice "
        "the baseline&#39;s the ratio is shown (&ldquo;4.2x&rdquo;). n/a: not available. "
        "Rows marked &ldquo;before MRA&rdquo; were lodged before the mutual-recognition "
        "arrangement entered into force: the before-recognition baseline.</p>",
        "<h2>Summary</h2>",
        _table(report),
    ]
    made = charts(report)
    if made:
        parts.append("<h2>Charts</h2>")
        parts += [_figure(chart) for chart in made]
    else:
        parts.append("<p>No declarations in the period: nothing to chart.</p>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _table(report: Report) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in _HEADINGS)
    body = "\n".join(_row(r) for r in report.rows) or (
        f'<tr><td colspan="{len(_HEADINGS)}">No declarations in the period.</td></tr>'
    )
    return (
        '<div class="wide"><table>\n'
        f"<caption>Facilitation measures, {escape(report.period.label)}</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _row(row: Row) -> str:
    base = row.baseline
    where = row.jurisdiction.value + (" (before MRA)" if row.before_recognition else "")
    text = (where, row.partner or "home grades", row.direction.value, row.grade)
    numbers = (
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
        f"{labels.hours(row.group.release_mean_hours)} / "
        f"{labels.hours(base.release_mean_hours) if base else labels.NA}",
        f"{labels.hours(row.group.release_p90_hours)} / "
        f"{labels.hours(base.release_p90_hours) if base else labels.NA}",
        f"{row.home_aeos_trading:,}",
    )
    cells = [f'<th scope="row">{escape(text[0])}</th>']
    cells += [f"<td>{escape(t)}</td>" for t in text[1:]]
    cells += [f'<td class="n">{escape(n)}</td>' for n in numbers]
    kind = ' class="before"' if row.before_recognition else ""
    return f"<tr{kind}>{''.join(cells)}</tr>"


def _of(m: Measures | None, name: str, fmt: str = "percent") -> str:
    if m is None:
        return labels.NA
    estimate = getattr(m, name)
    assert estimate is None or isinstance(estimate, Estimate)
    return labels.interval(estimate, fmt)


def _figure(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure>\n<img src="data:image/png;base64,{data}" alt="{escape(chart.alt)}">\n'
        f"<figcaption>{escape(chart.title)}</figcaption>\n</figure>"
    )
