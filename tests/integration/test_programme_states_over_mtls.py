"""Programme states over real gRPC and mutual TLS, on SQLite and PostgreSQL: an admin gives a
partner notice, suspends and resumes its programme; recognition, PartnerState and the change
log follow."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from adapters.store.programme import SqlProgrammeStates
from gateway.cli import main
from gateway.client import AdminClient, ChangeFeedClient
from gateway.domain.events import ProgrammeStateChanged
from gateway.domain.programme import ProgrammeEntry, ProgrammeState
from gateway.pb import common_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import (
    expect_error,
    now,
    partner_client,
    recognition_client,
    submit,
)

NOTICE = common_pb2.PROGRAMME_STATE_NOTICE_OF_SUSPENSION
SUSPENDED = common_pb2.PROGRAMME_STATE_SUSPENDED
ACTIVE = common_pb2.PROGRAMME_STATE_ACTIVE
#: The subject of the development PKI's admin certificate: the actor recorded.
ADMIN_SUBJECT = "CN=CN admin system,O=General Administration of Customs of China"
RECOGNISED = 1  # RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = 2


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    if request.param == "sqlite":
        return start_gateway()
    return start_gateway(database_url=request.getfixturevalue("postgres_url"))


def test_notice_suspension_and_resumption_reach_recognition_state_and_change_log(
    gateway: Live,
) -> None:
    """SG has a recognised operator. An admin gives SG's programme 30 days' notice, then
    suspends it, then resumes it. Result: under notice still recognised, with the state and the
    date the suspension takes effect; suspended: NOT_RECOGNISED mra.suspended now, but an as_of
    before the suspension still recognised; resumed: recognised again. PartnerState shows each
    state, and the change log (ListChanges and WatchChanges) has all three, in order, with the
    reasons and the admin who set them."""
    submit(partner_client(gateway), 1, record())
    before = now()
    domestic = recognition_client(gateway)
    with gateway.channel("admin") as admin_channel:
        admin = AdminClient(admin_channel)

        noticed = admin.set_programme_state("SG", NOTICE, "audit findings", timedelta(days=30))
        assert noticed.name == "partners/SG/programme"
        assert noticed.state == NOTICE
        suspends_at = noticed.suspends_at.ToDatetime().timestamp()
        since = noticed.since.ToDatetime().timestamp()
        assert suspends_at - since == pytest.approx(30 * 86400)
        answer = domestic.recognise("SG000000000001")
        assert (answer.outcome, answer.reason, answer.programme_state) == (
            RECOGNISED,
            "recognised",
            NOTICE,
        )
        assert answer.programme_suspends_at == noticed.suspends_at
        assert admin.partner_state("SG").programme.state == NOTICE

        suspended = admin.set_programme_state("SG", SUSPENDED, "notice ran out early")
        answer = domestic.recognise("SG000000000001")
        assert (answer.outcome, answer.reason, answer.programme_state) == (
            NOT_RECOGNISED,
            "mra.suspended",
            SUSPENDED,
        )
        assert not answer.HasField("programme_suspends_at")
        earlier = domestic.recognise("SG000000000001", as_of=before)
        assert (earlier.outcome, earlier.programme_state) == (RECOGNISED, ACTIVE)
        state = admin.partner_state("SG").programme
        assert (state.state, state.reason, state.since) == (
            SUSPENDED,
            "notice ran out early",
            suspended.since,
        )

        admin.set_programme_state("SG", ACTIVE, "findings resolved")
        answer = domestic.recognise("SG000000000001")
        assert (answer.outcome, answer.programme_state) == (RECOGNISED, ACTIVE)
        assert admin.partner_state("SG").programme.state == ACTIVE

        listed = [
            c.programme_state_changed.programme
            for c in admin.changes(page_size=100).changes
            if c.HasField("programme_state_changed")
        ]
        assert [(p.state, p.reason) for p in listed] == [
            (NOTICE, "audit findings"),
            (SUSPENDED, "notice ran out early"),
            (ACTIVE, "findings resolved"),
        ]
        assert listed[0].suspends_at == noticed.suspends_at
        stream = ChangeFeedClient(admin_channel).watch(0)
        watched: list[int] = []
        for response in stream:
            watched.extend(
                c.programme_state_changed.programme.state
                for c in response.changes
                if c.HasField("programme_state_changed")
            )
            if len(watched) == 3:
                break
        stream.cancel()
        assert watched == [NOTICE, SUSPENDED, ACTIVE]
    actors = {
        c.event.entry.actor
        for c in gateway.gateway.store.reader.changes_after(0, 1000)
        if isinstance(c.event, ProgrammeStateChanged)
    }
    assert actors == {ADMIN_SUBJECT}


@pytest.mark.parametrize(
    ("name", "state", "reason", "notice", "code", "expected"),
    [
        ("SG", 0, "why", None, grpc.StatusCode.INVALID_ARGUMENT, "programme.invalid_state"),
        ("SG", SUSPENDED, "  ", None, grpc.StatusCode.INVALID_ARGUMENT, "programme.invalid_state"),
        ("SG", NOTICE, "why", timedelta(0), grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("SG", NOTICE, "why", -timedelta(days=1), grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("SG", NOTICE, "why", timedelta(days=1827), grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("SG", NOTICE, "why", timedelta(seconds=315_576_000_000), grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("SG", SUSPENDED, "r" * 3_500_000, None, grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("SG", SUSPENDED, "why\x00not", None, grpc.StatusCode.INVALID_ARGUMENT,
         "programme.invalid_state"),
        ("XX", SUSPENDED, "why", None, grpc.StatusCode.NOT_FOUND, "partner.not_found"),
    ],
    ids=["unspecified state", "empty reason", "zero notice", "negative notice",
         "notice over five years", "notice of ten thousand years", "reason of 3.5 MB",
         "reason with a NUL", "unknown partner"],
)  # fmt: skip
def test_a_programme_state_that_cannot_be_set_is_refused_and_nothing_changes(
    gateway: Live,
    name: str,
    state: common_pb2.ProgrammeState.ValueType,
    reason: str,
    notice: timedelta | None,
    code: grpc.StatusCode,
    expected: str,
) -> None:
    with gateway.channel("admin") as channel:
        admin = AdminClient(channel)
        expect_error(lambda: admin.set_programme_state(name, state, reason, notice), code, expected)
        assert list(admin.changes().changes) == []
        assert admin.partner_state("SG").programme.state == ACTIVE


def test_only_an_admin_may_set_a_programme_state(gateway: Live) -> None:
    with gateway.channel("domestic") as channel:
        expect_error(
            lambda: AdminClient(channel).set_programme_state("SG", SUSPENDED, "why"),
            grpc.StatusCode.PERMISSION_DENIED,
            "auth.role_not_permitted",
        )


def test_the_cli_gives_notice_suspends_and_resumes_through_the_running_gateway(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aeo-gateway partners notice SG --notice-days 10`, then `suspend`, then `resume
    --format json`. Result: each prints the state recorded and exits 0; the gateway's
    PartnerState follows; the JSON form is one object with the state and reason."""
    config = str(live.workspace.write_config(f"cli-{tmp_path.name}.toml"))
    base = ["--config", config, "partners"]
    target = ["--target", live.target]
    assert main([*base, "notice", "SG", "--reason", "audit", "--notice-days", "10", *target]) == 0
    out = capsys.readouterr().out
    assert out.startswith("partners/SG/programme: NOTICE_OF_SUSPENSION since ")
    assert "suspended from " in out
    assert main([*base, "suspend", "sg", "--reason", "notice over", *target]) == 0
    assert "partners/SG/programme: SUSPENDED since" in capsys.readouterr().out
    with live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").programme.state == SUSPENDED
    assert main([*base, "resume", "SG", "--reason", "fixed", "--format", "json", *target]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["state"], printed["reason"], printed["suspends_at"]) == (
        "ACTIVE",
        "fixed",
        None,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["suspend", "XX", "--reason", "why"], "NOT_FOUND partner.not_found"),
        (["suspend", "SG", "--reason", " "], "INVALID_ARGUMENT programme.invalid_state"),
        (["suspend", "SG", "--reason", "why", "--notice-days", "5"], "--notice-days applies"),
        (["suspend", "SG", "--reason", "\udcff\udcfe"], "--reason is not valid UTF-8"),
    ],
    ids=["unknown partner", "blank reason", "notice days for a suspension", "undecodable reason"],
)
def test_a_cli_mistake_gets_one_line_and_a_non_zero_exit(
    live: Live,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: str,
) -> None:
    config = str(live.workspace.write_config(f"cli-{tmp_path.name}.toml"))
    code = main(["--config", config, "partners", *args, "--target", live.target])
    err = capsys.readouterr().err
    assert code != 0
    assert expected in err
    assert len(err.strip().splitlines()) == 1, err


def test_zero_notice_days_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["partners", "notice", "SG", "--reason", "why", "--notice-days", "0"])
    assert exited.value.code == 2
    assert "0 days is no notice" in capsys.readouterr().err


def test_a_notice_too_long_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """`--notice-days 1000000000` (past what a date can hold). Result: exit 2 and one line
    naming the limit, not a traceback."""
    with pytest.raises(SystemExit) as exited:
        main(["partners", "notice", "SG", "--reason", "why", "--notice-days", "1000000000"])
    assert exited.value.code == 2
    assert "1000000000 days is too long; give 1826 or fewer" in capsys.readouterr().err


def test_a_notice_to_a_suspended_programme_is_refused_and_the_suspension_stands(
    gateway: Live,
) -> None:
    """SG's programme is suspended; an admin then gives it notice. Result: FAILED_PRECONDITION
    programme.already_suspended, recognition still NOT_RECOGNISED mra.suspended, and the change
    log holds the suspension only. After a resumption the notice is accepted."""
    submit(partner_client(gateway), 1, record())
    domestic = recognition_client(gateway)
    with gateway.channel("admin") as channel:
        admin = AdminClient(channel)
        admin.set_programme_state("SG", SUSPENDED, "fraud")
        expect_error(
            lambda: admin.set_programme_state("SG", NOTICE, "formal notice"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "programme.already_suspended",
        )
        answer = domestic.recognise("SG000000000001")
        assert (answer.outcome, answer.reason, answer.programme_state) == (
            NOT_RECOGNISED,
            "mra.suspended",
            SUSPENDED,
        )
        states = [
            c.programme_state_changed.programme.state
            for c in admin.changes(page_size=100).changes
            if c.HasField("programme_state_changed")
        ]
        assert states == [SUSPENDED]
        admin.set_programme_state("SG", ACTIVE, "cleared")
        assert admin.set_programme_state("SG", NOTICE, "formal notice").state == NOTICE


def test_change_log_pages_stay_under_the_message_limit_whatever_a_change_holds(
    gateway: Live,
) -> None:
    """Twenty programme changes of 300 kB each are in the log (written straight to the store,
    as no API accepts such a reason now): 6 MB, past gRPC's 4 MiB message limit. Result:
    ListChanges pages and WatchChanges responses each stay under 1 MiB, and paging through
    either yields all twenty, in order, once."""
    store = SqlProgrammeStates(gateway.gateway.store.database)
    at = datetime.now(UTC)
    for i in range(20):
        store.record(ProgrammeEntry("SG", ProgrammeState.SUSPENDED, at, f"{i:02d}" + "r" * 300_000,
                                    "CN=admin", at))  # fmt: skip
    with gateway.channel("admin") as channel:
        admin = AdminClient(channel)
        listed: list[str] = []
        token = ""
        for _ in range(20):
            page = admin.changes(page_token=token, page_size=100)
            assert page.ByteSize() < 1_100_000
            if not page.changes:
                break
            listed.extend(c.programme_state_changed.programme.reason[:2] for c in page.changes)
            token = page.next_page_token
        assert listed == [f"{i:02d}" for i in range(20)]

        watched: list[str] = []
        stream = ChangeFeedClient(channel).watch(0)
        for response in stream:
            assert response.ByteSize() < 1_100_000
            assert not response.changes or response.cursor == response.changes[-1].cursor
            watched.extend(c.programme_state_changed.programme.reason[:2] for c in response.changes)
            if len(watched) == 20:
                break
        stream.cancel()
        assert watched == listed
