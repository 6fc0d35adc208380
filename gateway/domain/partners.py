"""Partner administrations, their mutual-recognition arrangements and the home grade schemes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from gateway.domain.codes import IdentifierScheme


class TradeDirection(Enum):
    """The direction of a declaration, and what an MRA covers."""

    IMPORT = "import"
    EXPORT = "export"


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    """A partner's registered message-signing key: the algorithm is pinned to it."""

    key_id: str
    algorithm: str
    not_before: datetime | None = None
    not_after: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        if self.not_before is not None and at < self.not_before:
            return False
        return self.not_after is None or at <= self.not_after


@dataclass(frozen=True, slots=True)
class MappingRule:
    """A recognised partner tier earns the treatment of a home grade.

    ``scheme`` restricts the rule to one home grade scheme (decrees rename grades); None means
    any scheme that has the grade. ``benefits`` overrides the partner's bundle for this tier.
    """

    tier: str
    grade: str
    scheme: str | None = None
    benefits: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """A closed-open span of calendar days; ``end`` None means open-ended."""

    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Partner:
    code: str
    name: str
    programme: str
    tiers: tuple[str, ...]
    recognised_tiers: frozenset[str]
    mra_signed: str | None
    mra_in_force: date | None
    #: The declaration directions the MRA covers (many cover imports only).
    directions: frozenset[TradeDirection]
    identifiers: IdentifierScheme
    #: Wire formats the partner may send; the first is its primary format.
    wire_formats: tuple[str, ...]
    signing_keys: tuple[SigningKeyInfo, ...]
    mapping: tuple[MappingRule, ...]
    benefits: tuple[str, ...]
    #: Programme-level suspensions of recognition (the MRA's 60-day-notice clause).
    suspensions: tuple[Period, ...] = ()

    def key(self, key_id: str) -> SigningKeyInfo | None:
        for key in self.signing_keys:  # a partner has one or two keys: a scan beats a dict
            if key.key_id == key_id:
                return key
        return None

    def rule_for(self, tier: str, scheme: GradeScheme) -> MappingRule | None:
        rules = [r for r in self.mapping if r.tier == tier]
        specific = [r for r in rules if r.scheme == scheme.name]
        general = [r for r in rules if r.scheme is None and r.grade in scheme.grades]
        return next(iter(specific or general), None)


@dataclass(frozen=True, slots=True)
class GradeScheme:
    """The home credit grades one decree defines, and which of them are AEO grades."""

    name: str
    in_force: date
    grades: tuple[str, ...]
    aeo_grades: frozenset[str]
    regular: str


@dataclass(frozen=True, slots=True)
class HomeAdministration:
    code: str
    name: str
    identifiers: IdentifierScheme
    grade_schemes: tuple[GradeScheme, ...]
    standard_benefits: tuple[str, ...]

    def scheme_at(self, day: date) -> GradeScheme | None:
        in_force = [s for s in self.grade_schemes if s.in_force <= day]
        return max(in_force, key=lambda s: s.in_force) if in_force else None
