"""Is the operator named on a declaration a recognised AEO, as of the declaration's time?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateway.domain.codes import CodeBook, normalise
from gateway.domain.errors import InvalidQuery, TooManyCodes
from gateway.domain.partners import GradeScheme, HomeAdministration, Partner
from gateway.domain.ports import Clock, RecordReader
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus, StoredRecord


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
    administration: str = ""
    programme: str = ""
    treatment: str = ""
    grade_scheme: str = ""
    benefits: tuple[str, ...] = ()
    record: AeoRecord | None = None
    basis: MessageMeta | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    recognised: bool
    reason: str
    grade: str
    benefits: tuple[str, ...] = ()


def _status_reason(record: AeoRecord, at: datetime) -> str | None:
    if record.consent_withdrawn:
        return "consent.withdrawn"
    if record.status is not RecordStatus.VALID:
        return f"status.{record.status.value}"
    if record.valid_until is not None and at.date() > record.valid_until:
        return "status.expired"
    return None


def partner_treatment(
    partner: Partner, record: AeoRecord, scheme: GradeScheme | None, at: datetime
) -> Treatment:
    """Maps a partner's record to home treatment at ``at`` (MRA, status, tier, grade scheme)."""
    regular = scheme.regular if scheme else ""
    day = at.date()
    if partner.mra_in_force is None or day < partner.mra_in_force:
        return Treatment(False, "mra.not_in_force", regular)
    if any(p.covers(day) for p in partner.suspensions):
        return Treatment(False, "mra.suspended", regular)
    status = _status_reason(record, at)
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
    home: HomeAdministration, record: AeoRecord, scheme: GradeScheme | None, at: datetime
) -> Treatment:
    """A home operator's own grade (its tier) under the scheme in force at ``at``."""
    if scheme is None:
        return Treatment(False, "grade_scheme.none_in_force", "")
    status = _status_reason(record, at)
    if status:
        return Treatment(False, status, scheme.regular)
    if record.tier not in scheme.grades:
        return Treatment(False, "grade.not_in_scheme", scheme.regular)
    if record.tier not in scheme.aeo_grades:
        return Treatment(False, "grade.not_aeo", record.tier)
    return Treatment(True, "recognised", record.tier, home.standard_benefits)


class RecognitionService:
    def __init__(
        self,
        reader: RecordReader,
        codebook: CodeBook,
        partners: Mapping[str, Partner],
        home: HomeAdministration,
        clock: Clock,
        max_codes: int,
    ) -> None:
        self._reader = reader
        self._codebook = codebook
        self._partners = partners
        self._home = home
        self._clock = clock
        self._max_codes = max_codes

    def recognise(self, declared_code: str, as_of: datetime | None = None) -> Answer:
        return self._answer(declared_code, self._as_of(as_of))

    def recognise_many(
        self, declared_codes: Sequence[str], as_of: datetime | None = None
    ) -> list[Answer]:
        if len(declared_codes) > self._max_codes:
            raise TooManyCodes(
                f"{len(declared_codes)} codes in one call; the limit is {self._max_codes}",
                limit=str(self._max_codes),
            )
        at = self._as_of(as_of)
        return [self._answer(code, at) for code in declared_codes]

    def _as_of(self, as_of: datetime | None) -> datetime:
        if as_of is None:
            return self._clock.now()
        if as_of.tzinfo is None:
            raise InvalidQuery("as_of must carry a time zone")
        return as_of

    def _answer(self, declared_code: str, at: datetime) -> Answer:
        if not declared_code.strip():
            raise InvalidQuery("declared_code is empty")
        candidates = self._codebook.candidates(declared_code)
        if not candidates:
            return Answer(
                declared_code,
                normalise(declared_code),
                Outcome.CODE_FORMAT_UNKNOWN,
                "code.format_unknown",
                at,
            )
        for match in candidates:
            stored = self._reader.record_as_of(match.administration, match.code, at)
            if stored is not None:
                return self._decide(declared_code, match.code, stored, at)
        first = candidates[0]
        return Answer(
            declared_code,
            first.code,
            Outcome.UNKNOWN_OPERATOR,
            "operator.unknown",
            at,
            administration=first.administration,
            programme=self._programme(first.administration),
        )

    def _programme(self, administration: str) -> str:
        partner = self._partners.get(administration)
        return partner.programme if partner else ""

    def _decide(self, declared: str, code: str, stored: StoredRecord, at: datetime) -> Answer:
        scheme = self._home.scheme_at(at.date())
        partner = self._partners.get(stored.administration)
        if partner is not None:
            treatment = partner_treatment(partner, stored.record, scheme, at)
        else:
            treatment = home_treatment(self._home, stored.record, scheme, at)
        return Answer(
            declared_code=declared,
            normalised_code=code,
            outcome=Outcome.RECOGNISED if treatment.recognised else Outcome.NOT_RECOGNISED,
            reason=treatment.reason,
            as_of=at,
            administration=stored.administration,
            programme=self._programme(stored.administration),
            treatment=treatment.grade,
            grade_scheme=scheme.name if scheme else "",
            benefits=treatment.benefits,
            record=stored.record,
            basis=stored.basis,
        )
