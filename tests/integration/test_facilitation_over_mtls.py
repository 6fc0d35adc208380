"""FacilitationService over real mTLS, on SQLite and PostgreSQL: an outcome naming a
recognised SG operator is linked to the answer that applied and counted in the report against
the home baseline; duplicates, release before arrival and bad periods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from gateway.client import FacilitationClient, declaration_outcome
from gateway.pb import facilitation_pb2, home_pb2, home_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, now, partner_client, submit

SHANGHAI = ZoneInfo("Asia/Shanghai")
REGULAR_CODE = "AEOCN0000000042"


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    overrides = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    return start_gateway(**overrides)


def client(live: Live, who: str = "domestic") -> FacilitationClient:
    return FacilitationClient(live.channel(who))


def register_regular_home_enterprise(live: Live) -> None:
    change = home_pb2.GradeChange(
        enterprise_code=REGULAR_CODE[5:],
        name="Ningbo Ordinary Co.",
        address="2 Port Rd",
        grade="regular",
    )
    change.effective_at.FromDatetime(now() - timedelta(hours=2))
    stub = home_pb2_grpc.HomeRegistryServiceStub(live.channel("registry"))
    stub.RecordGradeChange(home_pb2.RecordGradeChangeRequest(change=change))


def outcome(
    n: int, code: str, inspected: bool, minutes: int
) -> facilitation_pb2.DeclarationOutcome:
    arrived = now() - timedelta(minutes=90)
    return declaration_outcome(
        f"5316{n:014d}", code, arrived, arrived + timedelta(minutes=minutes), inspected=inspected
    )


def test_a_recognised_sg_operator_is_linked_to_its_answer_and_counted(gateway: Live) -> None:
    submit(partner_client(gateway), 1, record())  # SG000000000001, STP-Plus, a month old
    register_regular_home_enterprise(gateway)
    facilitation = client(gateway)

    answer = facilitation.record(outcome(1, "SG000000000001", inspected=False, minutes=60))
    assert (answer.administration, answer.grade, answer.aeo, answer.reason) == (
        "SG",
        "advanced certified",
        True,
        "recognised",
    )
    assert answer.duplicate is False
    for n in range(2, 12):  # the home baseline: 10 regular declarations, 5 inspected
        regular = facilitation.record(outcome(n, REGULAR_CODE, inspected=n % 2 == 0, minutes=120))
        assert (regular.grade, regular.aeo) == ("regular", False)

    period = (now() - timedelta(minutes=90)).astimezone(SHANGHAI).strftime("%Y-%m")
    report = client(gateway, "admin").report(period, "SG")
    assert report.period == period
    assert len(report.trend) == 11
    (row,) = report.rows
    assert (row.partner, row.grade, row.before_recognition) == ("SG", "advanced certified", False)
    assert row.group.declarations == 1
    assert row.group.release_median_hours.value == pytest.approx(1.0)
    assert row.baseline.declarations == 10
    assert row.baseline.inspection_rate.value == pytest.approx(0.5)
    assert row.inspection.ratio.value == 0.0
    assert row.inspection.reduction.value == 1.0
    assert row.release_median.ratio.value == pytest.approx(0.5)
    assert not row.HasField("document_review")  # the baseline reviewed nothing: not available


def test_the_same_declaration_again_is_a_duplicate(gateway: Live) -> None:
    facilitation = client(gateway)
    first = outcome(1, "AEOCN9999999999", inspected=True, minutes=30)
    assert facilitation.record(first).duplicate is False
    first.inspected = False
    again = facilitation.record(first)
    assert again.duplicate is True
    assert (again.administration, again.reason) == ("CN", "operator.unknown")


def test_release_before_arrival_and_missing_fields_are_refused(gateway: Live) -> None:
    facilitation = client(gateway)
    backwards = outcome(1, "SG000000000001", inspected=True, minutes=-5)
    expect_error(
        lambda: facilitation.record(backwards),
        grpc.StatusCode.INVALID_ARGUMENT,
        "outcome.release_before_arrival",
    )
    no_arrival = outcome(2, "SG000000000001", inspected=True, minutes=5)
    no_arrival.ClearField("arrived_at")
    err = expect_error(
        lambda: facilitation.record(no_arrival), grpc.StatusCode.INVALID_ARGUMENT, "outcome.invalid"
    )
    assert "arrived_at" in (err.details() or "")
    # Nothing was stored: the same id goes in as new.
    assert facilitation.record(outcome(1, "SG000000000001", True, 5)).duplicate is False


@pytest.mark.parametrize("period", ["2026Q5", "last quarter", ""])
def test_a_bad_period_is_refused(gateway: Live, period: str) -> None:
    expect_error(
        lambda: client(gateway).report(period),
        grpc.StatusCode.INVALID_ARGUMENT,
        "report.period_invalid",
    )


def test_partners_may_not_call_it(gateway: Live) -> None:
    expect_error(
        lambda: client(gateway, "SG").report("2026"),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )


def test_an_empty_year_has_no_rows(gateway: Live) -> None:
    report = client(gateway).report("2020")
    assert (report.period, list(report.rows), [t.period for t in report.trend]) == (
        "2020",
        [],
        ["2019"],
    )
    assert report.start.ToDatetime() == datetime(2019, 12, 31, 16, 0)
