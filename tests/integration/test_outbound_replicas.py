"""Several `aeo-gateway serve` processes on one PostgreSQL database deliver to one partner (a
fake SG gateway): exactly one replica at a time holds the partner, and SIGKILL of the holder
mid-delivery hands it to another, which resends the same bytes."""

from __future__ import annotations

import hashlib
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg

from adapters.store.outbound import OUTBOUND_LOCK_KEY, lock_key
from bench.chaos import GatewayProcess
from gateway.client import TlsIdentity
from gateway.federation import outbound_messages, record_grade_change, write_federation
from gateway.pb import admin_pb2
from tests.conftest import ROOT, Workspace
from tests.integration.fake_partner import FakePartner, serving
from tests.integration.test_outbound_faults import HOME_AEO, eventually

REPLICAS = ("a", "b", "c")
CHANGES = 8
SETTLED = admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED


def holder(postgres_url: str) -> str | None:
    """application_name of the replica whose session holds SG's delivery lock, if any."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s",
            (OUTBOUND_LOCK_KEY, lock_key("SG")),
        ).fetchone()
    return None if row is None else str(row[0])


def test_replicas_deliver_in_order_and_a_killed_holder_hands_over(
    workspace: Workspace, tmp_path: Path, postgres_url: str
) -> None:
    """Three replicas on one database; eight changes queued (one per message); SG's gateway
    takes a while per message; the replica holding SG is SIGKILLed mid-delivery. Result: every
    sequence 1..8 reaches SG in order, each with one set of bytes (a resend is the same
    bytes), and all are settled."""
    federation = write_federation(workspace.settings(), tmp_path / "fed", ["SG"])
    home = federation.home
    fake = FakePartner(
        "SG", "CN", workspace.signer("SG"), workspace.signer("KR"), delay_seconds=0.3
    )
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
        "outbound_call_timeout_seconds": 2.0,
        "outbound_max_records_per_message": 1,
        "outbound_workers": 2,
        "grace_seconds": 0.2,
    }
    replicas = {}
    for name in REPLICAS:
        config = workspace.write_config(
            f"replica-{name}-{tmp_path.name}.toml",
            database_url=f"{postgres_url}?application_name=replica-{name}",
            **settings,
        )
        replicas[f"replica-{name}"] = GatewayProcess(config, ROOT, tmp_path / f"{name}.log")
    pki = home.pki_dir
    admin = TlsIdentity.dev(pki, "admin")
    try:
        for process in replicas.values():
            process.start()
        ready = replicas["replica-a"].wait_ready(5)
        assert ready is not None
        target = ready[1]
        with serving(fake, federation.peers["SG"].port, workspace.pki):
            for n in range(CHANGES):
                grade = "advanced certified" if n % 2 == 0 else "regular"
                answer = record_grade_change(
                    target, TlsIdentity.dev(pki, "registry"), HOME_AEO, grade, "Replica Co"
                )
                assert list(answer.queued_for) == ["partners/SG"]
            eventually(lambda: len(fake.sequences()) >= 2, "two messages to arrive")
            victim = eventually(lambda: holder(postgres_url), "a replica to hold SG")
            replicas[victim].kill()
            survivor = next(p for n, p in replicas.items() if n != victim).wait_ready(5)
            assert survivor is not None

            def all_settled() -> list[admin_pb2.OutboundMessage] | None:
                found = outbound_messages(survivor[1], admin, "SG")
                done = [m for m in found if m.state == SETTLED]
                return found if len(done) == CHANGES else None

            messages = eventually(all_settled, "every message to settle", timeout=60)
        assert sorted(m.sequence for m in messages) == list(range(1, CHANGES + 1))
        arrivals = fake.arrivals
        first_seen = list(dict.fromkeys(a.sequence for a in arrivals))
        assert first_seen == list(range(1, CHANGES + 1))  # in order, none overtaken
        # Once a sequence arrived, nothing before it came again except as a resend of itself.
        seqs = [a.sequence for a in arrivals]
        assert all(b >= a for a, b in pairwise(seqs))
        digests = {m.sequence: m.payload_sha256 for m in messages}
        for a in arrivals:
            assert a.digest == digests[a.sequence] == hashlib.sha256(a.payload).digest()
    finally:
        for process in replicas.values():
            process.kill()
