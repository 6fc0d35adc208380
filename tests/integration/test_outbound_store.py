"""The outbound store under delivery, on real SQLite and PostgreSQL: writes are fenced (when a
replica's delivery lock dies mid-step, its session cut as by a PostgreSQL restart, and another
replica takes the partner, the first one's late writes change nothing), and a partner not
deliverable holds its messages' age. The transport is a stub: only what is written matters."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.store.outbound import PartnerLocks, SqlOutbound
from adapters.store.sql import SqlStore
from gateway.app.deliver import DeliverPartner, DeliveryFailed, DeliveryLimits, NewMessage
from gateway.domain.messages import DetachedSignature, OutboundBatch, SealedEnvelope
from gateway.domain.outbound import PeerReceipt, QueuedChange, SettledReceipt, is_dead
from gateway.domain.partners import OutboundEndpoint
from gateway.times import to_us
from tests.factories import directory, singapore

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
HOME_AEO = "AEOCN0123456781"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'home.db'}"
    opened = SqlStore.open(url)
    opened.migrate()
    yield opened
    opened.database.close()


def queue(url_or_store: SqlStore, *ids: int) -> None:
    with url_or_store.database.reading() as conn:
        cur = conn.cursor()
        for n in ids:
            cur.execute(
                url_or_store.database.sql(
                    "INSERT INTO outbox (partner, identifier, version, queued_at) "
                    "VALUES ('SG', ?, ?, 1)"
                ),
                (HOME_AEO, n),
            )


def new_message(sequence: int, changes: list[QueuedChange], payload: bytes) -> NewMessage:
    ids = tuple(c.id for c in changes)
    return NewMessage(
        "SG", sequence, "native", payload, payload.ljust(32, b"-"), "CN-GW-2", "ed25519", b"s",
        NOW, NOW, ids,
    )  # fmt: skip


def test_a_late_seal_settle_failure_or_reseal_changes_nothing(store: SqlStore) -> None:
    """Two deliverers read the same state; one seals. Result: the other's seal of the same
    changes (as message 1 again, or as message 2) writes nothing; settle, failure and reseal
    of bytes no longer in flight change nothing and say so."""
    queue(store, 1, 2)
    outbound = SqlOutbound(store.database)
    changes = outbound.unsealed("SG", 10)
    first = outbound.seal(new_message(1, changes, b"first"))
    assert first is not None
    assert first.records == 2
    assert outbound.seal(new_message(1, changes, b"again")) is None
    assert outbound.seal(new_message(2, changes, b"second")) is None
    assert outbound.last_sequence("SG") == 1
    assert [c.id for c in outbound.sealed_changes("SG", 1)] == [c.id for c in changes]

    stale = b"stale".ljust(32, b"-")
    receipt = SettledReceipt(b"r", b"s", "SG-2026-1", "ed25519", "SG-1")
    later = NOW + timedelta(seconds=1)
    assert not outbound.failed("SG", 1, stale, "partner.unavailable", later)
    assert outbound.reseal(new_message(1, changes, b"newer"), stale) is None
    assert not outbound.settle("SG", 1, stale, receipt, later)
    head = outbound.head("SG")
    assert head is not None
    assert (head.attempts, head.digest) == (0, first.digest)
    assert outbound.failed("SG", 1, first.digest, "partner.unavailable", later)
    assert outbound.settle("SG", 1, first.digest, receipt, later)
    # Message 1 settled: a seal of changes it carries, as message 2, is still refused.
    assert outbound.seal(new_message(2, changes, b"second")) is None


class Codec:
    name = "native"

    def open(self, *args: object) -> object:
        raise NotImplementedError

    def seal(self, batch: OutboundBatch, signer: object) -> SealedEnvelope:
        payload = repr((batch.sequence, batch.records)).encode()
        return SealedEnvelope("native", payload, DetachedSignature("CN-GW-2", "ed25519", b"s"))


class Down:
    """The partner cannot be reached: a step seals, then records a failed attempt."""

    def send(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        raise DeliveryFailed("partner.unavailable")


class Signer:
    key_id = "CN-GW-2"
    algorithm = "ed25519"

    def sign(self, data: bytes) -> bytes:
        return b"s"


class Clock:
    def now(self) -> datetime:
        return NOW


def test_a_lock_lost_mid_step_does_not_seal_the_same_changes_twice(
    postgres_url: str, request: pytest.FixtureRequest
) -> None:
    """Replica A holds SG's lock and has read the changes to seal when its lock session is
    terminated; replica B takes the lock and does a whole step (seals message 1, the partner
    is down). Then A goes on and seals. Result: one message carrying every change, A's late
    seal wrote nothing, and A's step ends without an error (its unlock on the dead session
    included)."""
    home = SqlStore.open(postgres_url)
    home.migrate()
    request.addfinalizer(home.database.close)
    queue(home, 1, 2, 3)
    snapshot = dataclasses.replace(
        directory(singapore(outbound=OutboundEndpoint("127.0.0.1:1", "native"))),
        server_cas={"SG": b"ca"},
    )
    locks_a, locks_b = PartnerLocks(home.database), PartnerLocks(home.database)
    sql = SqlOutbound(home.database)

    def deliverer(store: object) -> DeliverPartner:
        return DeliverPartner(
            store, Down(), {"native": Codec()}, Signer(), Clock(),  # type: ignore[arg-type,dict-item]
            DeliveryLimits(10, timedelta(days=1)),
        )  # fmt: skip

    b = deliverer(sql)

    class LosesItsLock:
        """SqlOutbound for A: once A has read what to seal, its lock dies and B steps."""

        def __getattr__(self, name: str) -> object:
            return getattr(sql, name)

        def unsealed(self, partner: str, limit: int) -> list[QueuedChange]:
            found = sql.unsealed(partner, limit)
            terminate(postgres_url, locks_a._local.conn.info.backend_pid)
            with locks_b.hold("SG") as held_b:
                assert held_b, "B takes the lock A lost"
                b(snapshot, "SG")
            return found

    a = deliverer(LosesItsLock())
    with locks_a.hold("SG") as held_a:
        assert held_a
        assert not a(snapshot, "SG")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        messages = conn.execute(
            "SELECT sequence, records, state, attempts FROM outbound_messages ORDER BY 1"
        ).fetchall()
        owners = conn.execute("SELECT DISTINCT message_sequence FROM outbox").fetchall()
    assert messages == [(1, 3, "sending", 1)]
    assert owners == [(1,)]
    locks_a.close()
    locks_b.close()


def test_a_partner_not_deliverable_holds_its_messages_age(store: SqlStore) -> None:
    """A message sealed two days ago, still in flight, and SG found not deliverable now.
    Result: its age counts from (about) now, so it is not dead for another day; a later hold
    never moves the age back."""
    queue(store, 1)
    outbound = SqlOutbound(store.database)
    long_ago = NOW - timedelta(days=2)
    sealed = new_message(1, outbound.unsealed("SG", 10), b"first")
    assert outbound.seal(dataclasses.replace(sealed, queued_at=long_ago, sealed_at=long_ago))
    day = timedelta(days=1)
    before = outbound.head("SG")
    assert before is not None
    assert is_dead(before, NOW, day)
    deliver = DeliverPartner(
        outbound,
        Down(),
        {},
        Signer(),
        Clock(),
        DeliveryLimits(10, day),
    )
    deliver.undeliverable("SG", NOW)
    head = outbound.head("SG")
    assert head is not None
    assert head.age_from is not None
    assert NOW - timedelta(minutes=1) <= head.age_from <= NOW
    assert not is_dead(head, NOW + timedelta(hours=23), day)
    deliver.undeliverable("SG", NOW - day)
    assert outbound.head("SG") == head


def terminate(url: str, pid: int) -> None:
    """Ends backend ``pid`` and returns once it is gone (termination is asynchronous)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(200):
            found = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
            if found.fetchone() is None:
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


def test_a_dead_lock_connection_is_closed_when_replaced(postgres_url: str) -> None:
    """A worker's lock connection is terminated. Result: the next hold opens a new one and
    closes the dead one."""
    home = SqlStore.open(postgres_url)
    locks = PartnerLocks(home.database)
    try:
        with locks.hold("SG") as held:
            assert held
        dead = locks._local.conn
        terminate(postgres_url, dead.info.backend_pid)
        with locks.hold("SG") as held:
            assert held
        assert locks._local.conn is not dead
        assert dead.closed
    finally:
        locks.close()
        home.database.close()


def test_a_reseal_keeps_the_message_on_its_page(store: SqlStore) -> None:
    """SG's message 1 sealed, then KR's a minute later; a listing's first page (one message)
    shows KR's; SG's is then resealed (new bytes, issued an hour later). Result: its sealed_at
    is the reseal's, but pages go by its first sealing, so the next page still finds it."""
    outbound = SqlOutbound(store.database)
    queue(store, 1)
    assert outbound.seal(new_message(1, outbound.unsealed("SG", 10), b"sg"))
    kr = dataclasses.replace(
        new_message(1, [], b"kr"), partner="KR", sealed_at=NOW + timedelta(minutes=1)
    )
    assert outbound.seal(kr)
    (first,) = outbound.messages(None, None, None, 1)
    assert first.partner == "KR"
    sg = outbound.head("SG")
    assert sg is not None
    again = dataclasses.replace(
        new_message(1, outbound.sealed_changes("SG", 1), b"sg again"),
        sealed_at=NOW + timedelta(hours=1),
    )
    assert outbound.reseal(again, sg.digest) is not None
    assert first.first_sealed_at is not None
    after = (to_us(first.first_sealed_at), first.partner, first.sequence)
    (resealed,) = outbound.messages(None, None, after, 10)
    assert (resealed.partner, resealed.sequence) == ("SG", 1)
    assert resealed.sealed_at == NOW + timedelta(hours=1)
