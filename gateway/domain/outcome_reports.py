"""A partner's signed report of outcomes abroad: what every wire format decodes it to, and the
checks each reported outcome and aggregate must pass before it is recorded.

Codecs only read their format (a field they cannot read becomes the draft's ``problem``);
whether a draft is acceptable is decided here, once, for every format. A bad draft is one
ignored line of the receipt, never the refusal of the whole report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from gateway.domain.messages import Rejection
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.domain.validation import EARLIEST, LATEST, NOT_TEXT

#: As a record's identifier: stored as text of at most 64 characters.
MAX_DECLARATION_ID = 64
#: A declared code as a trader writes it (spaces, prefixes): room over the canonical form.
MAX_DECLARED_CODE = 128
#: Hours between arrival and release no customs procedure reaches (ten years).
MAX_HOURS = 24 * 366 * 10
#: Declarations one aggregate may count: far above any administration's year, and low enough
#: that a report's totals over every partner and period stay far within uint64.
MAX_AGGREGATE_DECLARATIONS = 10**12


@dataclass(frozen=True, slots=True)
class OutcomeDraft:
    """One reported declaration as a wire format read it."""

    declaration_id: str
    declared_code: str
    direction: TradeDirection | None
    mode: TransportMode | None
    arrived_at: datetime | None
    released_at: datetime | None
    document_review: bool
    inspected: bool
    #: True: a declaration of an operator that is not an AEO (the partner's baseline).
    baseline: bool
    problem: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class AggregateDraft:
    """Totals of the partner's baseline declarations over [start, end), as read."""

    direction: TradeDirection | None
    start: datetime | None
    end: datetime | None
    declarations: int
    inspected: int
    document_reviews: int
    release_median_hours: float
    release_mean_hours: float
    release_p90_hours: float
    problem: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class OutcomeReportDraft:
    """A report as a partner issues it (sealed by the devkit and tests, decoded by codecs)."""

    partner: str
    issued_at: datetime
    outcomes: tuple[OutcomeDraft, ...]
    aggregates: tuple[AggregateDraft, ...] = ()

    @property
    def size(self) -> int:
        return len(self.outcomes) + len(self.aggregates)


@dataclass(frozen=True, slots=True)
class DecodedOutcomeReport:
    """What a codec yields once the signature holds, with the key that signed."""

    report: OutcomeReportDraft
    key_id: str
    algorithm: str


def aggregate_id(index: int) -> str:
    """How a receipt names an aggregate, which has no identifier of its own."""
    return f"aggregate[{index}]"


def _ignored(identifier: str, reason: str, detail: str) -> Rejection:
    return Rejection(identifier, 0, reason, detail)


def _instant_problem(name: str, value: datetime | None) -> str | None:
    if value is None:
        return f"{name} is missing"
    if value.tzinfo is None:
        return f"{name} carries no time zone"
    if not EARLIEST <= value <= LATEST:
        return f"{name} is outside the years 1 to 9999"
    return None


def check_outcome(draft: OutcomeDraft) -> Rejection | None:
    """None when ``draft`` may be recorded; else why not (identifier: its declaration id)."""
    ident = draft.declaration_id
    shown_id = ident if len(ident) <= MAX_DECLARATION_ID and not NOT_TEXT.search(ident) else ""
    if draft.problem is not None:
        return _ignored(shown_id, *draft.problem)
    if not ident:
        return _ignored("", "outcome.field_missing", "declaration_id is missing")
    if not shown_id:
        return _ignored(
            "",
            "outcome.field_invalid",
            f"declaration_id: control characters or more than {MAX_DECLARATION_ID} characters",
        )
    code = draft.declared_code
    if not code.strip():
        return _ignored(ident, "outcome.field_missing", "declared_code is missing")
    if len(code) > MAX_DECLARED_CODE or NOT_TEXT.search(code):
        return _ignored(
            ident,
            "outcome.field_invalid",
            f"declared_code: control characters or more than {MAX_DECLARED_CODE} characters",
        )
    if draft.direction is None:
        return _ignored(ident, "outcome.field_missing", "direction is missing")
    for name, value in (("arrived_at", draft.arrived_at), ("released_at", draft.released_at)):
        problem = _instant_problem(name, value)
        if problem is not None:
            return _ignored(ident, "outcome.field_invalid", problem)
    assert draft.arrived_at is not None
    assert draft.released_at is not None
    if draft.released_at < draft.arrived_at:
        return _ignored(
            ident,
            "outcome.release_before_arrival",
            f"released_at {draft.released_at.isoformat()} is before arrived_at "
            f"{draft.arrived_at.isoformat()}",
        )
    return None


def check_aggregate(index: int, draft: AggregateDraft) -> Rejection | None:
    """None when the totals are consistent; else why not (identifier: aggregate[index])."""
    ident = aggregate_id(index)
    if draft.problem is not None:
        return _ignored(ident, *draft.problem)
    if draft.direction is None:
        return _ignored(ident, "aggregate.invalid", "direction is missing")
    for name, value in (("start", draft.start), ("end", draft.end)):
        problem = _instant_problem(name, value)
        if problem is not None:
            return _ignored(ident, "aggregate.invalid", problem)
    assert draft.start is not None
    assert draft.end is not None
    if draft.end <= draft.start:
        return _ignored(ident, "aggregate.invalid", "end is not after start")
    if not 0 < draft.declarations <= MAX_AGGREGATE_DECLARATIONS:
        return _ignored(
            ident,
            "aggregate.invalid",
            f"declarations must be within 1..{MAX_AGGREGATE_DECLARATIONS}",
        )
    for name, count in (
        ("inspected", draft.inspected),
        ("document_reviews", draft.document_reviews),
    ):
        if not 0 <= count <= draft.declarations:
            return _ignored(ident, "aggregate.invalid", f"{name} is not within 0..declarations")
    hours = (draft.release_median_hours, draft.release_mean_hours, draft.release_p90_hours)
    if not all(math.isfinite(h) and 0 <= h <= MAX_HOURS for h in hours):
        return _ignored(ident, "aggregate.invalid", f"release hours must be within 0..{MAX_HOURS}")
    if draft.release_median_hours > draft.release_p90_hours:
        return _ignored(ident, "aggregate.invalid", "the median release time exceeds the p90")
    return None
