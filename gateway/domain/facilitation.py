"""Facilitation: declaration outcomes, and what mutual recognition achieved against a baseline.

The store aggregates outcomes in SQL (counts, and release times by the minute); the measures
and their intervals are computed here from those aggregates, never from rows one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from gateway.domain.partners import TradeDirection, TransportMode


class Jurisdiction(Enum):
    """Where a declaration was lodged."""

    HOME = "home"
    ABROAD = "abroad"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One declaration's outcome as stored: what happened, and how it is counted.

    ``reporter`` is who reported it (the home code, or the partner abroad) and, with
    ``declaration_id``, its identity. ``partner`` is the partner the outcome counts for (at home:
    the administration of a partner's operator; abroad: the reporter), "" for the home grades.
    ``grade`` is the group: the home grade whose treatment applied (home operators and
    recognised partner operators at home), the home AEO's grade abroad, or "" for a baseline
    declaration abroad. ``before_recognition``: lodged before the partner's MRA entered into
    force (reported apart, as the before-recognition baseline).
    """

    reporter: str
    declaration_id: str
    declared_code: str
    direction: TradeDirection
    mode: TransportMode | None
    arrived_at: datetime
    released_at: datetime
    document_review: bool
    inspected: bool
    jurisdiction: Jurisdiction
    partner: str
    administration: str
    grade: str
    aeo: bool
    before_recognition: bool
    #: The recognition answer's reason at arrival (home), or "reported" (abroad).
    reason: str


@dataclass(frozen=True, slots=True)
class OutcomeAggregate:
    """A partner's baseline declarations as totals over [start, end)."""

    reporter: str
    direction: TradeDirection
    start: datetime
    end: datetime
    declarations: int
    inspected: int
    document_reviews: int
    release_median_hours: float
    release_mean_hours: float
    release_p90_hours: float


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar year, quarter or month: [start, end) in the home administration's days."""

    label: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its 95 % interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Measures:
    declarations: int
    #: None when there are no declarations (never 0 or infinity by default).
    inspection_rate: Estimate | None
    document_review_rate: Estimate | None
    release_median_hours: Estimate | None
    release_mean_hours: float | None
    release_p90_hours: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """group / baseline and 1 - group / baseline, each with its 95 % interval."""

    ratio: Estimate
    reduction: Estimate


@dataclass(frozen=True, slots=True)
class Row:
    """One comparison: an AEO group's declarations against its baseline's."""

    jurisdiction: Jurisdiction
    partner: str
    direction: TradeDirection
    grade: str
    before_recognition: bool
    group: Measures
    #: None: no baseline in the period ("not available").
    baseline: Measures | None
    #: None: not available (no baseline, or a baseline rate of 0).
    inspection: Comparison | None
    document_review: Comparison | None
    release_median: Comparison | None
    home_aeos_trading: int


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    start: datetime
    end: datetime
    rows: tuple[Row, ...]
    #: The earlier periods of the same kind within the year before, oldest first.
    trend: tuple[Report, ...] = ()
