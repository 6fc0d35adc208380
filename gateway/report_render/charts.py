"""The HTML report's charts, drawn with matplotlib into PNG bytes (inlined by the page).

matplotlib's object API only (Figure, no pyplot): no global state, no display, safe in a server
thread. Every chart draws only what the Report has; a measure that is not available is left out
of the drawing and named "n/a" on the axis label, never drawn as 0.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from gateway.domain.facilitation import Estimate, Jurisdiction, Measures, Report, Row
from gateway.report_render import labels

_AEO, _BASE = "#1f6fb4", "#c0504d"
_WIDTH_IN = 10.0
_DPI = 100


@dataclass(frozen=True)
class Chart:
    title: str
    #: What the chart shows, in words, for a reader who cannot see it.
    alt: str
    png: bytes


def charts(report: Report) -> list[Chart]:
    if not report.rows:
        return []
    made = [inspection(report), release(report)]
    if report.trend:
        made.append(trend(report))
    return made


def _name(row: Row) -> str:
    return labels.short(row) + (" (before MRA)" if row.before_recognition else "")


def _figure(lines: int) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(_WIDTH_IN, 1.4 + 0.45 * lines), dpi=_DPI, layout="constrained")
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    # No metadata: the bytes depend on the report only.
    figure.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})
    return out.getvalue()


def _whiskers(estimates: list[Estimate | None], scale: float = 1.0) -> list[list[float]]:
    """Errorbar lengths below and above each point (0 where there is no point)."""
    return [
        [(e.value - e.low) * scale if e else 0.0 for e in estimates],
        [(e.high - e.value) * scale if e else 0.0 for e in estimates],
    ]


def inspection(report: Report) -> Chart:
    """Inspection rate, AEO against baseline, per row: bars with 95 % interval whiskers."""
    rows = report.rows
    figure, ax = _figure(len(rows) * 2)
    groups = [r.group.inspection_rate for r in rows]
    bases = [r.baseline.inspection_rate if r.baseline else None for r in rows]
    present = [e.value * 100 for e in groups + bases if e is not None and e.value > 0]
    # Rates from 0.5 % to 97 % side by side: a log axis keeps the small ones readable.
    log = bool(present) and max(present) / min(present) > 20
    floor = min(present) / 3 if log else 0.0
    ys = range(len(rows))
    for offset, estimates, colour, label in (
        (-0.2, groups, _AEO, "group"),
        (0.2, bases, _BASE, "baseline"),
    ):
        values = [max(e.value * 100, floor) if e else 0.0 for e in estimates]
        ax.barh(
            [y + offset for y in ys],
            [v - floor if e else 0.0 for v, e in zip(values, estimates, strict=True)],
            left=floor,
            height=0.4,
            color=colour,
            label=label,
            xerr=_whiskers(estimates, 100),
            capsize=3,
        )
    ax.set_yticks(list(ys), [_name(r) + ("" if r.baseline else " (baseline n/a)") for r in rows])
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.set_xlabel("inspection rate, % of declarations (95 % interval)" + (", log" if log else ""))
    ax.legend(loc="lower right")
    title = f"Inspection rate, AEO against baseline, {report.period.label}"
    ax.set_title(title)
    alt = f"{title}. " + "; ".join(
        f"{_name(r)}: {labels.rate(r.group.inspection_rate)} against "
        f"{labels.rate(r.baseline.inspection_rate) if r.baseline else labels.NA}, "
        f"compared: {labels.reduction(r.inspection)}"
        for r in rows
    )
    return Chart(title, alt, _png(figure))


def release(report: Report) -> Chart:
    """Release time per group: the median with its interval, the mean and the 90th percentile;
    each baseline once, above the AEO groups compared with it."""
    blocks: dict[tuple[str, str, str], list[Row]] = {}
    for row in report.rows:
        blocks.setdefault(_baseline_key(row), []).append(row)
    entries: list[tuple[str, str, Measures | None]] = []
    for (place, partner, direction), rows in blocks.items():
        owner = partner if place == "abroad" else "home"
        entries.append((f"{owner} baseline, {direction}", _BASE, rows[0].baseline))
        entries += [(_name(r), _AEO, r.group) for r in rows]
    figure, ax = _figure(len(entries))
    for y, (_, colour, m) in enumerate(entries):
        if m is None or m.release_median_hours is None:
            continue
        median = m.release_median_hours
        if m.release_p90_hours is not None:
            ax.plot([median.value, m.release_p90_hours], [y, y], color=colour, alpha=0.35, lw=6)
            ax.plot([m.release_p90_hours], [y], marker="|", ms=14, mew=2, color=colour)
        ax.errorbar(
            [median.value],
            [y],
            xerr=_whiskers([median]),
            fmt="o",
            color=colour,
            capsize=4,
        )
        if m.release_mean_hours is not None:
            ax.plot([m.release_mean_hours], [y], marker="D", color="black", ms=5)
    ax.set_yticks(
        list(range(len(entries))),
        [name + ("" if m else f" {labels.NA}") for name, _, m in entries],
    )
    ax.invert_yaxis()
    ax.set_xlabel("hours from arrival to release")
    ax.legend(
        handles=[
            Line2D([], [], marker="o", ls="", color="grey", label="median (95 % interval)"),
            Line2D([], [], marker="D", ls="", color="black", label="mean"),
            Line2D([], [], marker="|", ms=12, mew=2, ls="", color="grey", label="90th percentile"),
        ],
        loc="lower right",
    )
    title = f"Release time per group, {report.period.label}"
    ax.set_title(title)
    alt = f"{title}. " + "; ".join(f"{name}: {_release_words(m)}" for name, _, m in entries)
    return Chart(title, alt, _png(figure))


def _baseline_key(row: Row) -> tuple[str, str, str]:
    """Which baseline a row is compared with: the home one by direction, or a partner's."""
    abroad = row.jurisdiction is Jurisdiction.ABROAD
    return (row.jurisdiction.value, row.partner if abroad else "", row.direction.value)


def _release_words(m: Measures | None) -> str:
    if m is None or m.release_median_hours is None:
        return labels.NA
    return (
        f"median {labels.hours(m.release_median_hours.value)} h, "
        f"mean {labels.hours(m.release_mean_hours)} h, "
        f"90th percentile {labels.hours(m.release_p90_hours)} h"
    )


def trend(report: Report) -> Chart:
    """AEO inspection rate / baseline per period, per row: below 1 is fewer inspections."""
    periods = (*report.trend, report)
    figure = Figure(figsize=(_WIDTH_IN, 5.0), dpi=_DPI, layout="constrained")
    ax = figure.add_subplot()
    series: dict[tuple[str, str, str, str, bool], list[tuple[int, Estimate]]] = {}
    names: dict[tuple[str, str, str, str, bool], str] = {}
    for x, period in enumerate(periods):
        for row in period.rows:
            if row.before_recognition or row.inspection is None:
                continue
            series.setdefault(labels.key(row), []).append((x, row.inspection.ratio))
            names[labels.key(row)] = labels.short(row)
    colours = matplotlib.colormaps["tab20"]
    spread = 0.3 / max(len(series), 1)
    for n, (k, points) in enumerate(series.items()):
        # Nudged apart along x, so that overlapping whiskers stay readable.
        nudge = (n - (len(series) - 1) / 2) * spread
        ax.errorbar(
            [x + nudge for x, _ in points],
            [e.value for _, e in points],
            yerr=_whiskers([e for _, e in points]),
            marker="o",
            capsize=3,
            color=colours(n % 20),
            label=names[k],
        )
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xticks(list(range(len(periods))), [p.period.label for p in periods])
    ax.set_ylabel("AEO inspection rate / baseline (log; 0.5 = half as many)")
    if series:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    title = f"Inspection rate against baseline, {periods[0].period.label} to {report.period.label}"
    ax.set_title(title)
    alt = f"{title}. " + "; ".join(
        f"{names[k]}: " + ", ".join(f"{periods[x].period.label} {e.value:.2f}" for x, e in points)
        for k, points in series.items()
    )
    if not series:
        alt += " No comparison is available in these periods."
    return Chart(title, alt, _png(figure))
