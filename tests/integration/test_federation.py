"""Federation: the partner's side is a second gateway, configured as that partner's
administration (home = KR, partner = CN). Real gRPC over real mutual TLS both ways; each side
verifies the other's message signatures and signed receipts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.directory.files import read_definitions
from gateway import protomap
from gateway.bootstrap import Gateway, build
from gateway.client import AdminClient, PartnerClient, RecognitionClient, TlsIdentity, connect
from gateway.domain.messages import DetachedSignature, OutboundBatch, SealedEnvelope
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.federation import (
    Federation,
    gateway_key,
    last_sequence,
    open_receipt,
    outbound_messages,
    record_grade_change,
    settled_receipt,
    start_peer,
    wait_settled,
    write_federation,
)
from gateway.pb import common_pb2, exchange_pb2, recognition_pb2
from tests.conftest import Workspace

PARTNERS = ("AU", "BY", "CH", "EU", "HK", "IL", "JP", "KR", "KZ", "MN", "NZ", "SG", "UY")
HOME_AEO = "AEOCN0123456781"
KR_AEO = "KR1208147522"
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED


def home_record(tier: str = "advanced certified", version: int = 1) -> AeoRecord:
    now = datetime.now(UTC)
    return AeoRecord(
        HOME_AEO,
        "Federation Demo Manufacturing Co",
        "1 Binjiang Road, Shanghai",
        RecordStatus.VALID,
        tier,
        version,
        now - timedelta(days=1),
        StatusEvent.GRANTED,
    )


def send(
    federation: Federation,
    sender: str,
    receiver: str,
    batch: OutboundBatch,
    wire_format: str,
) -> exchange_pb2.Receipt:
    """``sender``'s gateway key seals ``batch``; it goes over mTLS with ``sender``'s outbound
    certificate to ``receiver``'s gateway; the receipt comes back verified with ``receiver``'s
    published key."""
    home = federation.home
    if receiver == "CN":
        target, identity = federation.home_target, federation.peer_calling_home(sender)
        receiver_key = gateway_key(home)
    else:
        peer = federation.peers[receiver]
        target, identity = peer.target, federation.home_calling(receiver)
        receiver_key = gateway_key(peer.settings())
    envelope = federation.seal(sender, batch, wire_format)
    with connect(target, identity) as channel:
        response = PartnerClient(channel, sender, federation.home_signer()).submit_envelope(
            envelope
        )
    return open_receipt(response.receipt, receiver_key)


def recognise(target: str, identity: TlsIdentity, code: str) -> recognition_pb2.Recognition:
    with connect(target, identity) as channel:
        return RecognitionClient(channel).recognise(code)


@pytest.fixture
def federation(workspace: Workspace, tmp_path: Path) -> Federation:
    return write_federation(workspace.settings(grace_seconds=0.5), tmp_path / "fed", ["KR"])


@pytest.fixture
def running() -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def keep(gateway: Gateway) -> Gateway:
        started.append(gateway)
        return gateway

    yield keep
    for gateway in reversed(started):
        gateway.stop(grace=0)


def exchange_both_ways(federation: Federation, running: Callable[..., Gateway]) -> None:
    running(build(federation.home))
    kr = federation.peers["KR"]
    running(start_peer(kr))
    now = datetime.now(UTC)

    # CN -> KR, in KR's primary format (JWS), signed with the home gateway's key.
    receipt = send(
        federation,
        "CN",
        "KR",
        OutboundBatch("CN", 1, now, BatchKind.DELTA, (home_record(),)),
        "jws",
    )
    assert (receipt.partner, receipt.sequence, receipt.records_applied) == ("partners/CN", 1, 1)
    answer = recognise(kr.target, kr.identity("domestic"), HOME_AEO)
    assert answer.outcome == RECOGNISED, answer
    assert (answer.administration, answer.tier, answer.treatment) == (
        "CN",
        "advanced certified",
        "AAA",
    )
    assert answer.basis.key_id == "CN-GW-2"

    # KR -> CN, signed with the KR gateway's own key, as KR's gateway sends its AEOs.
    kr_record = AeoRecord(
        KR_AEO, "Busan Export Ltd", "1 Port Road", RecordStatus.VALID, "AAA", 1,
        now - timedelta(days=1), StatusEvent.GRANTED,
    )  # fmt: skip
    receipt = send(
        federation, "KR", "CN", OutboundBatch("KR", 1, now, BatchKind.DELTA, (kr_record,)), "jws"
    )
    assert (receipt.partner, receipt.records_applied) == ("partners/KR", 1)
    home_pki = federation.home.pki_dir
    answer = recognise(federation.home_target, TlsIdentity.dev(home_pki, "domestic"), KR_AEO)
    assert answer.outcome == RECOGNISED, answer
    assert (answer.administration, answer.basis.key_id) == ("KR", "KR-2026-1")


def test_home_and_kr_gateways_verify_each_other_over_mtls(
    federation: Federation, running: Callable[..., Gateway]
) -> None:
    """Home gateway and KR's gateway (SQLite each): CN sends a home AEO to KR in JWS; KR sends
    a KR AEO to CN. Result: each receipt verifies with the receiving gateway's key, and each
    side's Recognition answers RECOGNISED for the other's operator, signed by the sender."""
    exchange_both_ways(federation, running)


def test_both_ways_on_postgresql_with_a_database_each(
    workspace: Workspace, tmp_path: Path, postgres_server: str, running: Callable[..., Gateway]
) -> None:
    """The same exchange, the home gateway and KR's each on its own PostgreSQL database."""
    names = {code: f"aeo_fed_{code.lower()}_{uuid.uuid4().hex[:8]}" for code in ("CN", "KR")}
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        urls = {c: f"postgresql://postgres@127.0.0.1:5432/{n}" for c, n in names.items()}
        federation = write_federation(
            workspace.settings(grace_seconds=0.5), tmp_path / "fed", ["KR"], urls
        )
        exchange_both_ways(federation, running)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def every_peer(tmp_path_factory: pytest.TempPathFactory, workspace: Workspace) -> Federation:
    return write_federation(
        workspace.settings(grace_seconds=0.5), tmp_path_factory.mktemp("every"), PARTNERS
    )


@pytest.mark.parametrize("code", PARTNERS)
def test_every_partner_gateway_accepts_a_message_signed_by_cn(
    every_peer: Federation, code: str, running: Callable[..., Gateway]
) -> None:
    """Each of the 13 partners' gateways (in-process, one at a time) gets a home AEO from CN in
    the format CN sends it (XML-DSig for EU and JP, JWS for KR and NZ, native otherwise).
    Result: a receipt signed with that partner's own key (RSA for the EU) verifies, and its
    Recognition answers RECOGNISED, except Kazakhstan's, whose MRA has no known date."""
    peer = every_peer.peers[code]
    running(start_peer(peer))
    home = every_peer.home
    partner = read_definitions(home.home_file, home.partners_dir).partners[code].partner
    wire_format = partner.wire_formats[0]
    batch = OutboundBatch("CN", 1, datetime.now(UTC), BatchKind.DELTA, (home_record(),))
    receipt = send(every_peer, "CN", code, batch, wire_format)
    assert (receipt.partner, receipt.records_applied) == ("partners/CN", 1)
    answer = recognise(peer.target, peer.identity("domestic"), HOME_AEO)
    if code == "KZ":
        assert (answer.outcome, answer.reason) == (NOT_RECOGNISED, "mra.not_in_force")
    else:
        assert answer.outcome == RECOGNISED, answer
        assert answer.basis.key_id == "CN-GW-2"


# --- home AEOs out: the home gateway's own delivery (outbox, sealing, sending, settling) -------


def delivering(federation: Federation, running: Callable[..., Gateway]) -> Gateway:
    """The home gateway and KR's, nothing sent to KR yet."""
    home = running(build(federation.home))
    running(start_peer(federation.peers["KR"]))
    admin = TlsIdentity.dev(federation.home.pki_dir, "admin")
    assert outbound_messages(federation.home_target, admin, "KR") == []
    return home


def certify(federation: Federation, grade: str, name: str = "") -> exchange_pb2.Receipt:
    """A grade change of HOME_AEO through the home registry, then KR's next message settled;
    its kept receipt verified with KR's key."""
    home_pki = federation.home.pki_dir
    admin = TlsIdentity.dev(home_pki, "admin")
    before = last_sequence(federation.home_target, admin, "KR")
    response = record_grade_change(
        federation.home_target, TlsIdentity.dev(home_pki, "registry"), HOME_AEO, grade, name
    )
    assert "partners/KR" in response.queued_for
    message = wait_settled(federation.home_target, admin, "KR", before)
    return settled_receipt(message, gateway_key(federation.peers["KR"].settings()))


def test_a_certification_reaches_the_kr_gateway_and_a_downgrade_revokes_it_there(
    federation: Federation, running: Callable[..., Gateway]
) -> None:
    """The home registry certifies an enterprise, then downgrades it to a non-AEO grade.
    Result: each change is delivered to KR's gateway in JWS and settled by KR's signed receipt;
    KR's own Recognition answers RECOGNISED (treatment AAA), then NOT_RECOGNISED."""
    delivering(federation, running)
    kr = federation.peers["KR"]
    receipt = certify(federation, "advanced certified", "Federation Demo Manufacturing Co")
    assert receipt.records_applied == 1
    answer = recognise(kr.target, kr.identity("domestic"), HOME_AEO)
    assert (answer.outcome, answer.treatment, answer.basis.key_id) == (RECOGNISED, "AAA", "CN-GW-2")

    receipt = certify(federation, "regular")
    assert receipt.records_applied == 1
    answer = recognise(kr.target, kr.identity("domestic"), HOME_AEO)
    assert answer.outcome == NOT_RECOGNISED, answer


def test_a_message_resent_after_a_crash_is_a_duplicate_at_the_peer(
    federation: Federation, running: Callable[..., Gateway]
) -> None:
    """The home gateway died after KR's gateway stored a message but before it kept the
    receipt: the sealed message, exactly as stored in the outbox, is sent again. Result: KR's
    gateway answers with the very receipt it gave the first time, and holds one message."""
    home = delivering(federation, running)
    certify(federation, "advanced certified", "Federation Demo Manufacturing Co")
    kr = federation.peers["KR"]
    with connect(kr.target, kr.identity("admin")) as channel:
        received = AdminClient(channel).partner_state("CN").messages_received
    with home.store.database.reading() as conn:
        row = conn.execute(
            "SELECT wire_format, payload, key_id, algorithm, signature, receipt, receipt_signature"
            " FROM outbound_messages WHERE partner = 'KR' ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
    wire_format, payload, key_id, algorithm, signature, kept, kept_signature = row
    detached = DetachedSignature(key_id, algorithm, bytes(signature))
    sealed = SealedEnvelope(
        wire_format, bytes(payload), detached if wire_format == "native" else None
    )
    with connect(kr.target, federation.home_calling("KR")) as channel:
        again = PartnerClient(channel, "CN", federation.home_signer()).submit_envelope(
            protomap.signed_envelope(sealed)
        )
    assert again.duplicate
    assert (again.receipt.receipt, again.receipt.signature.signature) == (
        bytes(kept),
        bytes(kept_signature),
    )
    with connect(kr.target, kr.identity("admin")) as channel:
        assert AdminClient(channel).partner_state("CN").messages_received == received


def test_a_message_held_back_past_the_partners_replay_window_is_sealed_again(
    federation: Federation, running: Callable[..., Gateway]
) -> None:
    """KR's gateway is down when an enterprise is certified, and comes back with a replay
    window of one second, after the stored message was issued. Result: KR refuses the stored
    bytes as too old (it never took them), so the same sequence is sealed again, issued now,
    and settled by KR's receipt for the new bytes; KR's Recognition answers RECOGNISED."""
    home = running(build(federation.home))
    home_pki = federation.home.pki_dir
    admin = TlsIdentity.dev(home_pki, "admin")
    record_grade_change(
        federation.home_target,
        TlsIdentity.dev(home_pki, "registry"),
        HOME_AEO,
        "advanced certified",
        "Federation Demo Manufacturing Co",
    )
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while not (first := outbound_messages(federation.home_target, admin, "KR")) or not (
        first[0].attempts
    ):
        assert datetime.now(UTC) < deadline, "no attempt was made to send to KR"
        time.sleep(0.05)
    time.sleep(1.5)  # past the replay window KR's gateway will have
    kr = federation.peers["KR"]
    running(start_peer(kr, clock_skew_seconds=1))
    message = wait_settled(federation.home_target, admin, "KR", 0, timeout=30)
    assert message.sequence == first[0].sequence == 1
    assert message.payload_sha256 != first[0].payload_sha256
    settled_receipt(message, gateway_key(kr.settings()))
    with home.store.database.reading() as conn:
        (sealed_at,) = conn.execute(
            "SELECT sealed_at FROM outbound_messages WHERE partner = 'KR'"
        ).fetchone()
    assert sealed_at > first[0].sealed_at.ToMicroseconds()
    answer = recognise(kr.target, kr.identity("domestic"), HOME_AEO)
    assert answer.outcome == RECOGNISED, answer


def test_a_suspended_programme_is_sent_nothing_and_gets_every_change_in_order_on_resumption(
    federation: Federation, running: Callable[..., Gateway]
) -> None:
    """The home administration suspends KR's programme, then certifies an enterprise and
    downgrades it. Result: both changes are queued and nothing is sent while suspended (the
    partner state says delivery is paused, with a backlog of 2); on resumption they reach KR's
    gateway in order, settled by KR's receipts, and KR answers NOT_RECOGNISED (the newest)."""
    delivering(federation, running)
    home_pki = federation.home.pki_dir
    admin, registry = TlsIdentity.dev(home_pki, "admin"), TlsIdentity.dev(home_pki, "registry")
    with connect(federation.home_target, admin) as channel:
        AdminClient(channel).set_programme_state(
            "KR", common_pb2.PROGRAMME_STATE_SUSPENDED, "joint committee decision"
        )
    for grade, name in (
        ("advanced certified", "Federation Demo Manufacturing Co"),
        ("regular", ""),
    ):
        response = record_grade_change(federation.home_target, registry, HOME_AEO, grade, name)
        assert "partners/KR" in response.queued_for
    time.sleep(1.0)  # several delivery rounds: still nothing may go
    assert outbound_messages(federation.home_target, admin, "KR") == []
    with connect(federation.home_target, admin) as channel:
        outbound = AdminClient(channel).partner_state("KR").outbound
        assert (outbound.paused, outbound.backlog) == (True, 2)
        AdminClient(channel).set_programme_state(
            "KR", common_pb2.PROGRAMME_STATE_ACTIVE, "suspension lifted"
        )
    kr = federation.peers["KR"]
    deadline = time.monotonic() + 30
    while True:
        with connect(federation.home_target, admin) as channel:
            outbound = AdminClient(channel).partner_state("KR").outbound
        if outbound.backlog == 0:
            break
        assert time.monotonic() < deadline, f"KR's backlog not drained: {outbound}"
        time.sleep(0.05)
    messages = sorted(
        outbound_messages(federation.home_target, admin, "KR"), key=lambda m: m.sequence
    )
    assert [m.sequence for m in messages] == list(range(1, len(messages) + 1))
    assert sum(m.records for m in messages) == 2
    for message in messages:
        settled_receipt(message, gateway_key(kr.settings()))
    answer = recognise(kr.target, kr.identity("domestic"), HOME_AEO)
    assert (answer.outcome, answer.reason) == (NOT_RECOGNISED, "status.revoked"), answer
