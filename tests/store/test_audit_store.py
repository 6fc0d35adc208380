"""The audit log in the store, on SQLite and PostgreSQL: one gap-free hash chain, whoever
appends; an edited or deleted row, or a forged checkpoint, named by verify."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest

from adapters import pki
from adapters.crypto.audit_keys import checkpoint_checker
from adapters.crypto.signatures import ECDSA_P256, ED25519, Signer
from adapters.store.audit import SqlAuditStore
from adapters.store.database import Database
from adapters.store.sql import SqlStore
from gateway.app.audit_log import AuditCheckpoints, AuditFilter, VerifyAuditLog
from gateway.app.unit_of_work import UnitOfWork
from gateway.domain.audit import GENESIS_HASH, AuditEvent, AuditKind, Breach, entry_hash

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SIGNER = Signer(pki.signing_key(ECDSA_P256), "CN-GW-2", ECDSA_P256)


class FixedClock:
    def __init__(self) -> None:
        self.at = AT

    def now(self) -> datetime:
        return self.at


def event(n: int, partner: str = "KR", kind: AuditKind = AuditKind.MESSAGE_RECEIVED) -> AuditEvent:
    return AuditEvent(
        kind,
        AT + timedelta(minutes=n),
        partner=partner,
        actor_subject=f"partner {partner}",
        actor_fingerprint="ab" * 32,
        subject=f"{partner}-{n}-00",
        sequence=n,
        digest=f"{n:064x}",
        key_id="KR-1",
        receipt_digest=f"{n + 1:064x}",
        detail={"wire_format": "native", "n": n},
    )


def verify(store: SqlStore, signer: Signer = SIGNER) -> VerifyAuditLog:
    return VerifyAuditLog(SqlAuditStore(store.database), checkpoint_checker([signer.public_key()]))


def execute(store: SqlStore, sql: str, params: tuple[object, ...] = ()) -> None:
    with store.database.reading() as conn:
        conn.execute(store.database.sql(sql), params)


def test_appended_entries_form_one_gap_free_chain_that_verifies(store: SqlStore) -> None:
    """Ten events appended in three transactions. Result: positions 1 to 10, each entry
    linked to the one before (the first to 64 zeros), the head at 10, and verify passes."""
    audit = SqlAuditStore(store.database)
    audit.append([event(1), event(2), event(3)])
    audit.append([event(4)])
    audit.append([event(n) for n in range(5, 11)])
    entries = audit.entries(0, 100)
    assert [e.position for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    assert audit.head() == (10, entries[-1].entry_hash)
    assert entries[3].event == event(4)
    verdict = verify(store)()
    assert verdict.ok
    assert verdict.entries == 10
    assert verdict.head_position == 10


def test_an_edited_row_is_named_by_verify(store: SqlStore) -> None:
    """One entry's digest is changed directly with SQL. Result: verify fails and names that
    entry's position as edited."""
    audit = SqlAuditStore(store.database)
    audit.append([event(n) for n in range(1, 8)])
    execute(store, "UPDATE audit_entries SET digest = ? WHERE position = 4", ("ff" * 32,))
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (4, Breach.EDITED)


def test_an_edited_row_with_its_hash_recomputed_is_named_by_the_broken_link(
    store: SqlStore,
) -> None:
    """An entry's partner is changed and its entry_hash replaced by a correct hash of the
    edited fields. Result: verify names that entry (the next no longer links to it)."""
    audit = SqlAuditStore(store.database)
    audit.append([event(n) for n in range(1, 6)])
    third = audit.entries(2, 1)[0]
    forged = dataclasses.replace(third.event, partner="SG")
    execute(
        store,
        "UPDATE audit_entries SET partner = 'SG', entry_hash = ? WHERE position = 3",
        (entry_hash(3, forged, third.prev_hash),),
    )
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (3, Breach.RELINKED)


def test_a_deleted_row_is_named_by_verify(store: SqlStore) -> None:
    """One entry in the middle is deleted with SQL. Result: verify fails and names its
    position as deleted."""
    audit = SqlAuditStore(store.database)
    audit.append([event(n) for n in range(1, 8)])
    execute(store, "DELETE FROM audit_entries WHERE position = 5")
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (5, Breach.DELETED)
    assert "deleted" in verdict.problem.message


def test_the_last_rows_deleted_are_named_by_verify(store: SqlStore) -> None:
    """The last two entries are deleted. Result: verify names the first of them as deleted
    (the head still says 6)."""
    audit = SqlAuditStore(store.database)
    audit.append([event(n) for n in range(1, 7)])
    execute(store, "DELETE FROM audit_entries WHERE position >= 5")
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (5, Breach.DELETED)


def test_concurrent_appends_from_two_replicas_keep_one_chain(store: SqlStore) -> None:
    """Eight threads on two store instances (two replicas' connections) append 25 entries
    each at once. Result: 200 entries at positions 1 to 200, one chain that verifies."""
    other = Database(store.database.dialect, 4)  # a second replica's connections
    stores = [SqlAuditStore(store.database), SqlAuditStore(other)]
    errors: list[BaseException] = []

    def append(i: int) -> None:
        try:
            for n in range(25):
                stores[i % 2].append([event(i * 100 + n, partner=f"P{i}")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert not errors
    entries = stores[0].entries(0, 1000)
    assert [e.position for e in entries] == list(range(1, 201))
    verdict = verify(store)()
    assert verdict.ok, verdict.problem


def test_a_checkpoint_is_signed_and_verified_and_a_forged_one_is_caught(store: SqlStore) -> None:
    """A checkpoint written by the gateway's signer, then one stored with another key's
    signature. Result: the first verifies; verify names the forged one's position."""
    audit = SqlAuditStore(store.database)
    clock = FixedClock()
    audit.append([event(n) for n in range(1, 4)])
    first = AuditCheckpoints(audit, SIGNER, clock, every_entries=3).due()
    assert first is not None
    assert first.position == 3
    assert verify(store)().ok
    assert verify(store)().checkpoints == 1
    audit.append([event(4), event(5)])
    intruder = Signer(pki.signing_key(ED25519), "CN-GW-2", ED25519)
    forged = AuditCheckpoints(audit, intruder, clock).now()
    assert forged is not None
    assert forged.position == 5
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (
        5,
        Breach.BAD_CHECKPOINT_SIGNATURE,
    )


def test_a_checkpoint_is_due_after_n_entries_or_t_seconds(store: SqlStore) -> None:
    """Checkpoints every 5 entries or 60 seconds. Result: none for 2 entries at once; one
    after 60 s; one when 5 more entries arrive; none when nothing is new."""
    audit = SqlAuditStore(store.database)
    clock = FixedClock()
    checkpoints = AuditCheckpoints(audit, SIGNER, clock, every_entries=5, every_seconds=60)
    audit.append([event(1)])
    assert checkpoints.due() is not None  # the first: no checkpoint yet
    audit.append([event(2), event(3)])
    assert checkpoints.due() is None
    clock.at += timedelta(seconds=61)
    assert checkpoints.due() is not None
    audit.append([event(n) for n in range(4, 9)])
    made = checkpoints.due()
    assert made is not None
    assert made.position == 8
    clock.at += timedelta(hours=1)
    assert checkpoints.due() is None
    assert [c.position for c in audit.checkpoints()] == [1, 3, 8]


def test_entries_are_listed_by_partner_kind_and_time_a_page_at_a_time(store: SqlStore) -> None:
    """Entries of two partners and two kinds over an hour. Result: each filter returns only
    its entries, in order, and pages continue after the last position."""
    audit = SqlAuditStore(store.database)
    audit.append(
        [event(n, partner="KR" if n % 2 else "SG") for n in range(1, 11)]
        + [event(11, partner="", kind=AuditKind.ADMIN_ACTION)]
    )
    kr = audit.search(AuditFilter(partner="KR"), 0, 100)
    assert [e.position for e in kr] == [1, 3, 5, 7, 9]
    admin = audit.search(AuditFilter(kind=AuditKind.ADMIN_ACTION), 0, 100)
    assert [e.position for e in admin] == [11]
    window = audit.search(
        AuditFilter(since=AT + timedelta(minutes=3), until=AT + timedelta(minutes=6)), 0, 100
    )
    assert [e.position for e in window] == [3, 4, 5]
    first = audit.search(AuditFilter(), 0, 4)
    second = audit.search(AuditFilter(), first[-1].position, 4)
    assert [e.position for e in first + second] == list(range(1, 9))


def test_group_commits_and_own_transactions_appending_at_once_keep_one_chain(
    store: SqlStore,
) -> None:
    """Twenty threads hand works that append an entry to the group committer while four
    threads append in transactions of their own (as delivery and admin actions do), and a
    work that fails after appending is dropped. Result: exactly the kept entries, positions 1
    to 100 without a gap, one chain that verifies; the failed work's entry is not there."""
    from gateway.domain.errors import InvalidQuery

    audit = SqlAuditStore(store.database)
    errors: list[BaseException] = []

    def through_group(i: int) -> None:
        try:
            for n in range(4):
                store.transactions.run(functools.partial(append_one, event(i * 10 + n, f"G{i}")))
        except BaseException as exc:
            errors.append(exc)

    def append_one(ev: AuditEvent, uow: UnitOfWork) -> None:
        uow.audit.append(ev)

    def own(i: int) -> None:
        try:
            for n in range(5):
                audit.append([event(1000 + i * 10 + n, partner=f"O{i}")])
        except BaseException as exc:
            errors.append(exc)

    def failing(uow: object) -> None:
        uow.audit.append(event(9999, partner="XX"))  # type: ignore[attr-defined]
        raise InvalidQuery("refused after appending")

    threads = [threading.Thread(target=through_group, args=(i,)) for i in range(20)]
    threads += [threading.Thread(target=own, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    with pytest.raises(InvalidQuery):
        store.transactions.run(failing)
    for t in threads:
        t.join()
    assert not errors
    entries = audit.entries(0, 1000)
    assert [e.position for e in entries] == list(range(1, 101))
    assert "XX" not in {e.event.partner for e in entries}
    assert verify(store)().ok


#: A microsecond count far past the year 9999: no datetime holds it.
OUT_OF_RANGE = 10**18


def signed_chain(store: SqlStore, entries: int = 6) -> SqlAuditStore:
    """``entries`` entries and a valid checkpoint at entry 3."""
    audit = SqlAuditStore(store.database)
    audit.append([event(n) for n in range(1, 4)])
    assert AuditCheckpoints(audit, SIGNER, FixedClock()).now() is not None
    audit.append([event(n) for n in range(4, entries + 1)])
    return audit


def test_an_entry_edited_to_a_time_out_of_range_is_named_as_edited(store: SqlStore) -> None:
    """Entry 4's recorded_at is set to 10**18 microseconds (past any datetime) with SQL.
    Result: verify does not fail to run; it names entry 4 as edited, and listing the entries
    still works."""
    audit = signed_chain(store)
    execute(store, "UPDATE audit_entries SET recorded_at = ? WHERE position = 4", (OUT_OF_RANGE,))
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (4, Breach.EDITED)
    assert [e.position for e in audit.entries(0, 100)] == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_edited_to_a_time_out_of_range_is_named_as_a_bad_signature(
    store: SqlStore,
) -> None:
    """The checkpoint at entry 3 gets signed_at 10**18 microseconds with SQL. Result: verify
    does not fail to run; it names that checkpoint's signature as bad."""
    signed_chain(store)
    execute(store, "UPDATE audit_checkpoints SET signed_at = ? WHERE position = 3", (OUT_OF_RANGE,))
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == (
        3,
        Breach.BAD_CHECKPOINT_SIGNATURE,
    )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # PostgreSQL refuses text there
@pytest.mark.parametrize(
    ("table", "column", "position", "expected"),
    [
        ("audit_entries", "recorded_at", 4, (4, Breach.EDITED)),
        ("audit_entries", "sequence", 4, (4, Breach.EDITED)),
        ("audit_entries", "detail", 4, (4, Breach.EDITED)),
        # A position that is no number leaves a gap where the row was.
        ("audit_entries", "position", 4, (4, Breach.DELETED)),
        ("audit_entries", "position", 6, (6, Breach.EDITED)),
        ("audit_checkpoints", "signed_at", 3, (3, Breach.BAD_CHECKPOINT_SIGNATURE)),
        ("audit_checkpoints", "position", 3, (0, Breach.BAD_CHECKPOINT_SIGNATURE)),
    ],
)
def test_a_number_column_edited_to_text_on_sqlite_is_named_by_verify(
    store: SqlStore,
    table: str,
    column: str,
    position: int,
    expected: tuple[int, Breach],
) -> None:
    """SQLite keeps text written into an INTEGER column as text: one column of an entry or of
    the checkpoint is set to 'noon' (a detail to a number). Result: verify does not fail to
    run; it names the entry as edited (a gap where a row's position was, when that row is not
    the last), or the checkpoint's signature as bad (at position 0 when its own position no
    longer reads)."""
    signed_chain(store)
    value: object = 7 if column == "detail" else "noon"
    execute(store, f"UPDATE {table} SET {column} = ? WHERE position = ?", (value, position))
    verdict = verify(store)()
    assert verdict.problem is not None
    assert (verdict.problem.position, verdict.problem.breach) == expected
