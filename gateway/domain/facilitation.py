"""Facilitation: declaration outcomes, and what mutual recognition achieved against a baseline.

The store aggregates outcomes in SQL (counts, and release times by the minute); the measures
and their intervals are computed here from those aggregates, never from rows one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from gateway.domain import recognition
from gateway.domain.errors import OutcomeInvalid, ReleaseBeforeArrival, shown
from gateway.domain.partners import HomeAdministration, Partner, TradeDirection, TransportMode
from gateway.domain.validation import EARLIEST, LATEST, NOT_TEXT

#: Longest declaration id, in characters (customs declaration numbers are 18 to 30).
MAX_DECLARATION_ID = 64
#: Longest declared code, in characters (as written, with spaces and wrappers).
MAX_DECLARED_CODE = 256
#: The reason of every outcome a partner reported abroad.
REPORTED = "reported"


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
    #: The operator's code as the directory knows it (AEOCN0123456789 for CN0123456789): who
    #: is counted once among the home AEOs trading. "": the declared code, normalised.
    operator: str = ""


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


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    """What a declaration system reports of one declaration, before it is classified."""

    declaration_id: str
    declared_code: str
    direction: TradeDirection
    mode: TransportMode | None
    arrived_at: datetime
    released_at: datetime
    document_review: bool
    inspected: bool


def check_facts(facts: DeclarationFacts) -> None:
    """OutcomeInvalid or ReleaseBeforeArrival when ``facts`` cannot be recorded."""
    declaration = facts.declaration_id
    if not declaration.strip() or len(declaration) > MAX_DECLARATION_ID:
        raise OutcomeInvalid(
            f"declaration_id {shown(declaration)} must be 1 to {MAX_DECLARATION_ID} characters",
            field="declaration_id",
        )
    if not declaration.isprintable():
        raise OutcomeInvalid("declaration_id has control characters", field="declaration_id")
    if not facts.declared_code.strip() or len(facts.declared_code) > MAX_DECLARED_CODE:
        raise OutcomeInvalid(
            f"declared_code must be 1 to {MAX_DECLARED_CODE} characters", field="declared_code"
        )
    if NOT_TEXT.search(facts.declared_code):
        raise OutcomeInvalid("declared_code has control characters", field="declared_code")
    for name, at in (("arrived_at", facts.arrived_at), ("released_at", facts.released_at)):
        if at.tzinfo is None or at.utcoffset() is None:
            raise OutcomeInvalid(f"{name} must carry a time zone", field=name)
        if not EARLIEST <= at <= LATEST:
            raise OutcomeInvalid(f"{name} is outside the years 1 to 9999 in UTC", field=name)
    if facts.released_at < facts.arrived_at:
        raise ReleaseBeforeArrival(
            f"declaration {shown(declaration)} released at {facts.released_at.isoformat()}, "
            f"before its arrival at {facts.arrived_at.isoformat()}",
            declaration_id=declaration,
        )


def release_minutes(arrived_at: datetime, released_at: datetime) -> int:
    """Arrival to release in whole minutes, rounded down (the unit the store aggregates)."""
    return (released_at - arrived_at) // timedelta(minutes=1)


def home_outcome(
    facts: DeclarationFacts, answer: recognition.Answer, home: HomeAdministration
) -> Outcome:
    """A declaration lodged at home, counted by the recognition answer that applied at its
    arrival: the grade whose treatment applied (a home operator's own, the home grade a
    recognised partner operator earns, the scheme's regular grade otherwise; "" when the code
    named nobody the gateway knows)."""
    partner = answer.administration if answer.administration not in ("", home.code) else ""
    return Outcome(
        reporter=home.code,
        declaration_id=facts.declaration_id,
        declared_code=facts.declared_code,
        direction=facts.direction,
        mode=facts.mode,
        arrived_at=facts.arrived_at,
        released_at=facts.released_at,
        document_review=facts.document_review,
        inspected=facts.inspected,
        jurisdiction=Jurisdiction.HOME,
        partner=partner,
        administration=answer.administration,
        grade=answer.treatment,
        aeo=answer.outcome is recognition.Outcome.RECOGNISED,
        before_recognition=bool(partner) and answer.reason == "mra.not_in_force",
        reason=answer.reason,
        operator=answer.normalised_code,
    )


def abroad_outcome(
    facts: DeclarationFacts,
    partner: Partner,
    baseline: bool,
    home_answer: recognition.Answer | None,
    home: HomeAdministration,
) -> Outcome:
    """A declaration a partner reported: a home AEO's (grade: its home grade at arrival, from
    ``home_answer``) or one of the partner's baseline (grade ""). before_recognition: the MRA
    was not in force on the day of arrival for its mode."""
    day = home.day_of(facts.arrived_at)
    aeo = (
        not baseline
        and home_answer is not None
        and home_answer.outcome is recognition.Outcome.RECOGNISED
    )
    return Outcome(
        reporter=partner.code,
        declaration_id=facts.declaration_id,
        declared_code=facts.declared_code,
        direction=facts.direction,
        mode=facts.mode,
        arrived_at=facts.arrived_at,
        released_at=facts.released_at,
        document_review=facts.document_review,
        inspected=facts.inspected,
        jurisdiction=Jurisdiction.ABROAD,
        partner=partner.code,
        administration="" if baseline else home.code,
        grade=home_answer.treatment if aeo and home_answer is not None else "",
        aeo=aeo,
        before_recognition=recognition.entry_into_force(partner, day, facts.mode) is not None,
        reason=REPORTED,
        operator=home_answer.normalised_code if home_answer is not None else "",
    )


@dataclass(frozen=True, slots=True)
class GroupKey:
    """How the store groups outcomes for a report."""

    jurisdiction: Jurisdiction
    partner: str
    direction: TradeDirection
    grade: str
    aeo: bool
    before_recognition: bool


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's totals in a period, as the store aggregated them: declarations, inspected,
    documents reviewed, and the histogram of release minutes ((minute, declarations) pairs)."""

    key: GroupKey
    declarations: int
    inspected: int
    document_reviews: int
    release_minutes: tuple[tuple[int, int], ...]
