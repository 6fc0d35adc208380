"""The report recovers the truth a generated year was made with, over real mTLS, on SQLite and
PostgreSQL.

The generator (gateway/facilitation_generator.py) draws a year of classified outcomes from
known true rates; they go into the store in bulk, and GetFacilitationReport must put each true
value inside the 95 % interval it reports (Wilson for rates, the ratio interval for
reductions, the order-statistic interval for release medians). The widths are bounded too, so
an interval cannot pass by being uninformative (the bounds are about 1.5 times the widths
these sample sizes give).

A 95 % interval misses its truth one time in twenty, and these are some forty checks: of
seeds 1 to 12, six put every truth inside (2, 3, 6, 11 and 12 as well as 1); the others miss
one to three checks, each by a little, as expected. The seed is fixed, so the test is
deterministic; a change to the arithmetic or the SQL that biases a measure moves it out.

100,000 outcomes for 2026: the smallest group checked in a quarter (home advanced certified
exports, about 2,500 declarations and 13 inspections) still gives a usable interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import psycopg
import pytest

from adapters.store.facilitation import SqlOutcomes
from adapters.store.sql import SqlStore
from gateway import facilitation_generator as generator
from gateway.bootstrap import build
from gateway.domain.facilitation import Jurisdiction, Outcome
from gateway.pb import common_pb2, facilitation_pb2, facilitation_pb2_grpc, home_pb2, home_pb2_grpc
from gateway.protomap import MODE_TO_PB
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import partner_client, submit

SEED = 1
OUTCOMES = 100_000
#: The truth, from the generator's groups.
HOME_ADVANCED = generator.GROUPS[1].rates
HOME_DISCREDITED = generator.GROUPS[3].rates
MN_AT_HOME = generator.GROUPS[5].rates
AEOS_IN_KR = generator.GROUPS[7].rates
IMPORT = common_pb2.TRADE_DIRECTION_IMPORT
EXPORT = common_pb2.TRADE_DIRECTION_EXPORT
HOME = facilitation_pb2.JURISDICTION_HOME
ABROAD = facilitation_pb2.JURISDICTION_ABROAD
#: 2027 is generated without KR's baseline abroad.
WITHOUT_KR_BASELINE = tuple(g for g in generator.GROUPS if g.name != "KR baseline abroad")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, workspace: Workspace) -> Iterator[str]:
    """A database holding 2025 (MN's MRA entered into force on 2025-06-01), 2026, and 2027
    without KR's baseline, loaded in bulk as the bench loads them."""
    if request.param == "postgresql":
        admin = str(request.getfixturevalue("postgres_server"))
        name = f"aeo_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{workspace.root / 'var' / (uuid.uuid4().hex + '.db')}"
    store = SqlStore.open(url, 1)
    try:
        store.migrate()
        outcomes = SqlOutcomes(store.database)
        outcomes.record(list(generator.generate(SEED, 2026, OUTCOMES)))
        outcomes.record(list(generator.generate(SEED, 2025, 30_000)))
        outcomes.record(list(generator.generate(SEED, 2027, 10_000, WITHOUT_KR_BASELINE)))
    finally:
        store.database.close()
    yield url
    if request.param == "postgresql":
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def live(database: str, workspace: Workspace) -> Iterator[Live]:
    settings = workspace.settings(database_url=database)
    gateway = build(settings)
    yield Live(gateway, settings, workspace)
    gateway.stop(grace=0)


def report(live: Live, period: str, partner: str = "") -> facilitation_pb2.FacilitationReport:
    with live.channel("domestic") as channel:
        stub = facilitation_pb2_grpc.FacilitationServiceStub(channel)
        request = facilitation_pb2.GetFacilitationReportRequest(period=period, partner=partner)
        answer: facilitation_pb2.GetFacilitationReportResponse = stub.GetFacilitationReport(
            request, timeout=60
        )
    return answer.report


def row(
    found: facilitation_pb2.FacilitationReport,
    jurisdiction: int,
    partner: str,
    direction: int,
    grade: str,
    before: bool = False,
) -> facilitation_pb2.FacilitationRow:
    rows = [
        r
        for r in found.rows
        if (r.jurisdiction, r.partner, r.direction, r.grade, r.before_recognition)
        == (jurisdiction, partner, direction, grade, before)
    ]
    assert len(rows) == 1, f"{found.period}: no single row {partner or 'home'} {grade} {before}"
    return rows[0]


def within(estimate: Any, truth: float, widest: float) -> None:
    assert estimate.low <= truth <= estimate.high, (
        f"{truth} outside [{estimate.low:.5f}, {estimate.high:.5f}] (point {estimate.value:.5f})"
    )
    assert estimate.high - estimate.low < widest, f"uninformative: {estimate}"


@pytest.mark.parametrize("period", ["2026", "2026Q3"])
@pytest.mark.parametrize("direction", [IMPORT, EXPORT], ids=["import", "export"])
def test_home_grades_are_recovered_within_their_intervals(
    live: Live, period: str, direction: int
) -> None:
    """A generated 2026: advanced certified inspected at 0.52 %, 80 % below the regular grade's
    2.6 %; discredited at 98 %. Result: each inside the reported 95 % interval."""
    found = report(live, period)
    quarter = period.endswith("Q3")
    advanced = row(found, HOME, "", direction, "advanced certified")
    within(advanced.group.inspection_rate, HOME_ADVANCED.inspection, 0.011 if quarter else 0.005)
    within(advanced.inspection.reduction, 0.8, 0.45 if quarter else 0.2)
    within(advanced.document_review.reduction, 0.8, 0.2 if quarter else 0.1)
    within(advanced.release_median.reduction, 1 - 2.0 / 6.0, 0.1 if quarter else 0.05)
    discredited = row(found, HOME, "", direction, "discredited")
    within(
        discredited.group.inspection_rate, HOME_DISCREDITED.inspection, 0.09 if quarter else 0.035
    )


@pytest.mark.parametrize("period", ["2026", "2026Q3"])
@pytest.mark.parametrize("direction", [IMPORT, EXPORT], ids=["import", "export"])
def test_home_aeos_in_korea_are_recovered_within_their_intervals(
    live: Live, period: str, direction: int
) -> None:
    """KR reports home AEOs' shipments inspected 50 % below its baseline and released with a
    median 0.7 of the baseline's. Result: reductions of 50 % and 30 % inside the intervals."""
    found = report(live, period, partner="KR")
    quarter = period.endswith("Q3")
    kr = row(found, ABROAD, "KR", direction, "advanced certified")
    assert kr.baseline.declarations > 0
    within(kr.group.inspection_rate, AEOS_IN_KR.inspection, 0.04 if quarter else 0.02)
    within(kr.inspection.reduction, 0.5, 0.65 if quarter else 0.3)
    within(kr.release_median.reduction, 0.3, 0.32 if quarter else 0.16)
    assert kr.home_aeos_trading > 0
    assert {r.partner for r in found.rows} <= {"", "KR"}


def test_a_period_without_the_partner_baseline_shows_not_available(live: Live) -> None:
    """2027 has home AEOs' shipments reported by KR but no baseline. Result: the KR row has its
    own measures, and no baseline nor comparison (never 0 or infinity); home rows still do."""
    found = report(live, "2027")
    kr = row(found, ABROAD, "KR", IMPORT, "advanced certified")
    assert kr.group.declarations > 0
    assert kr.group.HasField("inspection_rate")
    for absent in ("baseline", "inspection", "document_review", "release_median"):
        assert not kr.HasField(absent), absent
    assert row(found, HOME, "", IMPORT, "advanced certified").HasField("inspection")


def test_outcomes_before_the_mra_entered_into_force_are_reported_apart(live: Live) -> None:
    """MN's MRA entered into force on 2025-06-01. Result: in 2025Q2 MN's operators before it
    are a row of their own at the regular grade's truth; those after, recognised, another."""
    found = report(live, "2025Q2", partner="MN")
    before = row(found, HOME, "MN", IMPORT, "regular", before=True)
    after = row(found, HOME, "MN", IMPORT, "advanced certified")
    assert before.group.declarations > after.group.declarations > 0
    within(before.group.inspection_rate, generator.REGULAR.inspection, 0.2)
    within(after.group.inspection_rate, MN_AT_HOME.inspection, 0.2)
    q1 = report(live, "2025Q1", partner="MN")
    assert {(r.partner, r.before_recognition) for r in q1.rows if r.partner} == {("MN", True)}


#: Home grades that exist in both schemes in force in 2026 (Decree 251, then 282 from April),
#: and the partners' operators at home, each with a few operators, so every one is registered.
AT_HOME = tuple(
    replace(g, operators=25)
    for g in generator.GROUPS
    if g.jurisdiction is Jurisdiction.HOME and g.grade != "certified"
)
PARTNER_TIERS = {"KR": "A", "MN": "AEO"}
REGISTERED_FROM = datetime.fromisoformat("2025-01-01T00:00:00+08:00")


@pytest.fixture(params=["sqlite", "postgresql"])
def registered(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    """A gateway where the generator's operators exist: home grades recorded by the registry,
    KR's and MN's operators sent by them in signed batches."""
    overrides: dict[str, Any] = {"outbound_enabled": False}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    live = start_gateway(**overrides)
    codes = generator.operator_codes(SEED, AT_HOME)
    with live.channel("registry") as channel:
        registry = home_pb2_grpc.HomeRegistryServiceStub(channel)
        for group in AT_HOME:
            for code in codes[group.name] if not group.partner else ():
                change = home_pb2.GradeChange(
                    enterprise_code=code.removeprefix("AEOCN"),
                    name=f"Enterprise {code}",
                    address="1 Bund Road, Shanghai",
                    grade=group.grade,
                )
                change.effective_at.FromDatetime(REGISTERED_FROM)
                registry.RecordGradeChange(home_pb2.RecordGradeChangeRequest(change=change))
    for group in AT_HOME:
        if group.partner:
            operators = [
                record(
                    code,
                    tier=PARTNER_TIERS[group.partner],
                    effective_at=REGISTERED_FROM,
                    authorised_from=date(2024, 1, 1),
                )
                for code in codes[group.name]
            ]
            submit(partner_client(live, group.partner), 1, *operators)
    return live


def test_the_gateway_classifies_generated_outcomes_as_the_generator_did(registered: Live) -> None:
    """The generator's outcomes at home, recorded one by one through RecordDeclarationOutcome
    with the operators registered. Result: the gateway's classification at arrival (grade,
    AEO, reason, partner) is the generator's, so the bench and the recovery tests, which load
    the generator's classified outcomes directly, measure what recording them would store."""
    outcomes = list(generator.generate(SEED, 2026, 800, AT_HOME))
    assert {o.before_recognition for o in outcomes} == {False}
    year_2025 = list(generator.generate(SEED, 2025, 400, AT_HOME, tag="x"))
    assert any(o.before_recognition for o in year_2025)
    with registered.channel("domestic") as channel:
        stub = facilitation_pb2_grpc.FacilitationServiceStub(channel)
        for outcome in [*outcomes, *year_2025]:
            answer = stub.RecordDeclarationOutcome(
                facilitation_pb2.RecordDeclarationOutcomeRequest(outcome=declaration(outcome)),
                timeout=10,
            )
            assert (answer.administration, answer.grade, answer.aeo, answer.reason) == (
                outcome.administration,
                outcome.grade,
                outcome.aeo,
                outcome.reason,
            ), outcome
            assert not answer.duplicate
    reasons = {(o.partner, o.reason) for o in [*outcomes, *year_2025]}
    assert reasons == {
        ("", "recognised"),
        ("", "grade.not_aeo"),
        ("KR", "recognised"),
        ("MN", "recognised"),
        ("MN", "mra.not_in_force"),
    }


def declaration(outcome: Outcome) -> facilitation_pb2.DeclarationOutcome:
    pb = facilitation_pb2.DeclarationOutcome(
        declaration_id=outcome.declaration_id,
        declared_code=outcome.declared_code,
        direction=(IMPORT if outcome.direction.value == "import" else EXPORT),
        mode=MODE_TO_PB[outcome.mode] if outcome.mode else common_pb2.TRANSPORT_MODE_UNSPECIFIED,
        document_review=outcome.document_review,
        inspected=outcome.inspected,
    )
    pb.arrived_at.FromDatetime(outcome.arrived_at)
    pb.released_at.FromDatetime(outcome.released_at)
    return pb
