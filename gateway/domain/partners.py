"""Partner administrations, their mutual-recognition arrangements and the home grade schemes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum

from gateway.domain.codes import IdentifierScheme


class TradeDirection(Enum):
    """The direction of a declaration, and what an MRA covers."""

    IMPORT = "import"
    EXPORT = "export"


class TransportMode(Enum):
    """A declaration's mode of transport: some MRAs entered into force mode by mode."""

    SEA = "sea"
    RAIL = "rail"
    ROAD = "road"
    AIR = "air"
    POSTAL = "postal"


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
class Period:
    """A closed-open span of calendar days; ``end`` None means open-ended."""

    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def _within(day: date, start: date | None, end: date | None) -> bool:
    """Closed-open like Period; a missing start means "always has"."""
    return (start is None or start <= day) and (end is None or day < end)


@dataclass(frozen=True, slots=True)
class TierRecognition:
    """A tier the MRA recognises, from ``start`` (None: since the MRA's entry into force)
    until ``end`` (None: still), closed-open."""

    tier: str
    start: date | None = None
    end: date | None = None

    def covers(self, day: date) -> bool:
        return _within(day, self.start, self.end)


@dataclass(frozen=True, slots=True)
class MappingRule:
    """A recognised partner tier earns the treatment of a home grade.

    ``scheme`` restricts the rule to one home grade scheme (decrees rename grades); None means
    any scheme that has the grade. ``benefits`` overrides the partner's bundle for this tier.
    ``start``/``end`` date the rule (closed-open; None: unbounded on that side).
    """

    tier: str
    grade: str
    scheme: str | None = None
    benefits: tuple[str, ...] | None = None
    start: date | None = None
    end: date | None = None

    def applies_on(self, day: date) -> bool:
        return _within(day, self.start, self.end)


@dataclass(frozen=True, slots=True)
class Freshness:
    """How often a partner is expected to send, and what its silence costs."""

    expected_cadence: timedelta
    max_staleness: timedelta
    stale_grants_benefits: bool

    def stale(self, last_received: datetime | None, now: datetime) -> bool:
        """Silent for longer than ``max_staleness``, or never heard from."""
        return last_received is None or now - last_received > self.max_staleness


@dataclass(frozen=True, slots=True)
class OutboundEndpoint:
    """Where the home administration's AEO changes go: the partner's gateway, over mutual TLS.

    ``server_name`` is the name its TLS certificate must carry (empty: the host of
    ``address``); ``wire_format`` is the format messages to it are sealed in."""

    address: str
    wire_format: str
    server_name: str = ""


@dataclass(frozen=True, slots=True)
class DataProtection:
    """What the partner's data-protection terms allow of home operators' data (the partner
    file's ``[data_protection]``; docs/data-protection.md).

    ``consent_required``: an operator's data goes to the partner only while the operator's
    consent to it is granted (the EU). ``adequate``: the partner's data protection is judged
    adequate; when not, no operator data is sent to it at all. ``retention``: how long raw
    messages exchanged with the partner are kept (None: kept until purged by hand)."""

    consent_required: bool = False
    adequate: bool = True
    retention: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Partner:
    code: str
    name: str
    programme: str
    tiers: tuple[str, ...]
    #: The tiers the MRA recognises, each for a period (a tier may appear more than once).
    recognised_tiers: tuple[TierRecognition, ...]
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
    #: Entry into force of modes that differ from ``mra_in_force`` (HK: land before air, sea).
    mra_in_force_by_mode: tuple[tuple[TransportMode, date], ...] = ()
    #: None: no expectation, so the partner's data is never judged stale.
    freshness: Freshness | None = None
    #: Fields of the definition that rest on an assumption, as the file names them.
    assumed: tuple[str, ...] = ()
    #: The partner's gateway for home AEO changes; None: nothing is sent to it.
    outbound: OutboundEndpoint | None = None
    #: Consent, adequacy and retention of exchanged data (issue 10; defaults: no consent
    #: asked, adequate, raw messages kept).
    data_protection: DataProtection = DataProtection()
    #: The lifecycle state of a partner with no lifecycle event recorded (issue 10): "active"
    #: for a file unless it says ``lifecycle = "draft"``; "draft" for one created through Admin.
    lifecycle: str = "active"

    @property
    def recognised_tier_names(self) -> frozenset[str]:
        """Every tier recognised in some period."""
        return frozenset(r.tier for r in self.recognised_tiers)

    def recognises(self, tier: str, day: date) -> bool:
        return any(r.tier == tier and r.covers(day) for r in self.recognised_tiers)

    def in_force_on(self, day: date) -> bool:
        """In force on ``day`` for at least one mode: from then on the partner is sent home
        AEO changes (Hong Kong's land ports began before its air and sea ports)."""
        starts = [self.mra_in_force, *(start for _, start in self.mra_in_force_by_mode)]
        return any(start is not None and start <= day for start in starts)

    def in_force_for(self, mode: TransportMode) -> date | None:
        """When the MRA entered into force for ``mode``: its own date, else ``mra_in_force``."""
        return dict(self.mra_in_force_by_mode).get(mode, self.mra_in_force)

    def key(self, key_id: str) -> SigningKeyInfo | None:
        for key in self.signing_keys:  # a partner has one or two keys: a scan beats a dict
            if key.key_id == key_id:
                return key
        return None

    def rule_for(self, tier: str, scheme: GradeScheme, day: date) -> MappingRule | None:
        """The rule for ``tier`` under ``scheme`` that applies on ``day``; a rule restricted
        to the scheme wins over a general one."""
        rules = [r for r in self.mapping if r.tier == tier and r.applies_on(day)]
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
    #: Where declarations are lodged: calendar-day rules (entry into force, dated tiers and
    #: mapping, grade schemes, validity) are judged on the declaration's day in this zone.
    zone: tzinfo = UTC

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def scheme_at(self, day: date) -> GradeScheme | None:
        in_force = [s for s in self.grade_schemes if s.in_force <= day]
        return max(in_force, key=lambda s: s.in_force) if in_force else None
