"""Builders for test data: records that read like the scenario they serve."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.domain.codes import Alias, IdentifierScheme
from gateway.domain.directory import Directory, PartnerKey
from gateway.domain.messages import RecordDraft
from gateway.domain.partners import (
    Freshness,
    GradeScheme,
    HomeAdministration,
    MappingRule,
    Partner,
    SigningKeyInfo,
    TierRecognition,
    TradeDirection,
    TransportMode,
)
from gateway.domain.records import AeoRecord, RecordStatus, StatusEvent

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BENEFITS = ("document_review.reduced", "inspection.reduced")


def record(identifier: str = "SG000000000001", version: int = 1, **changes: Any) -> AeoRecord:
    base = AeoRecord(
        identifier=identifier,
        name="Lion City Logistics Pte Ltd",
        address="1 Harbour Road, Singapore",
        status=RecordStatus.VALID,
        tier="STP-Plus",
        version=version,
        effective_at=datetime.now(UTC) - timedelta(days=30),
        event=StatusEvent.GRANTED,
        authorised_from=date(2020, 1, 1),
    )
    return replace(base, **changes)


def home() -> HomeAdministration:
    return HomeAdministration(
        code="CN",
        name="GACC",
        identifiers=IdentifierScheme(
            patterns=("AEOCN[0-9]{10}",), aliases=(Alias("CN([0-9]{10})", r"AEOCN\1"),)
        ),
        grade_schemes=(
            GradeScheme(
                "Decree 197",
                date(2010, 11, 15),
                ("AA", "A", "B", "C", "D"),
                frozenset({"AA"}),
                "B",
            ),
            GradeScheme(
                "Decree 237",
                date(2018, 5, 1),
                ("advanced certified", "general certified", "general credit", "discredited"),
                frozenset({"advanced certified", "general certified"}),
                "general credit",
            ),
            GradeScheme(
                "Decree 251",
                date(2021, 11, 1),
                ("advanced certified", "regular", "discredited"),
                frozenset({"advanced certified"}),
                "regular",
            ),
            GradeScheme(
                "Decree 282",
                date(2026, 4, 1),
                (
                    "advanced certified",
                    "certified",
                    "regular",
                    "discredited",
                    "seriously discredited",
                ),
                frozenset({"advanced certified", "certified"}),
                "regular",
            ),
        ),
        standard_benefits=BENEFITS,
    )


def singapore(**changes: Any) -> Partner:
    base = Partner(
        code="SG",
        name="Singapore",
        programme="Secure Trade Partnership",
        tiers=("STP", "STP-Plus"),
        recognised_tiers=(TierRecognition("STP-Plus"),),
        mra_signed="2012-06",
        mra_in_force=date(2013, 3, 15),
        directions=frozenset({TradeDirection.IMPORT, TradeDirection.EXPORT}),
        identifiers=IdentifierScheme(patterns=("SG[0-9]{12}",), prefix="SG"),
        wire_formats=("native",),
        signing_keys=(SigningKeyInfo("SG-2026-1", "ed25519"),),
        mapping=(MappingRule("STP-Plus", "advanced certified"),),
        benefits=BENEFITS,
    )
    return replace(base, **changes)


def hong_kong(**changes: Any) -> Partner:
    """Hong Kong: in force at land ports from 2014-05-18, at air and sea ports from 2014-09-01."""
    base = replace(
        singapore(),
        code="HK",
        name="Hong Kong, China",
        programme="HK AEO",
        tiers=("Tier1", "Tier2"),
        recognised_tiers=(TierRecognition("Tier1"), TierRecognition("Tier2")),
        mra_signed="2013-10-29",
        mra_in_force=date(2014, 5, 18),
        mra_in_force_by_mode=(
            (TransportMode.ROAD, date(2014, 5, 18)),
            (TransportMode.RAIL, date(2014, 5, 18)),
            (TransportMode.AIR, date(2014, 9, 1)),
            (TransportMode.SEA, date(2014, 9, 1)),
        ),
        identifiers=IdentifierScheme(patterns=("HK[0-9]{8}",), prefix="HK"),
        signing_keys=(SigningKeyInfo("HK-2026-1", "ed25519"),),
        mapping=(
            MappingRule("Tier1", "advanced certified"),
            MappingRule("Tier2", "advanced certified"),
            MappingRule("Tier1", "AA", scheme="Decree 197"),
            MappingRule("Tier2", "AA", scheme="Decree 197"),
        ),
    )
    return replace(base, **changes)


def belarus(**changes: Any) -> Partner:
    """Belarus: three types of AEO, only the third recognised."""
    base = replace(
        singapore(),
        code="BY",
        name="Belarus",
        programme="Belarus AEO",
        tiers=("Type1", "Type2", "Type3"),
        recognised_tiers=(TierRecognition("Type3"),),
        mra_signed="2019-04",
        mra_in_force=date(2019, 7, 24),
        identifiers=IdentifierScheme(patterns=("BY[0-9]{9}",), prefix="BY"),
        signing_keys=(SigningKeyInfo("BY-2026-1", "ed25519"),),
        mapping=(MappingRule("Type3", "advanced certified"),),
    )
    return replace(base, **changes)


def freshness(stale_grants_benefits: bool) -> Freshness:
    """Expected daily; stale after three silent days."""
    return Freshness(timedelta(hours=24), timedelta(hours=72), stale_grants_benefits)


def directory(*partners: Partner, version: int = 1, **keys: Any) -> Directory:
    """A directory snapshot of the home administration and ``partners`` (Singapore by default),
    each key accepting exactly the signature b"good"."""
    chosen = partners or (singapore(),)
    return Directory(
        version=version,
        loaded_at=NOW,
        home=home(),
        partners={p.code: p for p in chosen},
        keys={
            (p.code, k.key_id): PartnerKey(k, lambda data, sig: sig == b"good")
            for p in chosen
            for k in p.signing_keys
        },
        trust_anchors={p.code: b"" for p in chosen},
        digests={p.code: repr(p) for p in chosen},
    )


def draft(r: AeoRecord) -> RecordDraft:
    """The draft a codec would yield for ``r``."""
    return RecordDraft(
        identifier=r.identifier,
        version=r.version,
        effective_at=r.effective_at,
        status=r.status,
        name=r.name,
        address=r.address,
        tier=r.tier,
        event=r.event,
        authorised_from=r.authorised_from,
        valid_until=r.valid_until,
        suspended_on=r.suspended_on,
        revoked_on=r.revoked_on,
        consent_withdrawn=r.consent_withdrawn,
    )
