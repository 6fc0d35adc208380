"""A full snapshot replaces the partner's set, on SQLite and on PostgreSQL: operators it leaves
out are absent from its issued_at, until a later message names them again."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.store.sql import SqlStore
from adapters.store.unit_of_work import GroupUnitOfWork, TranslatingCursor
from gateway.app.submit import record_message
from gateway.domain.exchange import VerifiedMessage
from gateway.domain.reconciliation import CurrentOperator, digest
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from gateway.pb import exchange_pb2
from gateway.times import to_us
from tests.factories import record
from tests.store.test_sql_store import SEALER, commit, message

A, B, C = "SG000000000001", "SG000000000002", "SG000000000003"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
T1, T2, T3, T4 = (T0 + timedelta(hours=h) for h in (1, 2, 3, 4))


def sent(
    sequence: int,
    at: datetime,
    *records: AeoRecord,
    kind: BatchKind = BatchKind.DELTA,
    refused: tuple[str, ...] = (),
) -> VerifiedMessage:
    return replace(message(sequence, *records, kind=kind), issued_at=at, refused_named=refused)


def snapshot(sequence: int, at: datetime, *records: AeoRecord) -> VerifiedMessage:
    return sent(sequence, at, *records, kind=BatchKind.SNAPSHOT)


def absent_since(store: SqlStore, identifier: str, at: datetime) -> datetime | None:
    found = store.reader.record_as_of("SG", identifier, at)
    assert found is not None
    return found.absent_since


def absences(store: SqlStore) -> list[tuple[object, ...]]:
    with store.database.reading() as conn:
        rows = conn.execute(
            "SELECT identifier, absent_from, message_id, sequence, present_again "
            "FROM record_absences ORDER BY identifier, absent_from"
        ).fetchall()
    return [tuple(r) for r in rows]


def current(store: SqlStore) -> list[CurrentOperator]:
    with store.reader.current_set("SG") as found:
        return sorted(found.operators)


def test_an_operator_left_out_of_a_snapshot_is_absent_from_its_issue_time(
    store: SqlStore,
) -> None:
    """Snapshot 1 {A, B} at T1, snapshot 2 {A} at T2. Result: B absent from T2 (not before);
    A never; B's history intact; B out of the current set."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    second = commit(store, snapshot(2, T2, record(A)))
    assert exchange_pb2.Receipt.FromString(second.receipt.receipt).records_applied == 0

    assert absent_since(store, B, T2) == T2
    assert absent_since(store, B, T4) == T2
    assert absent_since(store, B, T2 - timedelta(microseconds=1)) is None
    assert absent_since(store, A, T4) is None
    assert [s.record.version for s in store.reader.history("SG", B)] == [1]
    assert [o.identifier for o in current(store)] == [A]


def test_a_delta_applying_a_version_names_the_operator_again_from_its_time(
    store: SqlStore,
) -> None:
    """B absent from T2; a delta at T3 applies B v2. Result: absent in [T2, T3), present from
    T3 with v2; the absence is closed, not deleted."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    commit(store, snapshot(2, T2, record(A)))
    commit(store, sent(3, T3, record(B, version=2)))

    assert absent_since(store, B, T3 - timedelta(microseconds=1)) == T2
    assert absent_since(store, B, T3) is None
    assert [(o.identifier, o.version) for o in current(store)] == [(A, 1), (B, 2)]
    (row,) = absences(store)
    assert row[1:] == (to_us(T2), second_id(store), 2, to_us(T3))


def test_a_delta_with_a_stale_version_does_not_name_the_operator_again(store: SqlStore) -> None:
    """B absent from T2; a delta at T3 repeats B v1 (stale, not applied). Result: still absent."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    commit(store, snapshot(2, T2, record(A)))
    commit(store, sent(3, T3, record(B)))
    assert absent_since(store, B, T4) == T2


def test_a_later_snapshot_with_a_stale_version_includes_the_operator_again(
    store: SqlStore,
) -> None:
    """B absent from T2; snapshot 3 at T3 lists {A, B v1} (both stale). Result: B present
    from T3; the receipt says both versions are stale."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    commit(store, snapshot(2, T2, record(A)))
    third = commit(store, snapshot(3, T3, record(A), record(B)))
    receipt = exchange_pb2.Receipt.FromString(third.receipt.receipt)
    assert [r.reason for r in receipt.ignored_records] == ["record.stale_version"] * 2
    assert absent_since(store, B, T3) is None
    assert absent_since(store, B, T2) == T2


def test_resubmitting_a_snapshot_changes_nothing(store: SqlStore) -> None:
    """Snapshot 2 {A} is sent twice. Result: a duplicate; one absence, as before."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    second = snapshot(2, T2, record(A))
    commit(store, second)
    before = absences(store)
    assert commit(store, second).duplicate
    assert absences(store) == before
    assert len(before) == 1


def test_an_operator_already_absent_keeps_its_first_absence(store: SqlStore) -> None:
    """Snapshots 2 and 3 both leave B out. Result: one absence, from T2."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    commit(store, snapshot(2, T2, record(A)))
    commit(store, snapshot(3, T3, record(A)))
    assert [r[:2] for r in absences(store)] == [(B, to_us(T2))]


def test_a_late_snapshot_leaves_nobody_out(store: SqlStore) -> None:
    """Messages 1 {A, B} and 3 arrive, then snapshot 2 {A} (late, filling the gap). Result: it
    closes the gap but opens no absence: message 3 was issued after it."""
    commit(store, sent(1, T1, record(A), record(B)))
    commit(store, sent(3, T3, record(C)))
    commit(store, snapshot(2, T2, record(A)))
    assert absences(store) == []
    assert store.reader.partner_stats("SG").gaps == ()


def test_an_operator_whose_record_the_snapshot_refuses_is_still_named(store: SqlStore) -> None:
    """Snapshot 2 lists A and B, B's record refused (e.g. an unknown tier). Result: B is not
    absent; it keeps its last applied version."""
    commit(store, snapshot(1, T1, record(A), record(B)))
    commit(store, sent(2, T2, record(A), kind=BatchKind.SNAPSHOT, refused=(B,)))
    assert absences(store) == []
    assert absent_since(store, B, T4) is None


def test_works_of_one_group_see_the_absences_of_the_works_before_them(store: SqlStore) -> None:
    """In one group commit: a delta adds C, snapshot 2 {A} at T2, then a delta adds D at T3 and
    another names B again at T4. Result: C and B absent from T2 (B until T4), D never."""
    D = "SG000000000004"
    commit(store, snapshot(1, T1, record(A), record(B)))
    works = [
        sent(2, T1, record(C)),
        snapshot(3, T2, record(A)),
        sent(4, T3, record(D)),
        sent(5, T4, record(B, version=2)),
    ]
    dialect = store.database.dialect
    with store.database.transaction() as raw:
        uow = GroupUnitOfWork(
            TranslatingCursor(raw, dialect.errors, store.database.translate), dialect
        )
        uow.lock(["SG"])
        for work in works:
            record_message(uow, work, "native", SEALER)
            uow.end_work(keep=True)
        uow.flush()
    assert [(r[0], r[1], r[4]) for r in absences(store)] == [
        (B, to_us(T2), to_us(T4)),
        (C, to_us(T2), None),
    ]
    assert absent_since(store, D, T4) is None
    assert [o.identifier for o in current(store)] == [A, B, D]


def test_the_current_set_digest_matches_an_independent_computation(store: SqlStore) -> None:
    """A valid v1, B suspended v3 (v1 before it), C left out by a snapshot. Result: the
    digest of the current set is the SHA-256 of the sorted lines, computed by hand here."""
    commit(store, sent(1, T1, record(A), record(B), record(C)))
    commit(store, sent(2, T1, record(B, version=3, status=RecordStatus.SUSPENDED)))
    commit(store, snapshot(3, T2, record(A), record(B, version=3)))
    with store.reader.current_set("SG") as found:
        sha, count = digest(found.operators)
        last = found.last_sequence
    lines = sorted([f"{A}|1|valid\n".encode(), f"{B}|3|suspended\n".encode()])
    assert (sha, count, last) == (hashlib.sha256(b"".join(lines)).digest(), 2, 3)


def second_id(store: SqlStore) -> str:
    with store.database.reading() as conn:
        row = conn.execute("SELECT message_id FROM messages WHERE sequence = 2").fetchone()
    return str(row[0])


def test_a_snapshot_leaving_many_out_opens_them_all_in_its_transaction(store: SqlStore) -> None:
    """SG has 1,500 operators; snapshot 2 names one. Result: 1,499 absences (past the count
    after which PostgreSQL's statistics are refreshed in the same transaction); the next
    snapshot naming them all again closes every one."""
    many = [record(f"SG{i:012d}") for i in range(1, 1501)]
    commit(store, sent(1, T1, *many))
    commit(store, snapshot(2, T2, many[0]))
    assert len(current(store)) == 1
    assert len(absences(store)) == 1499
    commit(store, snapshot(3, T3, *many))
    assert len(current(store)) == 1500
    assert all(row[4] == to_us(T3) for row in absences(store))
