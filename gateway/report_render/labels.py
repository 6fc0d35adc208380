"""Words and numbers as every human-readable form shows them ("n/a" where not available)."""

from __future__ import annotations

from gateway.domain.facilitation import Comparison, Estimate, Jurisdiction, Row

NA = "n/a"


def percent(value: float) -> str:
    """0.0052 -> "0.52%", 0.261 -> "26.1%": small rates keep two significant places."""
    scaled = value * 100
    return f"{scaled:.2f}%" if abs(scaled) < 10 else f"{scaled:.1f}%"


def rate(estimate: Estimate | None) -> str:
    return NA if estimate is None else percent(estimate.value)


def hours(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}"


def reduction(comparison: Comparison | None, *, interval: bool = True) -> str:
    """ "80% [75, 84]": the reduction and its 95 % interval, in whole percent; where the group's
    figure is over twice the baseline's, the ratio reads better: "37x [24, 58]"."""
    if comparison is None:
        return NA
    r, q = comparison.reduction, comparison.ratio
    if q.value > 2:
        point, low, high = f"{_times(q.value)}x", _times(q.low), _times(q.high)
    else:
        point, low, high = f"{_whole(r.value)}%", _whole(r.low), _whole(r.high)
    return f"{point} [{low}, {high}]" if interval else point


def _whole(fraction: float) -> str:
    """A fraction in whole percent; round() gives an int, so never "-0"."""
    return str(round(fraction * 100))


def _times(ratio: float) -> str:
    return f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"


def interval(estimate: Estimate | None, fmt: str = "percent") -> str:
    """ "0.52% [0.41%, 0.66%]" or "1.2 [1.1, 1.3]" (hours)."""
    if estimate is None:
        return NA
    one = percent if fmt == "percent" else hours
    return f"{one(estimate.value)} [{one(estimate.low)}, {one(estimate.high)}]"


def where(row: Row) -> str:
    """What a row compares, in words: "at home: KR operators, import"."""
    if row.jurisdiction is Jurisdiction.ABROAD:
        text = f"in {row.partner}: home AEOs against {row.partner}'s baseline"
    elif row.partner:
        text = f"at home: {row.partner} operators against the home baseline"
    else:
        text = "at home: home grades against the regular grade"
    return f"{text}, {row.direction.value}"


def short(row: Row) -> str:
    """A row's name where space is short: "home KR imp advanced certified", "abroad KR exp ..."."""
    place = "home" if row.jurisdiction is Jurisdiction.HOME else "abroad"
    partner = f" {row.partner}" if row.partner else ""
    return f"{place}{partner} {row.direction.value[:3]} {row.grade}"


def key(row: Row) -> tuple[str, str, str, str, bool]:
    """What identifies a row across periods (the trend follows it)."""
    return (
        row.jurisdiction.value,
        row.partner,
        row.direction.value,
        row.grade,
        row.before_recognition,
    )
