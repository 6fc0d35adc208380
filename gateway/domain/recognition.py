"""Is the operator named on a declaration a recognised AEO, as of the declaration's time?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateway.domain.partners import GradeScheme, HomeAdministration, Partner, TradeDirection
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


@dataclass(frozen=True, slots=True)
class Treatment:
    recognised: bool
    reason: str
    grade: str
    benefits: tuple[str, ...] = ()


def _status_reason(record: AeoRecord, at: datetime, absent_since: datetime | None) -> str | None:
    if absent_since is not None and absent_since <= at:
        return "record.absent_from_snapshot"
    if record.consent_withdrawn:
        return "consent.withdrawn"
    if record.status is not RecordStatus.VALID:
        return f"status.{record.status.value}"
    if record.valid_until is not None and at.date() > record.valid_until:
        return "status.expired"
    return None


def partner_treatment(
    partner: Partner,
    record: AeoRecord,
    scheme: GradeScheme | None,
    at: datetime,
    direction: TradeDirection,
    absent_since: datetime | None = None,
) -> Treatment:
    """Maps a partner's record to home treatment at ``at`` for a declaration in ``direction``
    (MRA in force and covering the direction, status, tier, grade scheme)."""
    regular = scheme.regular if scheme else ""
    day = at.date()
    if partner.mra_in_force is None or day < partner.mra_in_force:
        return Treatment(False, "mra.not_in_force", regular)
    if direction not in partner.directions:
        return Treatment(False, "mra.direction_not_covered", regular)
    if any(p.covers(day) for p in partner.suspensions):
        return Treatment(False, "mra.suspended", regular)
    status = _status_reason(record, at, absent_since)
    if status:
        return Treatment(False, status, regular)
    if record.tier not in partner.recognised_tiers:
        return Treatment(False, "tier.not_recognised", regular)
    if scheme is None:
        return Treatment(False, "grade_scheme.none_in_force", regular)
    rule = partner.rule_for(record.tier, scheme)
    if rule is None:
        return Treatment(False, "mapping.missing", regular)
    if rule.grade not in scheme.aeo_grades:
        return Treatment(False, "mapping.grade_not_aeo", regular)
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
    status = _status_reason(record, at, absent_since)
    if status:
        return Treatment(False, status, scheme.regular)
    if record.tier not in scheme.grades:
        return Treatment(False, "grade.not_in_scheme", scheme.regular)
    if record.tier not in scheme.aeo_grades:
        return Treatment(False, "grade.not_aeo", record.tier)
    return Treatment(True, "recognised", record.tier, home.standard_benefits)
