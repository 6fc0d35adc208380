"""Partner onboarding over real mTLS (issue 10): Chile, a partner no file defines, created
through Admin with a PKI minted here and walked draft -> configured -> testing -> active with
the CLI against its own gateway (the same software, as the peer); and every misuse refused
with its precise status and reason. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.bootstrap import Gateway, build
from gateway.cli import main
from gateway.client import AdminClient, PartnerClient, RecognitionClient, TlsIdentity, connect
from gateway.federation import (
    free_port,
    outbound_messages,
    record_grade_change,
    start_peer,
    wait_settled,
)
from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    onboarding_pb2,
    onboarding_pb2_grpc,
    recognition_pb2,
)
from gateway.settings import Settings
from tests.conftest import Workspace
from tests.factories import record
from tests.integration.helpers import expect_error, now
from tests.integration.onboarding_helpers import CL_AEO, CODE, Chile, chile_record, mint

HOME_AEO = "AEOCN0123456781"
FAILED = grpc.StatusCode.FAILED_PRECONDITION


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def running() -> Iterator[Callable[[Gateway], Gateway]]:
    started: list[Gateway] = []

    def keep(gateway: Gateway) -> Gateway:
        started.append(gateway)
        return gateway

    yield keep
    for gateway in reversed(started):
        gateway.stop(grace=0)


class Home:
    """The home gateway, serving, with Chile's material and a CLI configuration."""

    def __init__(self, settings: Settings, gateway: Gateway, chile: Chile, config: Path) -> None:
        self.settings = settings
        self.gateway = gateway
        self.chile = chile
        self.config = config

    @property
    def target(self) -> str:
        return f"localhost:{self.gateway.port}"

    def cli(self, *args: str) -> int:
        return main(["--config", str(self.config), *args])

    def admin(self) -> grpc.Channel:
        return connect(self.target, TlsIdentity.dev(self.settings.pki_dir, "admin"))

    def onboarding(self, channel: grpc.Channel) -> onboarding_pb2_grpc.PartnerOnboardingServiceStub:
        return onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel)

    def as_chile(self) -> grpc.Channel:
        return connect(self.target, self.chile.calling(self.settings))

    def lifecycle(self, code: str = CODE) -> onboarding_pb2.PartnerLifecycle:
        with self.admin() as channel:
            return (
                self.onboarding(channel)
                .GetPartnerLifecycle(
                    onboarding_pb2.GetPartnerLifecycleRequest(name=f"partners/{code}/lifecycle"),
                    timeout=10,
                )
                .lifecycle
            )


def start_home(
    workspace: Workspace,
    tmp_path: Path,
    database: str,
    running: Callable[[Gateway], Gateway],
    port: int | None = None,
) -> Home:
    port = port or free_port()
    settings = workspace.settings(
        listen=f"127.0.0.1:{port}", database_url=database, outbound_poll_seconds=0.2
    )
    chile = mint(settings, tmp_path / "chile")
    config = tmp_path / "cli.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\npki_dir = "{settings.pki_dir}"\n'
        f'home_ca = "{settings.home_ca}"\n'
    )
    return Home(settings, running(build(settings)), chile, config)


def onboard(home: Home, definition: Path, code: str = CODE) -> onboarding_pb2.PartnerLifecycle:
    """OnboardPartner as the CLI sends it: the definition and the files it names."""
    from gateway.cli_partners import definition_files

    text, files = definition_files(definition)
    request = onboarding_pb2.OnboardPartnerRequest(
        name=f"partners/{code}",
        definition=text,
        attachments=[onboarding_pb2.Attachment(name=n, content=c) for n, c in files],
    )
    with home.admin() as channel:
        return home.onboarding(channel).OnboardPartner(request, timeout=10).lifecycle


def step(home: Home, rpc: str, code: str = CODE, **fields: Any) -> Any:
    request = getattr(onboarding_pb2, f"{rpc}Request")(name=f"partners/{code}", **fields)
    with home.admin() as channel:
        return getattr(home.onboarding(channel), rpc)(request, timeout=30)


def state_name(value: int) -> str:
    return onboarding_pb2.LifecycleState.Name(value)  # type: ignore[arg-type]


# --- the walk ----------------------------------------------------------------------------------


def test_chile_is_walked_from_draft_to_active_with_the_cli_and_then_exchanges_both_ways(
    workspace: Workspace,
    tmp_path: Path,
    database: str,
    running: Callable[[Gateway], Gateway],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An admin onboards Chile from a definition file (its trust files sent inline), configures
    it, tests it (home -> Chile's gateway, and Chile's admin tests back), activates it. Result:
    each step recorded with who and when; before activation Chile's status message is refused
    partner.not_active; after it, Chile's status message is applied (its operator recognised)
    and a home AEO change is delivered to Chile's gateway with a verified receipt."""
    home_port, peer_port = free_port(), free_port()
    home = start_home(workspace, tmp_path, database, running, home_port)
    chile = home.chile
    chile.write(endpoint=f"127.0.0.1:{peer_port}")
    peer_ws = chile.peer(home.settings, tmp_path / "peer", peer_port, f"127.0.0.1:{home_port}")
    running(start_peer(peer_ws))

    assert home.cli("partners", "onboard", CODE, "--definition", str(chile.definition)) == 0
    assert capsys.readouterr().out.startswith("CL: draft since ")
    assert home.cli("partners", "configure", CODE) == 0
    assert "CL: configured" in capsys.readouterr().out

    # Not active yet: a status message from Chile changes nothing.
    with home.as_chile() as channel:
        client = PartnerClient(channel, CODE, chile.signer())
        expect_error(
            lambda: client.submit_envelope(chile.envelope(1, chile_record())),
            FAILED,
            "partner.not_active",
        )

    assert home.cli("partners", "test", CODE) == 0  # home -> Chile, receipt verified
    out = capsys.readouterr().out
    assert "CL: testing; outbound test passed" in out
    assert "still to verify before `partners activate`: inbound" in out
    expect_error(lambda: step(home, "ActivatePartner"), FAILED, "onboarding.test_incomplete")

    # Chile's administrator tests its own gateway's link to the home gateway (CN is active
    # there): a test message into the home gateway, which records the inbound direction.
    peer_config = str(peer_ws.settings_file)
    assert main(["--config", peer_config, "partners", "test", "CN"]) == 0
    assert "CN: active; outbound test passed" in capsys.readouterr().out

    assert home.cli("partners", "activate", CODE) == 0
    assert "CL: active" in capsys.readouterr().out
    assert home.cli("partners", "lifecycle", CODE, "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "active"
    assert sorted(shown["verified"]) == ["inbound", "outbound"]
    transitions = [e["state"] for e in shown["events"] if e["kind"] == "transition"]
    assert transitions == ["draft", "configured", "testing", "active"]
    assert all(e["actor"] and e["time"] for e in shown["events"])
    admin_subject = next(e["actor"] for e in shown["events"] if e["state"] == "draft")
    assert "admin system" in admin_subject
    inbound = next(e for e in shown["events"] if e["direction"] == "inbound")
    assert inbound["passed"]
    assert "CL customs gateway" in inbound["actor"]

    # Active: Chile's status message is applied and its operator recognised at home.
    with home.as_chile() as channel:
        response = PartnerClient(channel, CODE, chile.signer()).submit_envelope(
            chile.envelope(1, chile_record())
        )
    assert not response.duplicate
    with connect(home.target, TlsIdentity.dev(home.settings.pki_dir, "domestic")) as channel:
        answer = RecognitionClient(channel).recognise(CL_AEO)
    assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED

    # And a home AEO change reaches Chile's gateway, settled by its signed receipt.
    registry = TlsIdentity.dev(home.settings.pki_dir, "registry")
    admin = TlsIdentity.dev(home.settings.pki_dir, "admin")
    record_grade_change(home.target, registry, HOME_AEO, "advanced certified", "Demo Co")
    settled = wait_settled(home.target, admin, CODE, after=0)
    assert settled.sequence == 1


def test_a_home_change_made_while_a_partner_is_in_testing_waits_and_is_not_sent(
    workspace: Workspace, tmp_path: Path, running: Callable[[Gateway], Gateway]
) -> None:
    """A home AEO change while Chile is in testing (its endpoint set). Result: queued but not
    sent (no outbound message sealed for Chile), and not dead-lettered meanwhile."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    home.chile.write(endpoint=f"127.0.0.1:{free_port()}")
    onboard(home, home.chile.definition)
    step(home, "ConfigurePartner")
    tested = step(home, "TestPartner")  # nobody listens there: the test fails, recorded
    assert not tested.passed
    assert "not accepted" in tested.detail
    assert state_name(tested.lifecycle.state) == "LIFECYCLE_STATE_TESTING"
    registry = TlsIdentity.dev(home.settings.pki_dir, "registry")
    admin = TlsIdentity.dev(home.settings.pki_dir, "admin")
    record_grade_change(home.target, registry, HOME_AEO, "advanced certified", "Demo Co")
    with connect(home.target, admin) as channel:
        state = admin_pb2_grpc.AdminServiceStub(channel).GetPartnerState(
            admin_pb2.GetPartnerStateRequest(name="partners/CL/state"), timeout=10
        )
    assert state.partner_state.outbound.paused
    assert outbound_messages(home.target, admin, CODE) == []


def test_a_retired_partner_has_its_queue_emptied_and_is_queued_no_later_home_change(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """A home AEO change while Chile is in testing (queued, not sent), then an admin retires
    Chile, then another home change. Result: the retirement empties Chile's queue (backlog 0)
    and the later change is not queued for Chile (not in queued_for, backlog still 0)."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint=f"127.0.0.1:{free_port()}")
    onboard(home, home.chile.definition)
    step(home, "ConfigurePartner")
    step(home, "TestPartner")  # nobody listens there: Chile stays in testing
    registry = TlsIdentity.dev(home.settings.pki_dir, "registry")
    admin = TlsIdentity.dev(home.settings.pki_dir, "admin")

    def backlog() -> int:
        with connect(home.target, admin) as channel:
            return int(AdminClient(channel).partner_state(CODE).outbound.backlog)

    first = record_grade_change(home.target, registry, HOME_AEO, "advanced certified", "Demo Co")
    assert f"partners/{CODE}" in first.queued_for
    assert backlog() == 1
    step(home, "RetirePartner", reason="MRA not ratified")
    assert backlog() == 0
    later = record_grade_change(home.target, registry, HOME_AEO, "certified", "Demo Co")
    assert f"partners/{CODE}" not in later.queued_for
    assert backlog() == 0
    assert outbound_messages(home.target, admin, CODE) == []


# --- bad input and misuse ---------------------------------------------------------------------


def test_activating_a_partner_with_no_trust_anchor_is_refused(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """Chile onboarded from a definition without [trust]; an admin configures it, then
    activates it. Result: FAILED_PRECONDITION onboarding.no_trust_anchor both times; it stays a
    draft."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint="127.0.0.1:9", trust=False)
    assert state_name(onboard(home, home.chile.definition).state) == "LIFECYCLE_STATE_DRAFT"
    expect_error(lambda: step(home, "ConfigurePartner"), FAILED, "onboarding.no_trust_anchor")
    expect_error(lambda: step(home, "ActivatePartner"), FAILED, "onboarding.no_trust_anchor")
    assert state_name(home.lifecycle().state) == "LIFECYCLE_STATE_DRAFT"


def test_configuring_a_partner_without_an_endpoint_names_the_missing_piece(
    workspace: Workspace, tmp_path: Path, running: Callable[[Gateway], Gateway]
) -> None:
    """Chile onboarded without [outbound]; an admin configures it. Result:
    FAILED_PRECONDITION onboarding.no_endpoint; still a draft."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    home.chile.write(endpoint=None)
    onboard(home, home.chile.definition)
    expect_error(lambda: step(home, "ConfigurePartner"), FAILED, "onboarding.no_endpoint")
    assert state_name(home.lifecycle().state) == "LIFECYCLE_STATE_DRAFT"


def test_a_test_message_from_a_partner_in_draft_is_refused(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """Chile, onboarded (a draft, its CA now trusted for TLS), sends a signed test message.
    Result: FAILED_PRECONDITION partner.not_in_testing; no test result recorded."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint="127.0.0.1:9")
    onboard(home, home.chile.definition)
    request = exchange_pb2.SubmitTestMessageRequest(envelope=home.chile.envelope(1))
    with home.as_chile() as channel:
        stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
        expect_error(
            lambda: stub.SubmitTestMessage(request, timeout=10), FAILED, "partner.not_in_testing"
        )
    assert [e.kind for e in home.lifecycle().events] == [
        onboarding_pb2.LIFECYCLE_EVENT_KIND_TRANSITION
    ]


def test_a_partners_test_message_is_recorded_as_a_partner_call_and_listed_by_that_kind(
    workspace: Workspace,
    tmp_path: Path,
    database: str,
    running: Callable[[Gateway], Gateway],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Chile, a draft, sends a test message over mTLS (refused: not in testing). Result: the
    audit log holds one partner.call entry for CL, naming SubmitTestMessage and the refusal,
    and `aeo-gateway audit list --kind partner.call` (the domain's kind, accepted by the CLI)
    lists exactly it."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint="127.0.0.1:9")
    onboard(home, home.chile.definition)
    request = exchange_pb2.SubmitTestMessageRequest(envelope=home.chile.envelope(1))
    with home.as_chile() as channel:
        stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
        expect_error(
            lambda: stub.SubmitTestMessage(request, timeout=10), FAILED, "partner.not_in_testing"
        )
    config = workspace.write_config("audit.toml", database_url=database)
    capsys.readouterr()
    assert (
        main(
            ["--config", str(config), "audit", "list", "--kind", "partner.call", "--format", "json"]
        )
        == 0
    )
    [entry] = json.loads(capsys.readouterr().out)
    assert (entry["kind"], entry["partner"]) == ("partner.call", CODE)
    assert entry["subject"].endswith("/SubmitTestMessage")
    assert (entry["detail"]["status"], entry["detail"]["reason"]) == (
        "FAILED_PRECONDITION",
        "partner.not_in_testing",
    )


def test_a_status_message_from_a_partner_in_testing_is_refused_and_nothing_is_stored(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """Chile in testing sends a signed status message; then a test message. Result: the
    status message FAILED_PRECONDITION partner.not_active with nothing stored (no message, no
    record, no sequence); the test message gets a signed receipt that applied nothing."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint="127.0.0.1:9")
    onboard(home, home.chile.definition)
    step(home, "ConfigurePartner")
    step(home, "TestPartner")
    with home.as_chile() as channel:
        client = PartnerClient(channel, CODE, home.chile.signer())
        expect_error(
            lambda: client.submit_envelope(home.chile.envelope(1, chile_record())),
            FAILED,
            "partner.not_active",
        )
        stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
        answer = stub.SubmitTestMessage(
            exchange_pb2.SubmitTestMessageRequest(envelope=home.chile.envelope(1, chile_record())),
            timeout=10,
        )
    receipt = exchange_pb2.Receipt.FromString(answer.receipt.receipt)
    assert (receipt.records_received, receipt.records_applied) == (1, 0)
    reader = home.gateway.store.reader
    stats = reader.partner_stats(CODE)
    assert (stats.messages, stats.last_sequence, stats.operators) == (0, 0, 0)
    assert list(reader.history(CODE, CL_AEO)) == []
    assert home.lifecycle().verified_directions == [onboarding_pb2.TEST_DIRECTION_INBOUND]


def test_illegal_transitions_are_refused_naming_from_and_to(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """On a draft: test, activate, suspend its programme; on a retired partner: configure and
    retire again; on a file partner: retire without a reason. Result: FAILED_PRECONDITION
    lifecycle.transition_invalid with from_state and to_state (INVALID_ARGUMENT
    lifecycle.invalid_reason for the missing reason); the state unchanged each time."""
    home = start_home(workspace, tmp_path, database, running)
    home.chile.write(endpoint="127.0.0.1:9")
    onboard(home, home.chile.definition)
    err = expect_error(lambda: step(home, "TestPartner"), FAILED, "lifecycle.transition_invalid")
    from gateway.api.errors import error_info

    info = error_info(err)
    assert info is not None
    assert (info.metadata["from_state"], info.metadata["to_state"]) == ("draft", "testing")
    expect_error(lambda: step(home, "ActivatePartner"), FAILED, "lifecycle.transition_invalid")
    with home.admin() as channel:
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        expect_error(
            lambda: admin.SetProgrammeState(
                admin_pb2.SetProgrammeStateRequest(
                    name="partners/CL/programme",
                    state=common_pb2.PROGRAMME_STATE_SUSPENDED,
                    reason="not yet live",
                ),
                timeout=10,
            ),
            FAILED,
            "lifecycle.transition_invalid",
        )
    assert state_name(home.lifecycle().state) == "LIFECYCLE_STATE_DRAFT"
    step(home, "RetirePartner", reason="MRA not ratified")
    expect_error(lambda: step(home, "ConfigurePartner"), FAILED, "lifecycle.transition_invalid")
    expect_error(
        lambda: step(home, "RetirePartner", reason="again"),
        FAILED,
        "lifecycle.transition_invalid",
    )
    expect_error(
        lambda: step(home, "RetirePartner", code="SG"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "lifecycle.invalid_reason",
    )
    assert state_name(home.lifecycle().state) == "LIFECYCLE_STATE_RETIRED"
    assert state_name(home.lifecycle("SG").state) == "LIFECYCLE_STATE_ACTIVE"


def test_onboarding_a_code_that_exists_is_refused(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """Onboard Chile twice; onboard SG (a shipped file partner) with Chile's definition renamed
    and without a definition. Result: ALREADY_EXISTS onboarding.partner_exists each time; SG
    stays active and the first Chile a draft."""
    home = start_home(workspace, tmp_path, database, running)
    definition = home.chile.write(endpoint="127.0.0.1:9")
    onboard(home, definition)
    exists = grpc.StatusCode.ALREADY_EXISTS
    expect_error(lambda: onboard(home, definition), exists, "onboarding.partner_exists")
    sg = definition.with_name("SG.toml")
    sg.write_text(definition.read_text().replace('code = "CL"', 'code = "SG"'))
    expect_error(lambda: onboard(home, sg, "SG"), exists, "onboarding.partner_exists")
    expect_error(lambda: step(home, "OnboardPartner", code="SG"), exists,
                 "onboarding.partner_exists")  # fmt: skip
    assert state_name(home.lifecycle("SG").state) == "LIFECYCLE_STATE_ACTIVE"
    assert state_name(home.lifecycle().state) == "LIFECYCLE_STATE_DRAFT"


def test_a_definition_that_breaks_a_file_rule_is_refused_and_nothing_is_stored(
    workspace: Workspace, tmp_path: Path, running: Callable[[Gateway], Gateway]
) -> None:
    """Onboard Chile with a definition whose signing key is not attached, then with an unknown
    key. Result: INVALID_ARGUMENT onboarding.definition_invalid naming the field; Chile is not
    registered (GetPartnerLifecycle NOT_FOUND partner.not_found)."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    definition = home.chile.write(endpoint="127.0.0.1:9")
    request = onboarding_pb2.OnboardPartnerRequest(
        name="partners/CL", definition=definition.read_bytes()
    )
    with home.admin() as channel:
        err = expect_error(
            lambda: home.onboarding(channel).OnboardPartner(request, timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT,
            "onboarding.definition_invalid",
        )
    assert "trust.ca" in (err.details() or "")
    bad = definition.with_name("bad.toml")
    bad.write_text(definition.read_text() + 'colour = "red"\n')
    expect_error(
        lambda: onboard(home, bad), grpc.StatusCode.INVALID_ARGUMENT,
        "onboarding.definition_invalid",
    )  # fmt: skip
    expect_error(lambda: home.lifecycle(), grpc.StatusCode.NOT_FOUND, "partner.not_found")


def test_a_retired_partner_is_refused_and_its_operators_not_recognised_after_retirement(
    workspace: Workspace,
    tmp_path: Path,
    database: str,
    running: Callable[[Gateway], Gateway],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SG (a shipped partner) sends a record, then an admin retires SG. Result: recognition now
    answers NOT_RECOGNISED partner.retired, while as of before the retirement it is as before;
    SG's next status message FAILED_PRECONDITION partner.not_active (and `aeo-gateway import`
    of its file refused in one line); retirement is final."""
    home = start_home(workspace, tmp_path, database, running)
    before = now()
    sg_signer = workspace.signer("SG")
    with connect(home.target, workspace.identity("SG")) as channel:
        client = PartnerClient(channel, "SG", sg_signer)
        from gateway.devkit import pb_records

        client.submit(1, pb_records([record("SG201912345678")]))
    step(home, "RetirePartner", code="SG", reason="MRA terminated")
    with connect(home.target, workspace.identity("domestic")) as channel:
        recognition = RecognitionClient(channel)
        after = recognition.recognise("SG201912345678")
        earlier = recognition.recognise("SG201912345678", as_of=before)
    assert after.outcome == recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
    assert after.reason == "partner.retired"
    assert earlier.reason != "partner.retired"
    with connect(home.target, workspace.identity("SG")) as channel:
        client = PartnerClient(channel, "SG", sg_signer)
        expect_error(
            lambda: client.submit(2, pb_records([record("SG201912345678", version=2)])),
            FAILED,
            "partner.not_active",
        )
    expect_error(lambda: step(home, "ActivatePartner", code="SG"), FAILED,
                 "lifecycle.transition_invalid")  # fmt: skip
    # Nor does a file that arrived out of band apply to a retired partner.
    config = workspace.write_config("retired.toml", database_url=database)
    file = tmp_path / "sg.bin"
    file.write_bytes(b"not read")
    assert main(["--config", str(config), "import", str(file), "--partner", "SG"]) != 0
    assert "partner SG is retired" in capsys.readouterr().err


def test_a_suspended_active_partner_shows_as_suspended_and_resumes_to_active(
    workspace: Workspace,
    tmp_path: Path,
    running: Callable[[Gateway], Gateway],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`partners suspend KR`, `partners lifecycle`, `partners resume KR`. Result: the lifecycle
    list shows KR suspended (the programme suspension is the lifecycle's), then active; the
    other shipped partners active."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    assert home.cli("partners", "suspend", "KR", "--reason", "audit") == 0
    assert home.cli("partners", "lifecycle") == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["KR"] == "suspended"
    assert set(rows.values()) == {"active", "suspended"}
    assert len(rows) == 13
    assert home.cli("partners", "resume", "KR", "--reason", "audit done") == 0
    capsys.readouterr()
    assert state_name(home.lifecycle("KR").state) == "LIFECYCLE_STATE_ACTIVE"


def test_cli_lifecycle_mistakes_are_one_line_and_a_nonzero_exit(
    workspace: Workspace,
    tmp_path: Path,
    running: Callable[[Gateway], Gateway],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`partners onboard CL --definition missing.toml`, `partners activate CL` for an unknown
    partner. Result: exit non-zero with one line each on stderr, no traceback."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    assert home.cli("partners", "onboard", CODE, "--definition", str(tmp_path / "no.toml")) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no.toml" in err
    assert "Traceback" not in err
    assert home.cli("partners", "activate", CODE) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("aeo-gateway: NOT_FOUND partner.not_found")


def test_a_file_partner_marked_draft_exchanges_nothing_until_onboarded(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """SG's file says lifecycle = "draft". Result: SG is a draft with no events; its status
    message is refused partner.not_active; OnboardPartner without a definition records its
    draft step (by the admin), and a second one is ALREADY_EXISTS onboarding.partner_exists."""
    from adapters.directory.files import read_definitions
    from gateway.federation import write_home_partners

    base = workspace.settings()
    folder = write_home_partners(
        read_definitions(base.home_file, base.partners_dir), tmp_path / "partners", {},
        base.pki_dir,
    )  # fmt: skip
    sg = folder / "SG.toml"
    sg.write_text('lifecycle = "draft"\n' + sg.read_text())
    settings = workspace.settings(database_url=database, partners_dir=folder)
    gateway = running(build(settings))
    home = Home(settings, gateway, mint(settings, tmp_path / "chile"), tmp_path / "unused.toml")
    found = home.lifecycle("SG")
    assert state_name(found.state) == "LIFECYCLE_STATE_DRAFT"
    assert list(found.events) == []
    with connect(home.target, workspace.identity("SG")) as channel:
        client = PartnerClient(channel, "SG", workspace.signer("SG"))
        from gateway.devkit import pb_records

        expect_error(
            lambda: client.submit(1, pb_records([record("SG201912345678")])),
            FAILED,
            "partner.not_active",
        )
    onboarded = step(home, "OnboardPartner", code="SG").lifecycle
    assert [state_name(e.state) for e in onboarded.events] == ["LIFECYCLE_STATE_DRAFT"]
    assert "admin system" in onboarded.events[0].actor
    expect_error(
        lambda: step(home, "OnboardPartner", code="SG"),
        grpc.StatusCode.ALREADY_EXISTS,
        "onboarding.partner_exists",
    )


def test_a_partner_created_through_admin_is_seen_by_every_replica_and_survives_a_reload(
    workspace: Workspace, tmp_path: Path, database: str, running: Callable[[Gateway], Gateway]
) -> None:
    """Chile onboarded on one gateway; a second gateway starts on the same database; the first
    reloads its partner files. Result: the second has Chile (a draft) in its directory, and
    the reload on the first keeps it (no partner removed)."""
    first = start_home(workspace, tmp_path, database, running)
    onboard(first, first.chile.write(endpoint="127.0.0.1:9"))
    second = running(build(first.settings.with_overrides(listen="127.0.0.1:0")))
    assert CODE in second.directory.current().partners
    assert CODE in second.directory.current().trust_anchors
    with connect(f"localhost:{second.port}", workspace.identity("admin")) as channel:
        found = (
            onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel)
            .GetPartnerLifecycle(
                onboarding_pb2.GetPartnerLifecycleRequest(name="partners/CL/lifecycle"),
                timeout=10,
            )
            .lifecycle
        )
    assert state_name(found.state) == "LIFECYCLE_STATE_DRAFT"
    with first.admin() as channel:
        report = admin_pb2_grpc.AdminServiceStub(channel).ReloadPartners(
            admin_pb2.ReloadPartnersRequest(), timeout=10
        )
    assert list(report.removed_partners) == []
    assert CODE in first.gateway.directory.current().partners


def test_only_an_admin_certificate_may_call_onboarding(
    workspace: Workspace, tmp_path: Path, running: Callable[[Gateway], Gateway]
) -> None:
    """A partner's certificate (SG) and a domestic one call ListPartnerLifecycles; an admin
    certificate calls SubmitTestMessage. Result: PERMISSION_DENIED auth.role_not_permitted
    each time."""
    home = start_home(workspace, tmp_path, f"sqlite:///{tmp_path / 'h.db'}", running)
    denied = grpc.StatusCode.PERMISSION_DENIED
    for who in ("SG", "domestic"):
        with connect(home.target, workspace.identity(who)) as channel:
            stub = onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel)
            expect_error(
                lambda stub=stub: stub.ListPartnerLifecycles(
                    onboarding_pb2.ListPartnerLifecyclesRequest(), timeout=10
                ),
                denied,
                "auth.role_not_permitted",
            )
    with home.admin() as channel:
        exchange = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
        expect_error(
            lambda: exchange.SubmitTestMessage(exchange_pb2.SubmitTestMessageRequest(), timeout=10),
            denied,
            "auth.role_not_permitted",
        )
