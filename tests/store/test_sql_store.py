"""The store on SQLite and on PostgreSQL: the same tests against both, for real."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters import pki
from adapters.crypto.signatures import Signer
from adapters.receipts import ProtobufReceiptSealer
from adapters.store.checkpoints import checkpoint
from adapters.store.sql import SqlStore
from gateway.app.submit import SubmitResult, expect_reads, record_message
from gateway.domain.errors import SequenceReused, StoreUnavailable
from gateway.domain.exchange import VerifiedMessage
from gateway.domain.messages import DetachedSignature, InboundMessage
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from gateway.domain.sequences import MAX_OPEN_GAPS
from gateway.pb import exchange_pb2
from gateway.times import from_us, to_us
from tests.conftest import PG_ADMIN_URL
from tests.factories import record

SEALER = ProtobufReceiptSealer(Signer(pki.signing_key("ed25519"), "GW-1", "ed25519"))


def message(
    sequence: int, *records: AeoRecord, partner: str = "SG", kind: BatchKind = BatchKind.DELTA
) -> VerifiedMessage:
    payload = f"{partner}/{sequence}/{kind}/{records!r}".encode()
    now = datetime.now(UTC)
    signature = DetachedSignature("SG-2026-1", "ed25519", b"sig")
    inbound = InboundMessage(partner, "native", payload, signature, now, "fp")
    return VerifiedMessage(
        inbound,
        partner,
        sequence,
        now,
        kind,
        "SG-2026-1",
        "ed25519",
        tuple(records),
        (),
        hashlib.sha256(payload).digest(),
    )


def commit(
    store: SqlStore, msg: VerifiedMessage, max_open_gaps: int = MAX_OPEN_GAPS
) -> SubmitResult:
    """What the SubmitStatusMessage handler does once a message is accepted."""
    result: SubmitResult = store.transactions.run(
        lambda uow: record_message(uow, msg, "native", SEALER, max_open_gaps),
        partners=(msg.partner,),
        prefetch=lambda uow: expect_reads(uow, msg),
    )
    return result


def test_migrations_are_applied_once(store: SqlStore) -> None:
    """migrate() on an up-to-date schema. Result: nothing pending."""
    assert store.migrate() == []


def test_committed_message_is_durable_with_its_receipt_and_raw_envelope(store: SqlStore) -> None:
    """A message with one record is committed. Result: receipt findable, record readable."""
    msg = message(1, record())
    outcome = commit(store, msg)
    again = commit(store, msg)
    assert again.duplicate
    assert again.receipt == outcome.receipt
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(outcome.receipt.receipt)
    assert receipt.records_applied == 1
    stored = store.reader.record_as_of("SG", "SG000000000001", datetime.now(UTC))
    assert stored is not None
    assert stored.record == msg.records[0]
    assert stored.basis.message_id == msg.message_id
    assert store.reader.partner_stats("SG").messages == 1


def test_a_final_driver_error_is_not_retried_and_names_no_internals(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver answers a work's read with an integrity error. Result: one attempt,
    INTERNAL store.rejected with a reference and none of the driver's text."""
    from gateway.domain.errors import StoreRejected

    integrity = (
        sqlite3.IntegrityError("UNIQUE constraint failed: secret_table.column")
        if store.database.dialect.name == "sqlite"
        else psycopg.errors.UniqueViolation("duplicate key value violates secret_table")
    )
    faults = inject_driver_errors(store, monkeypatch, integrity, times=99)
    msg = message(1, record())
    with pytest.raises(StoreRejected) as refused:
        commit(store, msg)
    assert faults == [integrity]  # final: never retried
    assert "secret_table" not in refused.value.message


def test_an_error_of_the_works_own_code_is_not_taken_for_the_databases(
    store: SqlStore,
) -> None:
    """A work raises OverflowError, a type the drivers also raise, from its own code, while
    another work commits. Result: INTERNAL for that work only, not store.rejected."""
    from gateway.app.unit_of_work import UnitOfWork
    from gateway.domain.errors import InternalError

    def overflowing(uow: UnitOfWork) -> None:
        raise OverflowError("a bug in the work, not the database")

    with pytest.raises(InternalError):
        store.transactions.run(overflowing)
    assert not commit(store, message(1, record())).duplicate


def test_history_is_kept_and_any_past_state_answered(store: SqlStore) -> None:
    """v1 valid 30 days ago, v2 suspended 1 day ago. Result: as of 10 days ago v1, now v2."""
    now = datetime.now(UTC)
    v1 = record(version=1, effective_at=now - timedelta(days=30))
    v2 = record(version=2, status=RecordStatus.SUSPENDED, effective_at=now - timedelta(days=1))
    commit(store, message(1, v1))
    commit(store, message(2, v2))
    past = store.reader.record_as_of("SG", v1.identifier, now - timedelta(days=10))
    current = store.reader.record_as_of("SG", v1.identifier, now)
    assert past is not None
    assert past.record.version == 1
    assert current is not None
    assert current.record.status is RecordStatus.SUSPENDED
    assert store.reader.record_as_of("SG", v1.identifier, now - timedelta(days=31)) is None
    assert [s.record.version for s in store.reader.history("SG", v1.identifier)] == [1, 2]


def test_refused_message_in_a_group_does_not_undo_the_others(store: SqlStore) -> None:
    """Message 1 is stored; another message reuses 1 while message 2 commits. Result: only the
    reuse is refused; sequence state and message 2 are intact."""
    commit(store, message(1, record()))
    with pytest.raises(SequenceReused):
        commit(store, message(1, record("SG000000000002")))
    commit(store, message(3, record("SG000000000003")))
    stats = store.reader.partner_stats("SG")
    assert (stats.last_sequence, stats.gaps, stats.messages, stats.operators) == (
        3,
        ((2, 2),),
        2,
        2,
    )
    assert store.reader.record_as_of("SG", "SG000000000002", datetime.now(UTC)) is None


def test_bounded_gaps_and_the_need_for_a_snapshot_persist_until_a_snapshot(
    store: SqlStore,
) -> None:
    """Bound 3; SG sends only even numbers 2-12, then the late 9, then snapshot 20, each in its
    own transaction. Result: three gaps stored with the flag and three numbers written off; the
    next transaction reads them back (9's receipt still needs a snapshot); the snapshot clears
    them."""
    for n in range(2, 13, 2):
        commit(store, message(n, record(version=n)), max_open_gaps=3)
    stats = store.reader.partner_stats("SG")
    assert (stats.last_sequence, stats.gaps, stats.needs_snapshot, stats.written_off) == (
        12,
        ((7, 7), (9, 9), (11, 11)),
        True,
        3,
    )

    late = exchange_pb2.Receipt.FromString(
        commit(store, message(9, record("SG000000000009")), max_open_gaps=3).receipt.receipt
    )
    assert (late.open_gaps_total, late.needs_snapshot) == (2, True)
    stats = store.reader.partner_stats("SG")
    assert (stats.gaps, stats.needs_snapshot, stats.written_off) == (((7, 7), (11, 11)), True, 3)

    commit(store, message(20, record(version=20), kind=BatchKind.SNAPSHOT), max_open_gaps=3)
    stats = store.reader.partner_stats("SG")
    assert (stats.last_sequence, stats.gaps, stats.needs_snapshot, stats.written_off) == (
        20,
        (),
        False,
        0,
    )


def test_many_concurrent_messages_all_commit(store: SqlStore) -> None:
    """Forty messages from eight threads at once. Result: forty receipts, forty operators."""

    msgs = [message(i + 1, record(f"SG{i:012d}")) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda m: commit(store, m), msgs))
    assert all(not o.duplicate for o in outcomes)
    stats = store.reader.partner_stats("SG")
    assert (stats.messages, stats.operators, stats.last_sequence) == (40, 40, 40)


def test_times_round_trip_to_the_microsecond() -> None:
    """A time with microseconds. Result: the same time back."""
    moment = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_us(to_us(moment)) == moment


def test_unreachable_database_is_reported_as_unavailable(tmp_path: Path) -> None:
    """A PostgreSQL URL where nothing listens. Result: StoreUnavailable, not a driver error."""
    s = SqlStore.open("postgresql://postgres@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StoreUnavailable):
        s.migrate()
    s.database.close()


def test_checkpoint_moves_committed_pages_without_losing_them(store: SqlStore) -> None:
    """Records committed, then a checkpoint (SQLite WAL; a no-op on PostgreSQL). Result: the
    records still read back, and on SQLite pages were checkpointed."""
    commit(store, message(1, record()))
    pages = checkpoint(store.database)
    assert (pages > 0) == (store.database.dialect.name == "sqlite")
    assert store.reader.record_as_of("SG", "SG000000000001", datetime.now(UTC)) is not None


def test_two_gateways_on_one_postgresql_keep_a_partners_sequence_consistent(
    postgres_url: str,
) -> None:
    """Two gateway instances share one PostgreSQL; SG's messages 1-40 arrive alternately at
    both, concurrently, and message 1 again at both at once. Result: every message stored
    once, last sequence 40, no false gaps, and the repeat is a duplicate at both."""

    stores = [SqlStore.open(postgres_url, read_pool_size=2) for _ in range(2)]
    stores[0].migrate()
    for s in stores:
        s.start()
    try:
        msgs = [message(i + 1, record(f"SG{i:012d}")) for i in range(40)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: commit(stores[i % 2], msgs[i]), range(40)))
            again = list(pool.map(lambda s: commit(s, msgs[0]), stores))
        stats = stores[0].reader.partner_stats("SG")
        assert (stats.last_sequence, stats.gaps, stats.messages) == (40, (), 40)
        assert all(r.duplicate for r in again)
    finally:
        for s in stores:
            s.stop()


def test_commit_after_stop_is_refused_as_shutting_down(store: SqlStore) -> None:
    """The writer has stopped (shutdown past its grace); a late handler commits. Result:
    ShuttingDown (UNAVAILABLE, retry elsewhere) at once, never a wait without end."""
    from gateway.domain.errors import ShuttingDown

    store.transactions.stop()
    with pytest.raises(ShuttingDown):
        commit(store, message(1, record()))


POISON = "SG000000000666"


def refuse_poison(store: SqlStore) -> None:
    """A database rule refusing one operator's rows: a real database refusing one message's
    writes for a reason no retry can change (as an integrity or data error would)."""
    sqlite = store.database.dialect.name == "sqlite"
    with store.database.reading() as conn:
        if sqlite:
            conn.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON record_versions "
                f"WHEN NEW.identifier = '{POISON}' BEGIN SELECT RAISE(ABORT, 'poison'); END"
            )
        else:
            conn.execute(
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.identifier = '{POISON}' THEN RAISE EXCEPTION 'poison' "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.execute(
                "CREATE TRIGGER poison BEFORE INSERT ON record_versions "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )


def test_a_message_the_database_refuses_fails_alone_while_its_group_commits(
    store: SqlStore,
) -> None:
    """Twenty messages committed concurrently, one of them carrying a record the database
    refuses. Result: that one fails with INTERNAL store.rejected and a reference, nothing of
    it is stored; the nineteen others are committed."""

    from gateway.domain.errors import StoreRejected

    refuse_poison(store)
    msgs = [message(i + 1, record(f"SG{i:012d}")) for i in range(20)]
    msgs[7] = message(8, record(POISON))

    def attempt(m: VerifiedMessage) -> object:
        try:
            return commit(store, m)
        except StoreRejected as refused:
            return refused

    # Hold the writer in a group of its own until all twenty are queued: they then form one
    # group, so the test does not depend on how requests happen to be grouped.
    holding, release = threading.Event(), threading.Event()

    def hold(uow: object) -> None:
        holding.set()
        release.wait(timeout=30)

    blocker = threading.Thread(target=store.transactions.run, args=(hold,))
    blocker.start()
    assert holding.wait(timeout=10)
    try:
        with ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(attempt, m) for m in msgs]
            deadline = time.monotonic() + 10
            while store.transactions.queued() < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert store.transactions.queued() == 20
            release.set()
            results = [f.result() for f in futures]
    finally:
        release.set()
    blocker.join()
    refused = [r for r in results if isinstance(r, StoreRejected)]
    assert len(refused) == 1
    assert results[7] is refused[0]
    assert refused[0].metadata["correlation_id"] in refused[0].message
    assert "poison" not in refused[0].message  # the driver's text stays in the log
    stats = store.reader.partner_stats("SG")
    assert (stats.messages, stats.operators) == (19, 19)
    assert stats.gaps == ((8, 8),)
    assert store.reader.record_as_of("SG", POISON, datetime.now(UTC)) is None


def test_an_unexpected_error_in_one_work_fails_only_that_work(store: SqlStore) -> None:
    """A work raises a programming error while another commits. Result: the first gets
    INTERNAL with a reference, the second is committed."""
    from gateway.app.unit_of_work import UnitOfWork
    from gateway.domain.errors import InternalError

    def broken(uow: UnitOfWork) -> None:
        uow.records.add("SG", record("SG000000000009"), message(9).meta)
        raise KeyError("a bug")

    with pytest.raises(InternalError) as failed:
        store.transactions.run(broken)
    assert failed.value.metadata["correlation_id"]
    commit(store, message(1, record()))
    assert store.reader.record_as_of("SG", "SG000000000009", datetime.now(UTC)) is None
    assert store.reader.record_as_of("SG", "SG000000000001", datetime.now(UTC)) is not None


def test_applied_versions_are_in_the_change_log_in_commit_order(store: SqlStore) -> None:
    """Three messages, one carrying a stale version. Result: one change per applied version,
    cursors increasing, readable from any cursor on."""
    from gateway.domain.events import RecordVersionApplied

    commit(store, message(1, record(version=2)))
    commit(store, message(2, record(version=1), record("SG000000000002")))
    commit(store, message(3, record(version=3, status=RecordStatus.SUSPENDED)))
    changes = store.reader.changes_after(0, 100)
    events = [c.event for c in changes]
    assert all(isinstance(e, RecordVersionApplied) for e in events)
    assert [(e.identifier, e.version) for e in events] == [  # type: ignore[union-attr]
        ("SG000000000001", 2),
        ("SG000000000002", 1),
        ("SG000000000001", 3),
    ]
    assert events[2].status is RecordStatus.SUSPENDED  # type: ignore[union-attr]
    cursors = [c.cursor for c in changes]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 3
    assert [c.cursor for c in store.reader.changes_after(cursors[0], 100)] == cursors[1:]


class FaultyCursor:
    """The writer's real cursor, except that its first ``times`` statements after the
    transaction began raise ``error``, as the driver would."""

    def __init__(self, cur: object, error: Exception, faults: list[Exception], times: int) -> None:
        self._cur = cur
        self._error = error
        self._faults = faults
        self._times = times

    def _fault(self) -> None:
        if len(self._faults) < self._times:
            self._faults.append(self._error)
            raise self._error

    def execute(self, *args: object) -> object:
        self._fault()
        return self._cur.execute(*args)  # type: ignore[attr-defined]

    def executemany(self, *args: object) -> object:
        self._fault()
        return self._cur.executemany(*args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._cur, name)


def inject_driver_errors(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, error: Exception, times: int
) -> list[Exception]:
    """Makes the store's write transactions meet ``error`` from the driver ``times`` times."""
    faults: list[Exception] = []
    real = store.database.transaction

    @contextmanager
    def faulty() -> Iterator[object]:
        with real() as cur:
            yield FaultyCursor(cur, error, faults, times)

    monkeypatch.setattr(store.database, "transaction", faulty)
    return faults


def transient_driver_error(store: SqlStore) -> Exception:
    """What the driver raises when the database is busy or the transaction lost a race."""
    if store.database.dialect.name == "sqlite":
        busy = sqlite3.OperationalError("database is locked")
        busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
        return busy
    return psycopg.errors.SerializationFailure("could not serialize access")


def test_a_transient_driver_error_is_retried_and_then_commits(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt meets a busy database (SQLite) or a serialization failure
    (PostgreSQL) at the driver. Result: the group is retried and the message commits once."""
    error = transient_driver_error(store)
    faults = inject_driver_errors(store, monkeypatch, error, times=1)
    result = commit(store, message(1, record()))
    assert not result.duplicate
    assert faults == [error]
    assert store.reader.partner_stats("SG").messages == 1


def test_reader_connections_the_server_ended_are_replaced_unseen(postgres_url: str) -> None:
    """Four readers have each answered a query; then PostgreSQL ends every connection to the
    database (as a restart does). Result: the next queries, however many, are answered: the
    pool notices an idle connection the server closed before handing it out."""
    s = SqlStore.open(postgres_url, read_pool_size=4)
    s.migrate()
    s.start()
    try:
        commit(s, message(1, record()))
        held = [s.database.readers._take() for _ in range(4)]
        for conn in held:
            s.database.readers._give(conn)
        name = postgres_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        time.sleep(0.2)  # the termination notices arrive
        for _ in range(8):
            assert s.reader.record_as_of("SG", "SG000000000001", datetime.now(UTC)) is not None
    finally:
        s.stop()


def test_an_outage_reaching_callers_is_logged_once_under_the_reference_they_get(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Queries and a commit against a PostgreSQL where nothing listens. Result: each query's
    StoreUnavailable carries a correlation id and a message without the driver's text (no host
    or port); the log has exactly one WARNING line per error, naming that id with the driver's
    error; the three works of one group commit share one error and one line."""
    s = SqlStore.open("postgresql://postgres@127.0.0.1:1/none?connect_timeout=1")
    s.start()
    try:
        with caplog.at_level(logging.WARNING, logger="adapters.store"):
            errors = []
            for _ in range(2):
                with pytest.raises(StoreUnavailable) as caught:
                    s.reader.record_as_of("SG", "SG000000000001", datetime.now(UTC))
                errors.append(caught.value)
            with ThreadPoolExecutor(3) as pool:
                futures = [pool.submit(commit, s, message(n, record())) for n in (1, 2, 3)]
            group = {f.exception() for f in futures}
        shared = [e for e in group if isinstance(e, StoreUnavailable)]
        references = [e.metadata["correlation_id"] for e in errors]
        assert len(set(references)) == 2
        for error in errors:
            assert "127.0.0.1" not in error.message
            assert ":1" not in error.message
        lines = [r.getMessage() for r in caplog.records]
        for reference in references:
            assert sum(reference in line for line in lines) == 1
        assert len(shared) == len(group)
        for failure in shared:
            assert sum(failure.reference in line for line in lines) == 1
        assert len(lines) == 2 + len(group)
    finally:
        s.stop()
