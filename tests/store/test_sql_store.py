"""The store on SQLite and on PostgreSQL: the same tests against both, for real."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters import pki
from adapters.crypto.signatures import Signer
from adapters.receipts import ReceiptSealer
from adapters.store.dialects import from_url
from adapters.store.group_commit import GroupCommitter
from adapters.store.sql_store import SqlStore
from adapters.times import from_us, to_us
from gateway.domain.errors import SequenceReused, StoreUnavailable
from gateway.domain.exchange import VerifiedMessage
from gateway.domain.messages import InboundMessage, OpenedBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from gateway.pb import exchange_pb2
from tests.factories import record


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = SqlStore(from_url(url), read_pool_size=2)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def committer(store: SqlStore) -> Iterator[GroupCommitter]:
    signer = Signer(pki.signing_key("ed25519"), "GW-1", "ed25519")
    c = GroupCommitter(store, ReceiptSealer(signer))
    c.start()
    yield c
    c.stop()


def message(sequence: int, *records: AeoRecord, partner: str = "SG") -> VerifiedMessage:
    payload = f"{partner}/{sequence}/{records!r}".encode()
    now = datetime.now(UTC)
    inbound = InboundMessage(partner, "native", payload, b"sig", "SG-2026-1", "ed25519", now, "fp")
    batch = OpenedBatch(partner, sequence, now, BatchKind.DELTA, tuple(records))
    return VerifiedMessage(inbound, batch, hashlib.sha256(payload).digest())


def test_migrations_are_applied_once(store: SqlStore) -> None:
    """migrate() on an up-to-date schema. Result: nothing pending."""
    assert store.migrate() == []


def test_committed_message_is_durable_with_its_receipt_and_raw_envelope(
    store: SqlStore, committer: GroupCommitter
) -> None:
    """A message with one record is committed. Result: receipt findable, record readable."""
    msg = message(1, record())
    outcome = committer.commit(msg)
    assert store.find_receipt("SG", msg.digest) == outcome.receipt
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(outcome.receipt.receipt)
    assert receipt.records_applied == 1
    stored = store.record_as_of("SG", "SG000000000001", datetime.now(UTC))
    assert stored is not None
    assert stored.record == msg.batch.records[0]
    assert stored.basis.message_id == msg.message_id
    assert store.partner_stats("SG").messages == 1


def test_history_is_kept_and_any_past_state_answered(
    store: SqlStore, committer: GroupCommitter
) -> None:
    """v1 valid 30 days ago, v2 suspended 1 day ago. Result: as of 10 days ago v1, now v2."""
    now = datetime.now(UTC)
    v1 = record(version=1, effective_at=now - timedelta(days=30))
    v2 = record(version=2, status=RecordStatus.SUSPENDED, effective_at=now - timedelta(days=1))
    committer.commit(message(1, v1))
    committer.commit(message(2, v2))
    past = store.record_as_of("SG", v1.identifier, now - timedelta(days=10))
    current = store.record_as_of("SG", v1.identifier, now)
    assert past is not None
    assert past.record.version == 1
    assert current is not None
    assert current.record.status is RecordStatus.SUSPENDED
    assert store.record_as_of("SG", v1.identifier, now - timedelta(days=31)) is None
    assert [s.record.version for s in store.history("SG", v1.identifier)] == [1, 2]


def test_refused_message_in_a_group_does_not_undo_the_others(
    store: SqlStore, committer: GroupCommitter
) -> None:
    """Message 1 is stored; another message reuses 1 while message 2 commits. Result: only the
    reuse is refused; sequence state and message 2 are intact."""
    committer.commit(message(1, record()))
    with pytest.raises(SequenceReused):
        committer.commit(message(1, record("SG000000000002")))
    committer.commit(message(3, record("SG000000000003")))
    stats = store.partner_stats("SG")
    assert (stats.last_sequence, stats.gaps, stats.messages, stats.operators) == (
        3,
        ((2, 2),),
        2,
        2,
    )
    assert store.record_as_of("SG", "SG000000000002", datetime.now(UTC)) is None


def test_many_concurrent_messages_all_commit(store: SqlStore, committer: GroupCommitter) -> None:
    """Forty messages from eight threads at once. Result: forty receipts, forty operators."""
    from concurrent.futures import ThreadPoolExecutor

    msgs = [message(i + 1, record(f"SG{i:012d}")) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(committer.commit, msgs))
    assert all(not o.duplicate for o in outcomes)
    stats = store.partner_stats("SG")
    assert (stats.messages, stats.operators, stats.last_sequence) == (40, 40, 40)


def test_times_round_trip_to_the_microsecond() -> None:
    """A time with microseconds. Result: the same time back."""
    moment = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_us(to_us(moment)) == moment


def test_unreachable_database_is_reported_as_unavailable(tmp_path: Path) -> None:
    """A PostgreSQL URL where nothing listens. Result: StoreUnavailable, not a driver error."""
    s = SqlStore(from_url("postgresql://postgres@127.0.0.1:1/none?connect_timeout=1"))
    with pytest.raises(StoreUnavailable):
        s.migrate()
    s.close()


def test_checkpoint_moves_committed_pages_without_losing_them(
    store: SqlStore, committer: GroupCommitter
) -> None:
    """Records committed, then a checkpoint (SQLite WAL; a no-op on PostgreSQL). Result: the
    records still read back, and on SQLite pages were checkpointed."""
    committer.commit(message(1, record()))
    pages = store.checkpoint()
    assert (pages > 0) == (store.dialect.name == "sqlite")
    assert store.record_as_of("SG", "SG000000000001", datetime.now(UTC)) is not None


def test_two_gateways_on_one_postgresql_keep_a_partners_sequence_consistent(
    postgres_url: str,
) -> None:
    """Two gateway instances share one PostgreSQL; SG's messages 1-40 arrive alternately at
    both, concurrently. Result: every message stored once, last sequence 40, no false gaps."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [SqlStore(from_url(postgres_url), read_pool_size=2) for _ in range(2)]
    stores[0].migrate()
    signer = Signer(pki.signing_key("ed25519"), "GW-1", "ed25519")
    committers = [GroupCommitter(s, ReceiptSealer(signer)) for s in stores]
    for c in committers:
        c.start()
    try:
        msgs = [message(i + 1, record(f"SG{i:012d}")) for i in range(40)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: committers[i % 2].commit(msgs[i]), range(40)))
        stats = stores[0].partner_stats("SG")
        assert (stats.last_sequence, stats.gaps, stats.messages) == (40, (), 40)
    finally:
        for c in committers:
            c.stop()
        for s in stores:
            s.close()


def test_commit_after_stop_is_refused_as_shutting_down(store: SqlStore) -> None:
    """The writer has stopped (shutdown past its grace); a late handler commits. Result:
    ShuttingDown (UNAVAILABLE, retry elsewhere) at once, never a wait without end."""
    from gateway.domain.errors import ShuttingDown

    c = GroupCommitter(store, ReceiptSealer(Signer(pki.signing_key("ed25519"), "GW", "ed25519")))
    c.start()
    c.stop()
    with pytest.raises(ShuttingDown):
        c.commit(message(1, record()))
