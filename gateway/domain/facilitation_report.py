"""The facilitation report's rows, from the store's aggregates of one period.

Who is compared with whom:

* at home, each home grade (partner "") against the baseline: home operators' declarations at
  the regular grade of the scheme in force (general credit, regular) that are not AEOs;
  declarations naming no operator the gateway knows have no grade and count nowhere;
* at home, each partner's recognised operators (by the home grade they earn) against the same
  baseline; its operators before the MRA entered into force apart (before_recognition);
* abroad, per reporting partner, the home AEOs' declarations (by home grade) against that
  partner's baseline declarations, or, when it reported none one by one in the period, the
  baseline totals it reported (which have no release-time histogram: their median, mean and
  p90 are used as reported, the median's interval being the value itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.domain.facilitation import (
    Comparison,
    Estimate,
    GroupKey,
    GroupStats,
    Jurisdiction,
    Measures,
    OutcomeAggregate,
    Row,
)
from gateway.domain.facilitation_measures import Histogram, median_ratio, rate_ratio, wilson
from gateway.domain.partners import TradeDirection

_MINUTES_PER_HOUR = 60.0


@dataclass
class Sample:
    """Totals of a set of declarations: counts, and release times (a histogram, or as a
    partner reported them)."""

    declarations: int = 0
    inspected: int = 0
    document_reviews: int = 0
    minutes: Counter[int] = field(default_factory=Counter)
    #: Reported release times in hours (median, mean, p90) where there is no histogram.
    reported: tuple[float, float, float] | None = None

    def add(self, stats: GroupStats) -> None:
        self.declarations += stats.declarations
        self.inspected += stats.inspected
        self.document_reviews += stats.document_reviews
        self.minutes.update(dict(stats.release_minutes))

    def measures(self) -> Measures:
        median, mean, p90 = self._release()
        return Measures(
            declarations=self.declarations,
            inspection_rate=wilson(self.inspected, self.declarations),
            document_review_rate=wilson(self.document_reviews, self.declarations),
            release_median_hours=median,
            release_mean_hours=mean,
            release_p90_hours=p90,
        )

    def _release(self) -> tuple[Estimate | None, float | None, float | None]:
        if self.reported is not None:
            median, mean, p90 = self.reported
            return Estimate(median, median, median), mean, p90
        histogram = Histogram(list(self.minutes.items()))
        if histogram.count == 0:
            return None, None, None
        low, high = histogram.median_interval()
        return (
            Estimate(
                histogram.median() / _MINUTES_PER_HOUR,
                low / _MINUTES_PER_HOUR,
                high / _MINUTES_PER_HOUR,
            ),
            histogram.mean() / _MINUTES_PER_HOUR,
            histogram.percentile(90) / _MINUTES_PER_HOUR,
        )


def aggregated(aggregates: Iterable[OutcomeAggregate]) -> Sample | None:
    """Reported baseline totals as one sample; release times weighted by declarations (an
    approximation for the median and p90 of several spans). None when there are none."""
    items = [a for a in aggregates if a.declarations > 0]
    if not items:
        return None
    total = sum(a.declarations for a in items)

    def weighted(value: Callable[[OutcomeAggregate], float]) -> float:
        return sum(value(a) * a.declarations for a in items) / total

    return Sample(
        declarations=total,
        inspected=sum(a.inspected for a in items),
        document_reviews=sum(a.document_reviews for a in items),
        reported=(
            weighted(lambda a: a.release_median_hours),
            weighted(lambda a: a.release_mean_hours),
            weighted(lambda a: a.release_p90_hours),
        ),
    )


def row(
    key: tuple[Jurisdiction, str, TradeDirection, str, bool],
    group: Sample,
    baseline: Sample | None,
    trading: int,
) -> Row:
    jurisdiction, partner, direction, grade, before = key
    g = group.measures()
    b = baseline.measures() if baseline is not None and baseline.declarations else None
    inspection = document_review = release = None
    if baseline is not None and b is not None:
        inspection = rate_ratio(
            (group.inspected, group.declarations), (baseline.inspected, baseline.declarations)
        )
        document_review = rate_ratio(
            (group.document_reviews, group.declarations),
            (baseline.document_reviews, baseline.declarations),
        )
        release = _median_comparison(g, b)
    return Row(
        jurisdiction=jurisdiction,
        partner=partner,
        direction=direction,
        grade=grade,
        before_recognition=before,
        group=g,
        baseline=b,
        inspection=inspection,
        document_review=document_review,
        release_median=release,
        home_aeos_trading=trading,
    )


def _median_comparison(group: Measures, baseline: Measures) -> Comparison | None:
    if group.release_median_hours is None or baseline.release_median_hours is None:
        return None
    return median_ratio(group.release_median_hours, baseline.release_median_hours)


def build_rows(
    groups: Sequence[GroupStats],
    aggregates: Sequence[OutcomeAggregate],
    trading: Mapping[str, int],
    regular_grades: frozenset[str],
    partner: str = "",
) -> tuple[Row, ...]:
    """The report's rows (see the module's note); only ``partner``'s when given.
    ``regular_grades``: the regular grade of each scheme in force during the period.
    ``trading``: distinct home AEOs per partner ("" for the home grades)."""
    home_baseline: dict[TradeDirection, Sample] = {}
    abroad_baseline: dict[tuple[str, TradeDirection], Sample] = {}
    rows: dict[tuple[Jurisdiction, str, TradeDirection, str, bool], Sample] = {}
    for stats in groups:
        k = stats.key
        if _home_baseline(k, regular_grades):
            home_baseline.setdefault(k.direction, Sample()).add(stats)
        elif k.jurisdiction is Jurisdiction.ABROAD and not k.aeo:
            abroad_baseline.setdefault((k.partner, k.direction), Sample()).add(stats)
        elif _compared(k, regular_grades):
            rows.setdefault(_row_key(k), Sample()).add(stats)
    by_reporter: dict[tuple[str, TradeDirection], list[OutcomeAggregate]] = {}
    for aggregate in aggregates:
        by_reporter.setdefault((aggregate.reporter, aggregate.direction), []).append(aggregate)

    built = []
    for key in sorted(rows, key=_order):
        jurisdiction, who, direction, _, _ = key
        if partner and who != partner:
            continue
        if jurisdiction is Jurisdiction.HOME:
            baseline = home_baseline.get(direction)
        else:
            baseline = abroad_baseline.get((who, direction)) or aggregated(
                by_reporter.get((who, direction), ())
            )
        built.append(row(key, rows[key], baseline, trading.get(who, 0)))
    return tuple(built)


def _home_baseline(key: GroupKey, regular_grades: frozenset[str]) -> bool:
    return (
        key.jurisdiction is Jurisdiction.HOME
        and key.partner == ""
        and not key.aeo
        and key.grade in regular_grades
    )


def _compared(key: GroupKey, regular_grades: frozenset[str]) -> bool:
    """Whether the group has a row: home grades other than the regular one; partners'
    recognised operators at home, and before recognition all of them; home AEOs abroad."""
    if not key.grade:
        return False
    if key.jurisdiction is Jurisdiction.ABROAD:
        return key.aeo
    if key.partner == "":
        return key.grade not in regular_grades
    return key.aeo or key.before_recognition


def _row_key(key: GroupKey) -> tuple[Jurisdiction, str, TradeDirection, str, bool]:
    return (key.jurisdiction, key.partner, key.direction, key.grade, key.before_recognition)


def _order(key: tuple[Jurisdiction, str, TradeDirection, str, bool]) -> tuple[object, ...]:
    jurisdiction, partner, direction, grade, before = key
    return (jurisdiction is Jurisdiction.ABROAD, partner, direction.value, before, grade)
