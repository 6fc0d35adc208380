"""Builders for test data: records that read like the scenario they serve."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.domain.codes import Alias, IdentifierScheme
from gateway.domain.partners import (
    GradeScheme,
    HomeAdministration,
    MappingRule,
    Partner,
    SigningKeyInfo,
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
        recognised_tiers=frozenset({"STP-Plus"}),
        mra_signed="2012-06",
        mra_in_force=date(2013, 3, 15),
        direction="import+export",
        identifiers=IdentifierScheme(patterns=("SG[0-9]{12}",), prefix="SG"),
        wire_format="native",
        signing_keys=(SigningKeyInfo("SG-2026-1", "ed25519"),),
        mapping=(MappingRule("STP-Plus", "advanced certified"),),
        benefits=BENEFITS,
    )
    return replace(base, **changes)
