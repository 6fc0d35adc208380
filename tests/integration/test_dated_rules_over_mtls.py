"""Entry into force by mode, a partner recognising one tier of three, and stale partner data,
through a real server over mutual TLS; the admin's view of the same definitions."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from gateway.client import AdminClient, RecognitionClient
from gateway.pb import common_pb2, recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, recognition_client, submit

RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
UNKNOWN_OPERATOR = recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR
ROAD, AIR = common_pb2.TRANSPORT_MODE_ROAD, common_pb2.TRANSPORT_MODE_AIR
UNSPECIFIED = common_pb2.TRANSPORT_MODE_UNSPECIFIED
IMPORT = common_pb2.TRADE_DIRECTION_IMPORT
JUNE_2014 = datetime(2014, 6, 1, 10, tzinfo=UTC)
SEPTEMBER_2014 = datetime(2014, 9, 2, 10, tzinfo=UTC)
HK_OPERATOR = "HK12345678"


@pytest.fixture
def hk_sent(live: Live) -> Live:
    """Hong Kong has sent one Tier1 operator, effective since 2014-01-01."""
    since = datetime(2014, 1, 1, tzinfo=UTC)
    submit(partner_client(live, "HK"), 1, record(HK_OPERATOR, tier="Tier1", effective_at=since))
    return live


@pytest.mark.parametrize(
    ("mode", "at", "outcome", "reason"),
    [
        (ROAD, JUNE_2014, RECOGNISED, "recognised"),
        (AIR, JUNE_2014, NOT_RECOGNISED, "mra.not_in_force"),
        (AIR, SEPTEMBER_2014, RECOGNISED, "recognised"),
        (UNSPECIFIED, JUNE_2014, NOT_RECOGNISED, "mra.mode_required"),
    ],
)
def test_hong_kong_is_recognised_by_the_mode_in_force(
    hk_sent: Live, mode: int, at: datetime, outcome: int, reason: str
) -> None:
    """A domestic system asks about HK's operator on 2014-06-01 by road, by air, and without a
    mode, and by air on 2014-09-02, alone and in a batch. Result: recognised by road; by air
    only in September; without a mode mra.mode_required; the answer echoes the mode."""
    client = recognition_client(hk_sent)
    for answer in (
        client.recognise(HK_OPERATOR, IMPORT, at, mode),  # type: ignore[arg-type]
        *client.recognise_many([HK_OPERATOR], IMPORT, at, mode),  # type: ignore[arg-type]
    ):
        assert (answer.outcome, answer.reason, answer.mode) == (outcome, reason, mode)
        assert bool(answer.benefits) is (outcome == RECOGNISED)
        assert not answer.partner_data_stale


def test_a_mode_the_api_does_not_define_is_refused(hk_sent: Live) -> None:
    """A request whose mode is 99. Result: INVALID_ARGUMENT query.invalid."""
    client = recognition_client(hk_sent)
    expect_error(
        lambda: client.recognise(HK_OPERATOR, IMPORT, None, 99),  # type: ignore[arg-type]
        grpc.StatusCode.INVALID_ARGUMENT,
        "query.invalid",
    )


def test_belarus_recognises_only_its_third_type(live: Live) -> None:
    """Belarus sends a Type1 and a Type3 AEO. Result: Type1 NOT_RECOGNISED
    tier.not_recognised; Type3 recognised as advanced certified."""
    by = partner_client(live, "BY")
    submit(by, 1, record("BY000000001", tier="Type1"), record("BY000000003", tier="Type3"))
    first, third = recognition_client(live).recognise_many(["BY000000001", "BY000000003"])
    assert (first.outcome, first.reason) == (NOT_RECOGNISED, "tier.not_recognised")
    assert (third.outcome, third.treatment) == (RECOGNISED, "advanced certified")


def test_a_partner_never_heard_from_is_stale(live: Live) -> None:
    """Mongolia has never sent a message; an MN code is asked about, and an admin asks for
    Mongolia's state; then for Hong Kong's after it sends. Result: UNKNOWN_OPERATOR with
    partner_data_stale; PartnerState.stale for MN, not for HK."""
    answer = RecognitionClient(live.channel("domestic")).recognise("MN1234567")
    assert (answer.outcome, answer.partner_data_stale) == (UNKNOWN_OPERATOR, True)
    admin = AdminClient(live.channel("admin"))
    assert admin.partner_state("MN").stale
    submit(partner_client(live, "HK"), 1, record(HK_OPERATOR, tier="Tier1"))
    assert not admin.partner_state("HK").stale


def test_admin_sees_dated_rules_modes_freshness_and_assumptions(live: Live) -> None:
    """An admin asks for Hong Kong's definition. Result: entry into force by mode, each tier's
    recognition, the mapping with its Decree 197 rules, the freshness policy, the benefits and
    the assumed fields, as the file says."""
    hk = AdminClient(live.channel("admin")).partner("HK")
    by_mode = {m.mode: (m.in_force.year, m.in_force.month) for m in hk.mra.in_force_by_mode}
    assert by_mode == {
        common_pb2.TRANSPORT_MODE_ROAD: (2014, 5),
        common_pb2.TRANSPORT_MODE_RAIL: (2014, 5),
        common_pb2.TRANSPORT_MODE_AIR: (2014, 9),
        common_pb2.TRANSPORT_MODE_SEA: (2014, 9),
    }
    assert [(t.tier, t.HasField("start")) for t in hk.tier_recognitions] == [
        ("Tier1", False),
        ("Tier2", False),
    ]
    assert [(m.tier, m.grade, m.grade_scheme) for m in hk.mapping] == [
        ("Tier1", "advanced certified", ""),
        ("Tier2", "advanced certified", ""),
        ("Tier1", "AA", "Decree 197"),
        ("Tier2", "AA", "Decree 197"),
    ]
    assert hk.freshness.expected_cadence.ToSeconds() == 3600
    assert hk.freshness.max_staleness.ToSeconds() == 24 * 3600
    assert not hk.freshness.stale_grants_benefits
    assert "liaison_officer" in hk.benefits
    assert list(hk.assumed_fields) == [
        "tiers",
        "recognised_tiers",
        "identifiers.patterns",
        "freshness",
    ]
