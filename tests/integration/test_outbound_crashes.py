"""Crashes around delivery of home AEO changes (issue 8), with real processes and one real
PostgreSQL database: `aeo-gateway serve` replicas SIGKILLed between the commit of a change and
its send, and between a send and its receipt; PostgreSQL ending every connection of the home
database (the delivery lock holders' among them) while changes are recorded and delivered.

The partner is a fake SG gateway (tests/integration/fake_partner.py), or KR's real gateway
behind a relay the test controls: the relay forwards each call as it is and can hold KR's
answer after KR stored the message, which is the moment a crash must not lose or duplicate.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import grpc
import psycopg
import pytest

from adapters.store.outbound import OUTBOUND_LOCK_KEY, lock_key
from bench.chaos import GatewayProcess
from gateway import protomap
from gateway.bootstrap import Gateway
from gateway.client import AdminClient, RecognitionClient, TlsIdentity, connect, timestamp
from gateway.federation import (
    Federation,
    free_port,
    outbound_messages,
    record_grade_change,
    start_peer,
    write_federation,
)
from gateway.pb import (
    admin_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    home_pb2,
    home_pb2_grpc,
    recognition_pb2,
)
from tests.conftest import PG_ADMIN_URL, ROOT, Workspace
from tests.integration.fake_partner import FakePartner, StatusOnly
from tests.integration.test_outbound_faults import HOME_AEO, eventually

SETTLED = admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
#: Generous bound on any wait: a slow machine only makes a test slower, never wrong.
PATIENCE = 90.0

pytestmark = pytest.mark.postgres


# --- the partner side ----------------------------------------------------------------------


class Answering(Protocol):
    """A partner gateway's answer to a message: the fake's or the relay's."""

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse: ...


class HoldFirst(StatusOnly):
    """``inner`` takes each message (and keeps it) as usual, but the answer to the first call
    is held until ``release``: the partner has the message, its sender not yet the receipt."""

    def __init__(self, inner: Answering) -> None:
        self.inner = inner
        self.holding = threading.Event()
        self.release = threading.Event()
        self._first = True
        self._lock = threading.Lock()

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        response = self.inner.SubmitStatusMessage(request, context)
        with self._lock:
            first, self._first = self._first, False
        if first:
            self.holding.set()
            self.release.wait(PATIENCE)
        return response


@dataclass(frozen=True)
class Passed:
    """One answer of KR's gateway that the relay passed back."""

    digest: bytes
    sequence: int
    duplicate: bool
    receipt: exchange_pb2.SignedReceipt


class Relay(StatusOnly):
    """KR's real gateway behind one hop: each call forwarded as is, with the home gateway's own
    outbound certificate, after ``delay_seconds``; KR's answer or failure passed back."""

    def __init__(self, target: str, identity: TlsIdentity, delay_seconds: float = 0.0) -> None:
        self._channel = connect(target, identity)
        self._stub = exchange_pb2_grpc.PartnerExchangeServiceStub(self._channel)
        self._delay = delay_seconds
        self._lock = threading.Lock()
        #: The digest of every payload that came through, answered or not, in arrival order.
        self.arrivals: list[bytes] = []
        self.passed: list[Passed] = []

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        digest = hashlib.sha256(request.envelope.payload).digest()
        with self._lock:
            self.arrivals.append(digest)
        time.sleep(self._delay)
        try:
            response: exchange_pb2.SubmitStatusMessageResponse = self._stub.SubmitStatusMessage(
                request, timeout=PATIENCE
            )
        except grpc.RpcError as exc:
            context.abort(exc.code(), exc.details() or "")
        receipt = exchange_pb2.Receipt()
        receipt.ParseFromString(response.receipt.receipt)
        with self._lock:
            self.passed.append(Passed(digest, receipt.sequence, response.duplicate,
                                      response.receipt))  # fmt: skip
        return response

    def close(self) -> None:
        self._channel.close()


@contextmanager
def serving_as(
    code: str, servicer: exchange_pb2_grpc.PartnerExchangeServiceServicer, port: int, pki: Path
) -> Iterator[None]:
    """``servicer`` as partner ``code``'s gateway on ``port`` (its development server
    certificate), accepting clients of the home CA."""
    theirs = pki / "partners" / code
    credentials = grpc.ssl_server_credentials(
        [((theirs / "server.key.pem").read_bytes(), (theirs / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=8), options=[("grpc.so_reuseport", 0)])
    exchange_pb2_grpc.add_PartnerExchangeServiceServicer_to_server(servicer, server)
    if server.add_secure_port(f"127.0.0.1:{port}", credentials) == 0:
        raise RuntimeError(f"{code}'s gateway cannot listen on port {port}")
    server.start()
    try:
        yield
    finally:
        server.stop(0).wait()


@contextmanager
def kr_gateway(federation: Federation) -> Iterator[tuple[Gateway, str]]:
    """KR's real gateway (in process, SQLite) on a port of its own, and its target: the port
    the home gateway sends to is the relay's."""
    port = free_port()
    gateway = start_peer(federation.peers["KR"], listen=f"127.0.0.1:{port}")
    try:
        yield gateway, f"localhost:{port}"
    finally:
        gateway.stop(grace=0)


def kr_admin(federation: Federation, target: str) -> admin_pb2.PartnerState:
    with connect(target, federation.peers["KR"].identity("admin")) as channel:
        return AdminClient(channel).partner_state("CN")


# --- the home side: replicas on one PostgreSQL database --------------------------------------


def replica(
    federation: Federation, workspace: Workspace, tmp_path: Path, name: str, **extra: Any
) -> GatewayProcess:
    """An `aeo-gateway serve` process of the home gateway on the federation's database, named
    ``replica-{name}`` in pg_stat_activity."""
    home = federation.home
    settings: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "home_file": str(home.home_file),
        "partners_dir": str(home.partners_dir),
        "pki_dir": str(home.pki_dir),
        "tls_cert": str(home.tls_cert),
        "tls_key": str(home.tls_key),
        "home_ca": str(home.home_ca),
        "signing_key": str(home.signing_key),
        "outbound_tls_cert": str(home.outbound_tls_cert),
        "outbound_tls_key": str(home.outbound_tls_key),
        "outbound_poll_seconds": 0.05,
        # Longer than any hold here: a held call ends by the kill, never by its deadline.
        "outbound_call_timeout_seconds": 30.0,
        "outbound_max_records_per_message": 1,
        "outbound_workers": 2,
        "grace_seconds": 0.2,
        **extra,
    }
    config = workspace.write_config(
        f"crash-{name}-{tmp_path.name}.toml",
        database_url=f"{home.database_url}?application_name=replica-{name}",
        **settings,
    )
    return GatewayProcess(config, ROOT, tmp_path / f"replica-{name}.log")


def started(process: GatewayProcess) -> str:
    process.start(timeout=PATIENCE)
    ready = process.wait_ready(PATIENCE)
    assert ready is not None
    return ready[1]


def lock_holders(database_url: str, code: str) -> list[tuple[str, int]]:
    """(application_name, pid) of the sessions holding ``code``'s delivery lock."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a "
            "USING (pid) WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.objid = %s",
            (OUTBOUND_LOCK_KEY, lock_key(code)),
        ).fetchall()
    return [(str(name), int(pid)) for name, pid in rows]


def outbox(database_url: str, code: str) -> dict[str, int | None]:
    """identifier -> the sequence of the message carrying it (None until sealed)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT identifier, message_sequence FROM outbox WHERE partner = %s", (code,)
        ).fetchall()
    return {str(i): s for i, s in rows}


def settled(target: str, admin: TlsIdentity, code: str, sequence: int) -> admin_pb2.OutboundMessage:
    def probe() -> admin_pb2.OutboundMessage | None:
        found = {m.sequence: m for m in outbound_messages(target, admin, code)}
        m = found.get(sequence)
        return m if m is not None and m.state == SETTLED else None

    return eventually(probe, f"message {sequence} to {code} to settle", PATIENCE)


def kill_all(*processes: GatewayProcess) -> None:
    for process in processes:
        process.kill()


# --- 1. SIGKILL between commit and send ------------------------------------------------------


@pytest.mark.parametrize("before_kill", ["delivery_off", "partner_down"])
def test_a_change_committed_by_a_replica_killed_before_sending_is_delivered_once_by_another(
    workspace: Workspace, tmp_path: Path, postgres_url: str, before_kill: str
) -> None:
    """Replica A answers RecordGradeChange (committed: the outbox row is in the database) and
    is SIGKILLed before any send reached SG. What guarantees that: either A runs with
    outbound_enabled = false (the change is not even sealed), or nothing listens at SG's
    endpoint (A seals message 1 and fails partner.unavailable). Then SG's gateway is up and a
    new replica B starts on the same database. Result: SG receives the change exactly once, as
    sequence 1 (the very bytes A sealed, when it sealed them), and B settles it with SG's
    receipt stored."""
    federation = write_federation(workspace.settings(), tmp_path / "fed", ["SG"],
                                  {"CN": postgres_url})  # fmt: skip
    pki = federation.home.pki_dir
    admin = TlsIdentity.dev(pki, "admin")
    fake = FakePartner("SG", "CN", workspace.signer("SG"), workspace.signer("KR"))
    a = replica(federation, workspace, tmp_path, "a",
                outbound_enabled=before_kill == "partner_down")  # fmt: skip
    b = replica(federation, workspace, tmp_path, "b")
    try:
        target = started(a)
        answer = record_grade_change(
            target, TlsIdentity.dev(pki, "registry"), HOME_AEO, "advanced certified", "Crash Co"
        )
        assert list(answer.queued_for) == ["partners/SG"]
        sealed: admin_pb2.OutboundMessage | None = None
        if before_kill == "delivery_off":
            assert outbox(postgres_url, "SG") == {HOME_AEO: None}
            assert outbound_messages(target, admin, "SG") == []
        else:

            def failed() -> admin_pb2.OutboundMessage | None:
                found = outbound_messages(target, admin, "SG")
                ok = found and found[0].last_error == "partner.unavailable"
                return found[0] if ok else None

            sealed = eventually(failed, "A to fail sending to SG", PATIENCE)
            assert outbox(postgres_url, "SG") == {HOME_AEO: 1}
        a.kill()
        assert fake.arrivals == []
        with serving_as("SG", fake, federation.peers["SG"].port, workspace.pki):
            target = started(b)
            message = settled(target, admin, "SG", 1)
            arrivals = list(fake.arrivals)
        assert [(x.sequence, x.digest) for x in arrivals] == [(1, message.payload_sha256)]
        assert hashlib.sha256(arrivals[0].payload).digest() == message.payload_sha256
        assert message.receipt == fake.given(message.payload_sha256)
        assert message.receipt.signature.key_id == "SG-2026-1"
        assert [m.sequence for m in outbound_messages(target, admin, "SG")] == [1]
        assert outbox(postgres_url, "SG") == {HOME_AEO: 1}
        if sealed is not None:
            assert (message.payload_sha256, message.sealed_at) == (
                sealed.payload_sha256,
                sealed.sealed_at,
            )
    finally:
        kill_all(a, b)


# --- 2. SIGKILL between send and receipt ------------------------------------------------------


@dataclass
class PartnerSide:
    """Who stands at the partner's endpoint: a fake SG gateway, or a relay to KR's real one."""

    code: str
    fake: FakePartner | None = None
    relay: Relay | None = None
    kr_target: str = ""

    @property
    def servicer(self) -> Answering:
        found = self.fake or self.relay
        assert found is not None
        return found


@contextmanager
def partner_side(
    workspace: Workspace, federation: Federation, delay_seconds: float = 0.0
) -> Iterator[PartnerSide]:
    """The federation's one partner: SG's fake gateway, or KR's real one behind a relay."""
    if "SG" in federation.peers:
        yield PartnerSide("SG", fake=FakePartner("SG", "CN", workspace.signer("SG"),
                                                 workspace.signer("KR")))  # fmt: skip
        return
    with kr_gateway(federation) as (_, target):
        relay = Relay(target, federation.home_calling("KR"), delay_seconds)
        try:
            yield PartnerSide("KR", relay=relay, kr_target=target)
        finally:
            relay.close()


@pytest.mark.parametrize("code", ["SG", "KR"], ids=["fake_sg", "kr_gateway"])
def test_a_replica_killed_while_the_partner_holds_its_receipt_is_resent_the_same_bytes(
    workspace: Workspace, tmp_path: Path, postgres_url: str, code: str
) -> None:
    """Replicas A and B; a grade change is recorded; the partner takes message 1 (keeps it, its
    receipt made) and holds the answer; the replica holding the partner's delivery lock (found
    through pg_locks) is SIGKILLed while the call is held. Result: the other replica sends
    message 1 again with the SAME digest (identical bytes); the partner answers with the receipt
    it made the first time, and the message settles once with that receipt stored. With KR's
    real gateway (behind a relay that holds KR's first answer after KR stored the message):
    KR answers the resend duplicate=true with the same receipt, and holds the message once."""
    federation = write_federation(workspace.settings(), tmp_path / "fed", [code],
                                  {"CN": postgres_url})  # fmt: skip
    pki = federation.home.pki_dir
    admin = TlsIdentity.dev(pki, "admin")
    replicas = {f"replica-{n}": replica(federation, workspace, tmp_path, n) for n in "ab"}
    with partner_side(workspace, federation) as side:
        holding = HoldFirst(side.servicer)
        try:
            with serving_as(code, holding, federation.peers[code].port, workspace.pki):
                targets = {name: started(p) for name, p in replicas.items()}
                answer = record_grade_change(
                    targets["replica-a"], TlsIdentity.dev(pki, "registry"), HOME_AEO,
                    "advanced certified", "Crash Co",
                )  # fmt: skip
                assert list(answer.queued_for) == [f"partners/{code}"]
                assert holding.holding.wait(PATIENCE), "the first send never arrived"
                [(victim, _)] = lock_holders(postgres_url, code)
                replicas[victim].kill()
                survivor = next(t for name, t in targets.items() if name != victim)
                message = settled(survivor, admin, code, 1)
                assert [m.sequence for m in outbound_messages(survivor, admin, code)] == [1]
        finally:
            holding.release.set()
            kill_all(*replicas.values())
        if side.fake is not None:
            arrivals = [(x.sequence, x.digest) for x in side.fake.arrivals]
            assert arrivals == [(1, message.payload_sha256)] * 2
            assert message.receipt == side.fake.given(message.payload_sha256)
        else:
            assert side.relay is not None
            assert side.relay.arrivals == [message.payload_sha256] * 2
            first, again = side.relay.passed
            assert (first.sequence, first.duplicate) == (1, False)
            assert (again.sequence, again.duplicate) == (1, True)
            assert again.receipt == first.receipt  # byte for byte: the receipt KR stored
            assert message.receipt == first.receipt
            assert kr_admin(federation, side.kr_target).messages_received == 1
            kr = federation.peers["KR"].identity("domestic")
            with connect(side.kr_target, kr) as channel:
                assert RecognitionClient(channel).recognise(HOME_AEO).outcome == RECOGNISED


# --- 3. PostgreSQL cutting the home database's connections under load ------------------------

#: Changes answered OK between cuts, so that each cut lands while changes are recorded.
OKS_BETWEEN_CUTS = 8
CUTS = 3
#: Pause between changes: a steady stream rather than a backlog delivery takes minutes over.
PACE_SECONDS = 0.1


class GradeLoad:
    """One thread recording grade changes (a new enterprise each, certified) on the replicas in
    turn, a steady stream; it notes who was answered OK and how the others failed."""

    def __init__(self, targets: list[str], registry: TlsIdentity) -> None:
        self._channels = [connect(t, registry) for t in targets]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()
        self.ok: list[str] = []
        self.refused: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for channel in self._channels:
            channel.close()

    def answered(self) -> int:
        with self._lock:
            return len(self.ok)

    def wait_for_more(self, n: int) -> None:
        """Until ``n`` more changes are answered OK."""
        more = self.answered() + n
        eventually(lambda: self.answered() >= more, f"{n} more changes answered", PATIENCE)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            stub = home_pb2_grpc.HomeRegistryServiceStub(self._channels[n % len(self._channels)])
            change = home_pb2.GradeChange(
                enterprise_code=f"AEOCN{7_000_000_000 + n:010d}", name=f"Load Co {n}",
                address="1 Demo Road", grade="advanced certified",
            )  # fmt: skip
            change.effective_at.CopyFrom(timestamp(datetime.now(UTC)))
            try:
                answer = stub.RecordGradeChange(
                    home_pb2.RecordGradeChangeRequest(change=change), timeout=PATIENCE
                )
            except grpc.RpcError as exc:
                info = protomap.error_info(exc)
                with self._lock:
                    self.refused.append(f"{exc.code().name} {info.reason if info else ''}")
            else:
                assert list(answer.queued_for) == ["partners/KR"]
                with self._lock:
                    self.ok.append(answer.record.identifier)
            n += 1
            self._stop.wait(PACE_SECONDS)


def cut_connections(database_url: str) -> tuple[set[int], set[int]]:
    """Once a session holds KR's delivery lock, PostgreSQL ends every backend of the database
    (only that one), as a restart would, and waits until they are gone: (the pids that held the
    lock a moment before, the pids ended). One connection for both, so the moment is short."""
    database = database_url.rsplit("/", 1)[1]
    deadline = time.monotonic() + PATIENCE
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        while True:
            holders = {
                int(pid)
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = %s AND objid = %s "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
                    (OUTBOUND_LOCK_KEY, lock_key("KR"), database),
                ).fetchall()
            }
            if holders or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        rows = conn.execute(
            "SELECT pid, pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return holders, {int(pid) for pid, ended in rows if ended}


def stored_messages(database_url: str) -> dict[int, tuple[str, bytes]]:
    """sequence -> (state, digest) of every message to KR."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT sequence, state, digest FROM outbound_messages WHERE partner = 'KR'"
        ).fetchall()
    return {int(s): (str(state), bytes(d)) for s, state, d in rows}


def test_every_change_answered_ok_reaches_kr_once_in_order_through_postgresql_cuts(
    workspace: Workspace, tmp_path: Path, postgres_url: str
) -> None:
    """Two replicas on one PostgreSQL database record certifications continuously (one change
    per message) and deliver them to KR's real gateway, behind a relay that takes 0.05 s per
    call so that a delivery lock is held at almost any moment. Three times, with a session
    holding KR's delivery lock, PostgreSQL ends every connection of the home database. Result:
    each cut ended the lock holder's session; changes refused meanwhile got UNAVAILABLE
    store.unavailable and nothing else; every change answered OK is carried by a message, the
    messages are 1..N without a gap, all settled; KR's gateway saw the sequences first in
    order, and only the stored bytes of each (one digest per sequence), holds N messages, and
    recognises every enterprise answered OK."""
    federation = write_federation(workspace.settings(), tmp_path / "fed", ["KR"],
                                  {"CN": postgres_url})  # fmt: skip
    pki = federation.home.pki_dir
    admin = TlsIdentity.dev(pki, "admin")
    replicas = [replica(federation, workspace, tmp_path, n) for n in "ab"]
    cuts: list[tuple[set[int], set[int]]] = []
    with partner_side(workspace, federation, delay_seconds=0.05) as side:
        assert side.relay is not None
        try:
            with serving_as("KR", side.relay, federation.peers["KR"].port, workspace.pki):
                targets = [started(p) for p in replicas]
                load = GradeLoad(targets, TlsIdentity.dev(pki, "registry"))
                load.start()
                try:
                    for _ in range(CUTS):
                        load.wait_for_more(OKS_BETWEEN_CUTS)
                        cuts.append(cut_connections(postgres_url))
                    load.wait_for_more(OKS_BETWEEN_CUTS)  # recording goes on after the cuts
                finally:
                    load.stop()

                def all_settled() -> dict[int, tuple[str, bytes]] | None:
                    carried = outbox(postgres_url, "KR")
                    stored = stored_messages(postgres_url)
                    done = all(carried.get(i) is not None for i in load.ok) and all(
                        state == "settled" for state, _ in stored.values()
                    )
                    return stored if done and len(stored) == len(carried) else None

                try:
                    stored = eventually(all_settled, "every change to be delivered", PATIENCE)
                except AssertionError as exc:
                    carried = outbox(postgres_url, "KR")
                    unsealed = sorted(i for i, s in carried.items() if s is None)
                    lost = [i for i in load.ok if i not in carried]
                    messages = stored_messages(postgres_url)
                    states = [(n, m) for n, m in sorted(messages.items()) if m[0] != "settled"]
                    raise AssertionError(
                        f"{exc}: unsealed {unsealed[:5]} of {len(unsealed)} among {len(carried)} "
                        f"changes, OK but not queued {lost}; {len(messages)} messages, unsettled "
                        f"{[(s, state) for s, (state, _) in states]}, "
                        f"{len(side.relay.arrivals)} calls, {len(side.relay.passed)} answered"
                    ) from exc
                listed = outbound_messages(targets[0], admin, "KR")
        finally:
            kill_all(*replicas)

        for holders, ended in cuts:
            assert holders, "a cut with no delivery lock held"
            assert holders <= ended
        assert set(load.refused) <= {"UNAVAILABLE store.unavailable"}, load.refused
        assert len(load.ok) >= (CUTS + 1) * OKS_BETWEEN_CUTS
        assert len(set(load.ok)) == len(load.ok)
        assert sorted(stored) == list(range(1, len(stored) + 1))
        assert {m.sequence: m.payload_sha256 for m in listed} == {
            s: d for s, (_, d) in stored.items()
        }
        assert {m.state for m in listed} == {SETTLED}
        sequence_of = {digest: s for s, (_, digest) in stored.items()}
        arrivals = side.relay.arrivals
        assert set(arrivals) <= set(sequence_of), "bytes sent that are not a stored message"
        first_seen = list(dict.fromkeys(sequence_of[d] for d in arrivals))
        assert first_seen == sorted(stored)
        passed = side.relay.passed
        receipts = {p.sequence: p.receipt for p in passed if not p.duplicate}
        assert sorted(receipts) == sorted(stored)  # KR stored each message once
        assert all(p.receipt == receipts[p.sequence] for p in passed)
        assert {m.sequence: m.receipt for m in listed} == receipts
        assert kr_admin(federation, side.kr_target).messages_received == len(stored)
        kr = federation.peers["KR"].identity("domestic")
        with connect(side.kr_target, kr) as channel:
            recognition = RecognitionClient(channel)
            for identifier in load.ok:
                assert recognition.recognise(identifier).outcome == RECOGNISED, identifier
