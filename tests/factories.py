"""Builders for test data: records that read like the scenario they serve."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.domain.codes import Alias, IdentifierScheme
from gateway.domain.directory import Directory, PartnerKey
from gateway.domain.messages import RecordDraft
from gateway.domain.partners import (
    GradeScheme,
    HomeAdministration,
    MappingRule,
    Partner,
    SigningKeyInfo,
    TierRecognition,
    TradeDirection,
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
