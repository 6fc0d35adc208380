"""Home AEOs out to a partner whose gateway misbehaves: a fake SG gateway over real mutual TLS,
the home gateway on SQLite and PostgreSQL. Each fault ends with the message unsettled and the
precise reason recorded, nothing behind it sent; once the partner answers properly the message
is settled exactly once with its receipt kept, and the next follows in order."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gateway.bootstrap import Gateway, build
from gateway.cli import main
from gateway.client import AdminClient, TlsIdentity, connect
from gateway.federation import Federation, outbound_messages, record_grade_change, write_federation
from gateway.pb import admin_pb2
from tests.conftest import Workspace
from tests.integration.fake_partner import Behaviour, FakePartner, serving

HOME_AEO = "AEOCN0123456781"
SENDING = admin_pb2.OUTBOUND_MESSAGE_STATE_SENDING
SETTLED = admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED
DEAD = admin_pb2.OUTBOUND_MESSAGE_STATE_DEAD_LETTERED
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """``probe``'s first truthy answer; fails naming ``what`` when none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Home:
    """The home gateway (restartable) delivering to SG's fake gateway."""

    federation: Federation
    fake: FakePartner
    workspace: Workspace
    overrides: dict[str, Any]
    gateway: Gateway | None = None

    def start(self) -> Gateway:
        self.gateway = build(self.federation.home.with_overrides(**self.overrides))
        return self.gateway

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop(grace=0)
            self.gateway = None

    @property
    def port(self) -> int:
        return self.federation.peers["SG"].port

    @property
    def admin(self) -> TlsIdentity:
        return TlsIdentity.dev(self.federation.home.pki_dir, "admin")

    def change(self, grade: str = "advanced certified") -> None:
        registry = TlsIdentity.dev(self.federation.home.pki_dir, "registry")
        name = "Outbound Faults Co"
        answer = record_grade_change(self.federation.home_target, registry, HOME_AEO, grade, name)
        assert list(answer.queued_for) == ["partners/SG"]

    def messages(self) -> dict[int, admin_pb2.OutboundMessage]:
        found = outbound_messages(self.federation.home_target, self.admin, "SG")
        return {m.sequence: m for m in found}

    def message(self, sequence: int) -> admin_pb2.OutboundMessage | None:
        return self.messages().get(sequence)

    def failed_with(self, sequence: int, reason: str) -> admin_pb2.OutboundMessage:
        def probe() -> admin_pb2.OutboundMessage | None:
            m = self.message(sequence)
            return m if m is not None and m.last_error == reason else None

        return eventually(probe, f"message {sequence} to fail with {reason}")

    def settled(self, sequence: int) -> admin_pb2.OutboundMessage:
        def probe() -> admin_pb2.OutboundMessage | None:
            m = self.message(sequence)
            return m if m is not None and m.state == SETTLED else None

        return eventually(probe, f"message {sequence} to settle")


def home_settings(workspace: Workspace) -> dict[str, Any]:
    return {
        "grace_seconds": 0.2,
        "outbound_call_timeout_seconds": 0.5,
        "outbound_poll_seconds": 0.05,
        "outbound_workers": 2,
        "outbound_max_records_per_message": 1,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def home(request: pytest.FixtureRequest, workspace: Workspace, tmp_path: Path) -> Iterator[Home]:
    urls = {}
    if request.param == "postgresql":
        urls["CN"] = request.getfixturevalue("postgres_url")
    federation = write_federation(workspace.settings(), tmp_path / "fed", ["SG"], urls)
    fake = FakePartner("SG", "CN", workspace.signer("SG"), workspace.signer("KR"))
    found = Home(federation, fake, workspace, home_settings(workspace))
    yield found
    found.stop()


def assert_settled_once(home: Home, sequence: int) -> admin_pb2.OutboundMessage:
    """Settled, with the partner's receipt for these very bytes kept; the partner got them."""
    message = home.settled(sequence)
    assert message.receipt.signature.key_id == "SG-2026-1"
    assert message.last_error == ""
    arrived = [a for a in home.fake.arrivals if a.sequence == sequence]
    assert arrived
    assert {a.digest for a in arrived} == {message.payload_sha256}
    assert hashlib.sha256(arrived[0].payload).digest() == message.payload_sha256
    assert message.receipt == home.fake.given(message.payload_sha256)  # the evidence kept
    return message


FAULTS = [
    (Behaviour.SLOW, "partner.deadline_exceeded"),
    (Behaviour.ABORT, "partner.unavailable"),
    (Behaviour.REFUSE, "partner.invalid_argument"),
    (Behaviour.FORGED_SIGNATURE, "receipt.signature_invalid"),
    (Behaviour.OTHER_KEY, "receipt.unknown_key"),
    (Behaviour.OTHER_MESSAGE, "receipt.mismatch"),
    # The refusal is recorded although its details do not parse (they are only a hint).
    (Behaviour.BAD_DETAILS, "partner.invalid_argument"),
]


@pytest.mark.parametrize(("behaviour", "reason"), FAULTS, ids=[b.value for b, _ in FAULTS])
def test_a_fault_leaves_the_message_unsettled_with_its_reason_until_the_partner_answers(
    home: Home, behaviour: Behaviour, reason: str
) -> None:
    """SG's gateway misbehaves (slow, reset, refusal, forged or foreign receipt). Result: the
    message stays SENDING with the precise last_error and the next change is not sent ahead of
    it; once SG answers properly both settle, in order, each exactly once."""
    home.fake.behaviour = behaviour
    with serving(home.fake, home.port, home.workspace.pki):
        home.start()
        home.change()
        failed = home.failed_with(1, reason)
        assert failed.state == SENDING
        assert failed.attempts >= 1
        assert not failed.HasField("receipt")
        home.change("regular")
        time.sleep(0.3)  # room for a wrong implementation to overtake
        assert set(home.fake.sequences()) == {1}
        home.fake.behaviour = Behaviour.OK
        assert_settled_once(home, 1)
        assert_settled_once(home, 2)
    assert home.fake.sequences()[-1] == 2
    assert sorted(set(home.fake.sequences())) == [1, 2]


def test_a_partner_down_then_up_gets_the_message_once_settled(home: Home) -> None:
    """Nothing listens at SG's endpoint. Result: partner.unavailable recorded; when SG's gateway
    comes up the message is settled by its receipt."""
    home.start()
    home.change()
    failed = home.failed_with(1, "partner.unavailable")
    assert failed.state == SENDING
    with serving(home.fake, home.port, home.workspace.pki):
        assert_settled_once(home, 1)


def test_three_messages_arrive_in_order(home: Home) -> None:
    """Three changes queued at once (one record per message). Result: SG receives sequences
    1, 2, 3 in that order, each settled."""
    with serving(home.fake, home.port, home.workspace.pki):
        home.start()
        for grade in ("advanced certified", "regular", "advanced certified"):
            home.change(grade)
        for sequence in (1, 2, 3):
            assert_settled_once(home, sequence)
    assert home.fake.sequences() == [1, 2, 3]


def test_a_message_sealed_before_a_restart_is_resent_byte_for_byte(home: Home) -> None:
    """The home gateway seals a message, cannot reach SG, and stops. Result: after a restart
    with SG up, the very bytes sealed before (same digest) are sent and settled."""
    home.start()
    home.change()
    before = home.failed_with(1, "partner.unavailable")
    home.stop()
    with serving(home.fake, home.port, home.workspace.pki):
        home.start()
        after = assert_settled_once(home, 1)
    assert after.payload_sha256 == before.payload_sha256
    assert after.sealed_at == before.sealed_at


def cli(home: Home, *args: str) -> list[str]:
    """`aeo-gateway` with the home gateway's admin identity, against the running home."""
    pki = home.federation.home.pki_dir
    return [
        *args,
        "--target",
        home.federation.home_target,
        "--ca",
        str(pki / "ca.pem"),
        "--cert",
        str(pki / "clients" / "admin.pem"),
        "--key",
        str(pki / "clients" / "admin.key.pem"),
    ]


def test_a_dead_letter_is_visible_then_re_driven_and_settled_late(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG's gateway is down past the age limit (3 s here). Result: the message is dead-lettered
    with its last error, shown by Admin and `outbox list --state dead`; the next change is
    delivered past it; `outbox redrive` puts it back and it settles late, exactly once."""
    home.overrides["outbound_dead_letter_after_seconds"] = 3.0
    home.start()
    home.change()

    def dead() -> admin_pb2.OutboundMessage | None:
        m = home.message(1)
        return m if m is not None and m.state == DEAD else None

    letter = eventually(dead, "message 1 to be dead-lettered")
    assert letter.last_error == "partner.unavailable"
    assert letter.HasField("dead_lettered_at")
    with connect(home.federation.home_target, home.admin) as channel:
        state = AdminClient(channel).partner_state("SG").outbound
    assert (state.dead_letters, state.backlog, state.last_settled_sequence) == (1, 1, 0)
    assert state.endpoint == f"127.0.0.1:{home.port}"

    assert main(cli(home, "outbox", "list", "--partner", "SG", "--state", "dead", "--format",
                    "json")) == 0  # fmt: skip
    listed = json.loads(capsys.readouterr().out)
    assert [(m["name"], m["last_error"]) for m in listed] == [
        ("partners/SG/outbound/1", "partner.unavailable")
    ]

    with serving(home.fake, home.port, home.workspace.pki):
        home.change("regular")
        assert_settled_once(home, 2)
        assert home.message(1).state == DEAD  # type: ignore[union-attr]
        assert main(cli(home, "outbox", "redrive", "--partner", "SG", "--sequence", "1")) == 0
        assert "partners/SG/outbound/1" in capsys.readouterr().out
        assert_settled_once(home, 1)
    assert home.fake.sequences() == [2, 1]
    with connect(home.federation.home_target, home.admin) as channel:
        state = AdminClient(channel).partner_state("SG").outbound
    assert (state.dead_letters, state.backlog, state.last_settled_sequence) == (0, 0, 2)


def test_the_cli_names_a_partner_mistake_in_one_line(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    """`outbox list --partner ZZ` for a partner not registered. Result: exit 1, one line
    naming partner.not_found, no traceback."""
    home.start()
    assert main(cli(home, "outbox", "--partner", "ZZ")) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "NOT_FOUND partner.not_found" in err
