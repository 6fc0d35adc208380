"""Consent and data protection end to end: the home gateway and the EU's own gateway (this
same software, gateway/federation.py), real gRPC over real mutual TLS both ways, real
signatures and receipts. The EU asks for operators' consent (partners/EU.toml)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from gateway.api.errors import error_info
from gateway.bootstrap import Gateway, build
from gateway.client import AdminClient, RecognitionClient, TlsIdentity, connect
from gateway.federation import (
    Federation,
    gateway_key,
    outbound_messages,
    record_grade_change,
    settled_receipt,
    start_peer,
    wait_settled,
    write_federation,
)
from gateway.pb import admin_pb2, common_pb2, consent_pb2, consent_pb2_grpc, recognition_pb2
from tests.conftest import Workspace

ALICE = "AEOCN0123456781"
BOB = "AEOCN0123456782"
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
GRANTED = consent_pb2.CONSENT_STATE_GRANTED
WITHDRAWN = consent_pb2.CONSENT_STATE_WITHDRAWN


@pytest.fixture
def federation(workspace: Workspace, tmp_path: Path) -> Federation:
    return write_federation(workspace.settings(grace_seconds=0.5), tmp_path / "fed", ["EU"])


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
    def __init__(self, federation: Federation) -> None:
        self.federation = federation
        pki = federation.home.pki_dir
        self.admin = TlsIdentity.dev(pki, "admin")
        self.registry = TlsIdentity.dev(pki, "registry")
        self.target = federation.home_target

    def certify(self, code: str, grade: str = "advanced certified") -> list[str]:
        response = record_grade_change(self.target, self.registry, code, grade, "Consent Co")
        return list(response.queued_for)

    def decide(self, code: str, state: int, who: str = "registry") -> int:
        identity = self.registry if who == "registry" else self.admin
        with connect(self.target, identity) as channel:
            response = consent_pb2_grpc.ConsentServiceStub(channel).RecordOperatorConsent(
                consent_pb2.RecordOperatorConsentRequest(
                    partner="partners/EU",
                    enterprise_code=code,
                    state=state,  # type: ignore[arg-type]
                    reason="operator form 2026/17",
                ),
                timeout=10,
            )
        return response.queued_version

    def backlog(self) -> int:
        with connect(self.target, self.admin) as channel:
            return AdminClient(channel).partner_state("EU").outbound.backlog

    def settled(self, after: int) -> admin_pb2.OutboundMessage:
        message = wait_settled(self.target, self.admin, "EU", after)
        settled_receipt(message, gateway_key(self.federation.peers["EU"].settings()))
        return message


def at_eu(federation: Federation, code: str) -> tuple[int, str]:
    eu = federation.peers["EU"]
    with connect(eu.target, eu.identity("domestic")) as channel:
        answer = RecognitionClient(channel).recognise(code)
    return answer.outcome, answer.reason


def test_an_operator_goes_to_the_eu_only_with_consent_and_its_withdrawal_follows_in_order(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """Alice is certified without consent; then consents; then withdraws; then is suspended;
    then Bob consents. Result: the certification is queued for nobody; the grant sends
    Alice's state (message 1, EU recognises her); the withdrawal sends a consent-withdrawn
    record (message 2, EU answers NOT_RECOGNISED consent.withdrawn); the suspension is not
    queued for the EU, so the next message (3) carries Bob alone; every message settled by
    the EU gateway's signed receipt."""
    running(build(federation.home))
    running(start_peer(federation.peers["EU"]))
    home = Home(federation)
    assert home.certify(ALICE) == []
    assert home.backlog() == 0

    assert home.decide(ALICE, GRANTED) == 1
    first = home.settled(0)
    assert (first.sequence, first.records) == (1, 1)
    assert at_eu(federation, ALICE)[0] == RECOGNISED

    assert home.decide(ALICE, WITHDRAWN, who="admin") == 2
    second = home.settled(1)
    assert (second.sequence, second.records) == (2, 1)
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")

    assert "partners/EU" not in home.certify(ALICE, "regular")
    assert home.certify(BOB) == []
    assert home.decide(BOB, GRANTED) == 1
    third = home.settled(2)
    assert (third.sequence, third.records) == (3, 1)
    assert at_eu(federation, BOB)[0] == RECOGNISED
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")
    assert len(outbound_messages(home.target, home.admin, "EU")) == 3


def test_a_withdrawal_takes_back_changes_queued_but_not_yet_sent(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """Alice consents and is certified (message 1 settled); the EU programme is suspended
    (nothing goes out); Alice's grade changes (queued), then she withdraws; the programme
    resumes. Result: after the withdrawal one row is queued, its own; message 2 carries that
    one record alone, and the EU gateway answers NOT_RECOGNISED consent.withdrawn."""
    running(build(federation.home))
    running(start_peer(federation.peers["EU"]))
    home = Home(federation)
    assert home.decide(ALICE, GRANTED) == 0  # not yet an AEO: nothing to send
    assert home.certify(ALICE) == ["partners/EU"]
    assert home.settled(0).records == 1
    with connect(home.target, home.admin) as channel:
        AdminClient(channel).set_programme_state(
            "EU", common_pb2.PROGRAMME_STATE_SUSPENDED, "joint committee decision"
        )
    assert home.certify(ALICE, "certified") == ["partners/EU"]
    assert home.backlog() == 1
    assert home.decide(ALICE, WITHDRAWN) == 3
    assert home.backlog() == 1
    with connect(home.target, home.admin) as channel:
        AdminClient(channel).set_programme_state(
            "EU", common_pb2.PROGRAMME_STATE_ACTIVE, "suspension lifted"
        )
    second = home.settled(1)
    assert (second.sequence, second.records) == (2, 1)
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")
    assert len(outbound_messages(home.target, home.admin, "EU")) == 2


def home_view(home: Home, code: str) -> tuple[tuple[int, str], list[tuple[int, int]]]:
    """The home gateway's own recognition of ``code`` and the (version, event) pairs its
    change feed holds for it."""
    with connect(home.target, TlsIdentity.dev(home.federation.home.pki_dir, "domestic")) as ch:
        answer = RecognitionClient(ch).recognise(code)
    with connect(home.target, home.admin) as channel:
        changes = AdminClient(channel).changes(page_size=100).changes
    applied = [c.record_version_applied for c in changes if c.HasField("record_version_applied")]
    return (answer.outcome, answer.reason), [
        (a.version, a.event) for a in applied if a.identifier == code
    ]


def test_consent_decisions_change_only_the_partners_stream_and_its_versions_keep_rising(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """Alice is certified (home version 1) and consents; withdraws; is graded "certified"
    while withdrawn; consents again; withdraws and consents once more; is certified again.
    Result: home recognition answers RECOGNISED throughout and home's change feed holds only
    the three certifications (versions 1, 3, 6: numbered above the consent records 2, 4, 5
    the EU was sent), no consent.withdrawn event; the EU answers NOT_RECOGNISED
    consent.withdrawn after each withdrawal and RECOGNISED after each grant, never finding a
    version stale, and is sent the last certification."""
    running(build(federation.home))
    running(start_peer(federation.peers["EU"]))
    home = Home(federation)
    assert home.certify(ALICE) == []
    before = home_view(home, ALICE)
    assert before[0] == (RECOGNISED, "recognised")

    assert home.decide(ALICE, GRANTED) == 1
    home.settled(0)
    assert home.decide(ALICE, WITHDRAWN) == 2
    home.settled(1)
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")
    assert home_view(home, ALICE) == before

    assert home.certify(ALICE, "certified") == []
    assert home.decide(ALICE, GRANTED) == 3
    home.settled(2)
    assert at_eu(federation, ALICE)[0] == RECOGNISED
    assert home.decide(ALICE, WITHDRAWN) == 4
    home.settled(3)
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")
    assert home.decide(ALICE, GRANTED) == 5
    home.settled(4)
    assert at_eu(federation, ALICE)[0] == RECOGNISED

    assert home.certify(ALICE) == ["partners/EU"]
    assert home.settled(5).records == 1
    assert at_eu(federation, ALICE)[0] == RECOGNISED
    recognition, feed = home_view(home, ALICE)
    assert recognition == (RECOGNISED, "recognised")
    assert [version for version, _ in feed] == [1, 3, 6]
    assert common_pb2.STATUS_EVENT_CONSENT_WITHDRAWN not in [event for _, event in feed]
    with connect(home.target, home.admin) as channel:
        assert AdminClient(channel).partner_state("EU").outbound.dead_letters == 0


def test_a_withdrawal_takes_the_operator_out_of_a_message_sealed_but_not_yet_received(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """Alice consents and is certified while the EU gateway is down: message 1, carrying her
    record, is sealed and stays unsettled; she withdraws; then the EU gateway starts. Result:
    right after the withdrawal message 1 lists 0 records; message 1 goes out resealed as an
    empty delta under the same sequence, message 2 carries the withdrawal record alone, both
    settled by the EU's receipts, and the EU answers NOT_RECOGNISED consent.withdrawn."""
    running(build(federation.home))
    home = Home(federation)
    assert home.decide(ALICE, GRANTED) == 0
    assert home.certify(ALICE) == ["partners/EU"]
    deadline = time.monotonic() + 30
    while not outbound_messages(home.target, home.admin, "EU"):
        assert time.monotonic() < deadline, "message 1 never sealed"
        time.sleep(0.1)
    [sealed] = outbound_messages(home.target, home.admin, "EU")
    assert (sealed.sequence, sealed.records) == (1, 1)
    assert home.decide(ALICE, WITHDRAWN) == 2
    [withheld] = outbound_messages(home.target, home.admin, "EU")
    assert (withheld.sequence, withheld.records) == (1, 0)

    running(start_peer(federation.peers["EU"]))
    first = home.settled(0)
    assert (first.sequence, first.records) == (1, 0)
    second = home.settled(1)
    assert (second.sequence, second.records) == (2, 1)
    assert at_eu(federation, ALICE) == (NOT_RECOGNISED, "consent.withdrawn")


def test_a_partner_not_adequate_is_sent_no_operator_data(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """The EU's file (home side) flags its data protection not adequate; Alice consents and
    is certified. Result: nothing is queued for the EU by either (queued_version 0, not in
    queued_for, backlog 0)."""
    eu_file = federation.home.partners_dir / "EU.toml"
    eu_file.write_text(eu_file.read_text().replace("adequate = true", "adequate = false"))
    running(build(federation.home))
    home = Home(federation)
    assert home.decide(ALICE, GRANTED) == 0
    assert home.certify(ALICE) == []
    assert home.decide(ALICE, WITHDRAWN) == 0
    assert home.backlog() == 0
    assert outbound_messages(home.target, home.admin, "EU") == []


def refusal(
    home: Home, request: consent_pb2.RecordOperatorConsentRequest, who: str
) -> tuple[grpc.StatusCode, str]:
    identity = TlsIdentity.dev(home.federation.home.pki_dir, who)
    with connect(home.target, identity) as channel, pytest.raises(grpc.RpcError) as refused:
        consent_pb2_grpc.ConsentServiceStub(channel).RecordOperatorConsent(request, timeout=10)
    info = error_info(refused.value)
    return refused.value.code(), info.reason if info else ""


def test_bad_consent_requests_are_refused_with_their_reason(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """Consent for KR (which asks none), for an unknown partner, without a state, with a
    reason holding a control character, for a code that is no home enterprise's, and from
    a domestic certificate. Result: FAILED_PRECONDITION consent.not_required, NOT_FOUND
    partner.not_found, INVALID_ARGUMENT consent.invalid (twice), INVALID_ARGUMENT
    enterprise.code_invalid, PERMISSION_DENIED auth.role_not_permitted."""
    running(build(federation.home))
    home = Home(federation)

    def ask(**fields: object) -> consent_pb2.RecordOperatorConsentRequest:
        base: dict[str, object] = {
            "partner": "partners/EU",
            "enterprise_code": ALICE,
            "state": GRANTED,
            "reason": "form",
        }
        return consent_pb2.RecordOperatorConsentRequest(**{**base, **fields})  # type: ignore[arg-type]

    S = grpc.StatusCode
    assert refusal(home, ask(partner="partners/KR"), "admin") == (
        S.FAILED_PRECONDITION, "consent.not_required",
    )  # fmt: skip
    assert refusal(home, ask(partner="partners/ZZ"), "admin") == (S.NOT_FOUND, "partner.not_found")
    assert refusal(home, ask(state=0), "admin") == (S.INVALID_ARGUMENT, "consent.invalid")
    assert refusal(home, ask(reason="form\x07"), "registry") == (
        S.INVALID_ARGUMENT, "consent.invalid",
    )  # fmt: skip
    assert refusal(home, ask(enterprise_code="DE123"), "admin") == (
        S.INVALID_ARGUMENT, "enterprise.code_invalid",
    )  # fmt: skip
    assert refusal(home, ask(), "domestic") == (S.PERMISSION_DENIED, "auth.role_not_permitted")
