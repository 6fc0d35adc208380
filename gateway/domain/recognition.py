"""Is the operator named on a declaration a recognised AEO, as of the declaration's time?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum

from gateway.domain.partners import (
    GradeScheme,
    HomeAdministration,
    Partner,
    TradeDirection,
    TransportMode,
)
from gateway.domain.programme import ProgrammeAt
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus


class Outcome(Enum):
    RECOGNISED = "recognised"
    NOT_RECOGNISED = "not_recognised"
    UNKNOWN_OPERATOR = "unknown_operator"
    CODE_FORMAT_UNKNOWN = "code_format_unknown"


@dataclass(frozen=True, slots=True)
class Answer:
    declared_code: str
    normalised_code: str
    outcome: Outcome
    reason: str
    as_of: datetime
    direction: TradeDirection
    administration: str = ""
    programme: str = ""
    treatment: str = ""
    grade_scheme: str = ""
    benefits: tuple[str, ...] = ()
    record: AeoRecord | None = None
    basis: MessageMeta | None = None
    #: When the gateway last received a message from the administration: how fresh this is.
    data_received_at: datetime | None = None
    #: The declaration's mode of transport, as asked (None: not stated).
    mode: TransportMode | None = None
    #: The partner has been silent for longer than its definition allows (or never sent).
    data_stale: bool = False
    #: The state of the partner's programme at as_of (None for the home administration).
    programme_state: ProgrammeAt | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    recognised: bool
    reason: str
    grade: str
    benefits: tuple[str, ...] = ()


def _status_reason(
    record: AeoRecord, at: datetime, day: date, absent_since: datetime | None
) -> str | None:
    if absent_since is not None and absent_since <= at:
        return "record.absent_from_snapshot"
    if record.consent_withdrawn:
        return "consent.withdrawn"
    if record.status is not RecordStatus.VALID:
        return f"status.{record.status.value}"
    if record.valid_until is not None and day > record.valid_until:
        return "status.expired"
    return None


def entry_into_force(partner: Partner, day: date, mode: TransportMode | None) -> str | None:
    """Why the MRA is not in force on ``day`` for ``mode``, or None when it is. Without a mode
    it must be in force for every mode; where only some modes have entered, the answer depends
    on the mode the declaration did not state: "mra.mode_required"."""
    if mode is not None or not partner.mra_in_force_by_mode:  # one date holds for the mode
        start = partner.in_force_for(mode) if mode is not None else partner.mra_in_force
        return None if start is not None and start <= day else "mra.not_in_force"
    starts = [partner.in_force_for(m) for m in TransportMode]
    if all(s is not None and s <= day for s in starts):
        return None
    if any(s is not None and s <= day for s in starts):
        return "mra.mode_required"
    return "mra.not_in_force"


def partner_treatment(
    partner: Partner,
    record: AeoRecord,
    scheme: GradeScheme | None,
    at: datetime,
    direction: TradeDirection,
    absent_since: datetime | None = None,
    mode: TransportMode | None = None,
    stale: bool = False,
    day: date | None = None,
    programme: ProgrammeAt | None = None,
) -> Treatment:
    """Maps a partner's record to home treatment at ``at`` for a declaration in ``direction``
    by ``mode`` (MRA in force for the mode and covering the direction, status, tier in its
    period, grade scheme, mapping rule in its period); ``stale``: the partner has been silent
    too long, which withholds benefits where its definition says so. ``day``: the declaration's
    calendar day where it is lodged (HomeAdministration.day_of); ``at``'s UTC day when None.
    ``programme``: the programme's state at ``at`` as administrators set it; suspended, it
    withholds benefits as a suspension in the partner's file does (under notice they apply)."""
    regular = scheme.regular if scheme else ""
    day = day or at.astimezone(UTC).date()
    not_in_force = entry_into_force(partner, day, mode)
    if not_in_force:
        return Treatment(False, not_in_force, regular)
    if direction not in partner.directions:
        return Treatment(False, "mra.direction_not_covered", regular)
    if any(p.covers(day) for p in partner.suspensions) or (
        programme is not None and programme.suspended
    ):
        return Treatment(False, "mra.suspended", regular)
    status = _status_reason(record, at, day, absent_since)
    if status:
        return Treatment(False, status, regular)
    if not partner.recognises(record.tier, day):
        return Treatment(False, "tier.not_recognised", regular)
    if scheme is None:
        return Treatment(False, "grade_scheme.none_in_force", regular)
    rule = partner.rule_for(record.tier, scheme, day)
    if rule is None:
        return Treatment(False, "mapping.missing", regular)
    if rule.grade not in scheme.aeo_grades:
        return Treatment(False, "mapping.grade_not_aeo", regular)
    if stale and partner.freshness is not None and not partner.freshness.stale_grants_benefits:
        return Treatment(False, "partner.data_stale", regular)
    benefits = rule.benefits if rule.benefits is not None else partner.benefits
    return Treatment(True, "recognised", rule.grade, benefits)


def home_treatment(
    home: HomeAdministration,
    record: AeoRecord,
    scheme: GradeScheme | None,
    at: datetime,
    absent_since: datetime | None = None,
) -> Treatment:
    """A home operator's own grade (its tier) under the scheme in force at ``at``."""
    if scheme is None:
        return Treatment(False, "grade_scheme.none_in_force", "")
    status = _status_reason(record, at, home.day_of(at), absent_since)
    if status:
        return Treatment(False, status, scheme.regular)
    if record.tier not in scheme.grades:
        return Treatment(False, "grade.not_in_scheme", scheme.regular)
    if record.tier not in scheme.aeo_grades:
        return Treatment(False, "grade.not_aeo", record.tier)
    return Treatment(True, "recognised", record.tier, home.standard_benefits)
