"""The unit of work over one SQL transaction shared by a group of works (see group_commit).

Writes are staged per work and written in bulk when the group commits: one statement per
table for the whole group. Reads see the database plus the writes of the works before in the
group and of the work itself; a work that fails has its staged writes dropped, as if it never
ran. Database reads are cached for the group: nobody else writes while the transaction holds
the partners it locked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from adapters.store import tables
from adapters.store.absences import SqlAbsences
from adapters.store.audit import SqlAuditLog
from adapters.store.consent import SqlConsents
from adapters.store.dialects import Dialect
from gateway.app.unit_of_work import StoredMessage
from gateway.domain.consent import Told
from gateway.domain.events import DomainEvent
from gateway.domain.messages import SealedReceipt
from gateway.domain.records import AeoRecord, MessageMeta
from gateway.domain.sequences import SequenceState
from gateway.times import to_us

K = TypeVar("K")
V = TypeVar("V")

#: Rows per IN list: under every database's limit on bound parameters.
_CHUNK = 500


class _Stage(Generic[K, V]):
    """Values written by the works of a group: the kept ones, and the running work's own."""

    def __init__(self) -> None:
        self.kept: dict[K, V] = {}
        self.staged: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        value = self.staged.get(key)
        return value if value is not None else self.kept.get(key)

    def put(self, key: K, value: V) -> None:
        self.staged[key] = value

    def settle(self, keep: bool) -> None:
        if keep:
            self.kept.update(self.staged)
        self.staged.clear()


class _Rows:
    """Rows to insert at commit, staged per work like _Stage."""

    def __init__(self) -> None:
        self.kept: list[tuple[Any, ...]] = []
        self.staged: list[tuple[Any, ...]] = []

    def settle(self, keep: bool) -> None:
        if keep:
            self.kept.extend(self.staged)
        self.staged.clear()


class TranslatingCursor:
    """A cursor whose driver errors arrive already translated (store.unavailable or
    store.rejected): what the database said is then never confused with an error of a work's
    own code, even of the same Python type (OverflowError, UnicodeEncodeError)."""

    def __init__(self, cur: Any, errors: tuple[type[BaseException], ...], translate: Any) -> None:
        self._cur = cur
        self._errors = errors
        self._translate = translate

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except self._errors as exc:
            raise self._translate(exc) from exc

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self._call(self._cur.execute, sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        return self._call(self._cur.executemany, sql, rows)

    def fetchone(self) -> Any:
        return self._call(self._cur.fetchone)

    def fetchall(self) -> list[Any]:
        return list(self._call(self._cur.fetchall))


class _Repository:
    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self._cur = cur
        self._q = dialect.sql
        self._dialect = dialect
        self._rows = _Rows()

    def _select_in(self, sql: str, first: str, items: Collection[Any]) -> Iterator[Any]:
        """Rows of ``sql`` with its ``{in}`` list bound to ``items``, chunked."""
        ordered = list(items)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            self._cur.execute(
                self._q(sql.format(**{"in": ", ".join("?" * len(chunk))})), (first, *chunk)
            )
            yield from self._cur.fetchall()

    def settle(self, keep: bool) -> None:
        self._rows.settle(keep)

    def flush(self) -> None:
        """Writes the kept rows and forgets them (a group may flush more than once)."""
        raise NotImplementedError


class SqlMessages(_Repository):
    def __init__(self, cur: Any, dialect: Dialect) -> None:
        super().__init__(cur, dialect)
        self._receipts: _Stage[tuple[str, bytes], SealedReceipt] = _Stage()
        #: Receipts read from the database (None: no such message), and those expected.
        self._stored: dict[tuple[str, bytes], SealedReceipt | None] = {}
        self._expected: dict[str, set[bytes]] = {}

    def expect(self, partner: str, digest: bytes) -> None:
        self._expected.setdefault(partner, set()).add(digest)

    def receipt(self, partner: str, digest: bytes) -> SealedReceipt | None:
        found = self._receipts.get((partner, digest))
        if found is not None:
            return found
        if (partner, digest) not in self._stored:
            digests = self._expected.pop(partner, set()) | {digest}
            for d in digests:
                self._stored.setdefault((partner, d), None)
            for d, receipt, signature, key_id, algorithm in self._select_in(
                "SELECT digest, receipt, receipt_signature, receipt_key_id, receipt_algorithm "
                "FROM messages WHERE partner = ? AND digest IN ({in})",
                partner,
                digests,
            ):
                self._stored[(partner, bytes(d))] = SealedReceipt(
                    bytes(receipt), bytes(signature), key_id, algorithm
                )
        return self._stored[(partner, digest)]

    def add(self, message: StoredMessage) -> None:
        self._receipts.put((message.partner, message.digest), message.receipt)
        self._rows.staged.append(tables.message_row(message))

    def settle(self, keep: bool) -> None:
        super().settle(keep)
        self._receipts.settle(keep)

    def flush(self) -> None:
        if self._rows.kept:
            sql = tables.insert("messages", tables.MESSAGE_COLUMNS)
            self._cur.executemany(self._q(sql), self._rows.kept)
            self._rows.kept.clear()


class SqlRecords(_Repository):
    def __init__(self, cur: Any, dialect: Dialect) -> None:
        super().__init__(cur, dialect)
        self._latest: _Stage[tuple[str, str], int] = _Stage()
        #: Highest stored versions read from the database; 0 where none is stored.
        self._stored: dict[tuple[str, str], int] = {}
        self._expected: dict[str, set[str]] = {}
        #: Versions the group added, and every version read from the database, oldest first.
        self._added: _Stage[tuple[str, str], tuple[AeoRecord, ...]] = _Stage()
        self._histories: dict[tuple[str, str], list[AeoRecord]] = {}
        #: Administrations whose histories works read (the home registry's): only their added
        #: versions are kept, so the partner ingest path pays nothing for it.
        self._history_of: set[str] = set()

    def expect(self, administration: str, identifiers: Collection[str]) -> None:
        self._expected.setdefault(administration, set()).update(identifiers)

    def histories(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, Sequence[AeoRecord]]:
        self._history_of.add(administration)
        unread = [i for i in identifiers if (administration, i) not in self._histories]
        for i in unread:
            self._histories[(administration, i)] = []
        for row in self._select_in(
            f"SELECT {tables.columns(tables.RECORD_COLUMNS)} FROM record_versions "
            "WHERE administration = ? AND identifier IN ({in}) ORDER BY identifier, version",
            administration,
            unread,
        ):
            stored = tables.stored_record(administration, row)
            self._histories[(administration, stored.record.identifier)].append(stored.record)
        found: dict[str, Sequence[AeoRecord]] = {}
        for i in identifiers:
            key = (administration, i)
            # By version: a group that flushed midway has its versions in both.
            versions = {
                r.version: r for r in (*self._histories[key], *(self._added.get(key) or ()))
            }
            if versions:
                found[i] = [versions[v] for v in sorted(versions)]
        return found

    def latest_versions(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, int]:
        wanted = self._expected.pop(administration, set()).union(identifiers)
        unread = [i for i in wanted if (administration, i) not in self._stored]
        if unread:
            for i in unread:
                self._stored[(administration, i)] = 0
            for identifier, version in self._select_in(
                "SELECT identifier, MAX(version) FROM record_versions WHERE administration = ? "
                "AND identifier IN ({in}) GROUP BY identifier",
                administration,
                unread,
            ):
                self._stored[(administration, identifier)] = int(version)
        found = {}
        for i in identifiers:
            version = self._latest.get((administration, i)) or self._stored[(administration, i)]
            if version:
                found[i] = version
        return found

    def add(self, administration: str, record: AeoRecord, basis: MessageMeta) -> None:
        self._latest.staged[(administration, record.identifier)] = record.version
        if administration in self._history_of:
            key = (administration, record.identifier)
            self._added.staged[key] = (*(self._added.get(key) or ()), record)
        self._rows.staged.append(tables.record_row(administration, record, basis))

    def settle(self, keep: bool) -> None:
        super().settle(keep)
        self._latest.settle(keep)
        self._added.settle(keep)

    def flush(self) -> None:
        if self._rows.kept:
            sql = tables.insert("record_versions", ("administration", *tables.RECORD_COLUMNS))
            self._cur.executemany(self._q(sql), self._rows.kept)
            self._rows.kept.clear()


class SqlPartnerStates(_Repository):
    def __init__(self, cur: Any, dialect: Dialect) -> None:
        super().__init__(cur, dialect)
        self._stored: dict[str, SequenceState] = {}
        self._saved: _Stage[str, tuple[SequenceState, datetime | None]] = _Stage()

    def lock(self, partners: Collection[str]) -> None:
        """Reads the partners' rows, locking them until commit where the database needs it,
        in sorted order so that concurrent gateways lock alike and cannot deadlock."""
        for partner in sorted(set(partners) - self._stored.keys()):
            if self._dialect.row_lock:
                self._cur.execute(
                    self._q(
                        "INSERT INTO partner_sequences (partner, last_sequence, gaps) "
                        "VALUES (?, 0, '[]') ON CONFLICT (partner) DO NOTHING"
                    ),
                    (partner,),
                )
            self._cur.execute(
                self._q(
                    f"SELECT {tables.columns(tables.SEQUENCE_COLUMNS)} FROM partner_sequences "
                    "WHERE partner = ?" + self._dialect.row_lock
                ),
                (partner,),
            )
            row = self._cur.fetchone()
            self._stored[partner] = tables.sequence_state(row) if row else SequenceState()

    def sequence(self, partner: str) -> SequenceState:
        saved = self._saved.get(partner)
        if saved is not None:
            return saved[0]
        self.lock((partner,))
        return self._stored[partner]

    def save(self, partner: str, state: SequenceState, received_at: datetime | None) -> None:
        if received_at is None:  # a message of the same commit group keeps its time
            earlier = self._saved.get(partner)
            received_at = earlier[1] if earlier is not None else None
        self._saved.put(partner, (state, received_at))

    def settle(self, keep: bool) -> None:
        self._saved.settle(keep)

    def flush(self) -> None:
        if self._saved.kept:
            names = (*tables.SEQUENCE_COLUMNS, "last_received_at")
            self._cur.executemany(
                self._q(
                    tables.insert("partner_sequences", ("partner", *names))
                    + " ON CONFLICT (partner) DO UPDATE SET "
                    + ", ".join(f"{n} = excluded.{n}" for n in tables.SEQUENCE_COLUMNS)
                    # No time given (no message arrived): the last message's time stays.
                    + ", last_received_at = COALESCE(excluded.last_received_at, "
                    "partner_sequences.last_received_at)"
                ),
                [
                    (partner, *tables.sequence_row(state), to_us(at) if at else None)
                    for partner, (state, at) in sorted(self._saved.kept.items())
                ],
            )
            # Written: what the database holds now is what later works of the group read.
            self._stored.update((p, state) for p, (state, _) in self._saved.kept.items())
            self._saved.kept.clear()


class SqlChangeLog(_Repository):
    def append(self, event: DomainEvent) -> None:
        # Built now, not at commit: an event that cannot be written fails its own work only.
        self._rows.staged.append(tables.change_row(event))

    def flush(self) -> None:
        if not self._rows.kept:
            return
        if self._dialect.change_log_lock:
            # Cursors come from a sequence: taking this lock first makes them follow commit
            # order across every gateway sharing the database.
            self._cur.execute(self._dialect.change_log_lock)
        now = int(time.time() * 1_000_000)
        self._cur.executemany(
            self._q(tables.insert("changes", tables.CHANGE_COLUMNS)),
            [(now, *row) for row in self._rows.kept],
        )
        self._rows.kept.clear()


class SqlOutbox(_Repository):
    """Home AEO changes queued per partner, written with the change itself (migration 0005),
    and consent records (migration 0013)."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        super().__init__(cur, dialect)
        #: Operators taken out of a partner's queue (consent withdrawn), per work like rows.
        self._drops = _Rows()
        #: Operators taken out of a partner's messages not yet settled, likewise.
        self._withheld = _Rows()
        #: The highest consent record version queued by this group's works, flushed or not,
        #: kept or not: one too high only skips a home version, one too low would be stale.
        self._told: dict[str, int] = {}

    def enqueue(self, partner: str, identifier: str, version: int, queued_at: datetime) -> None:
        self._rows.staged.append((partner, identifier, version, to_us(queued_at), None, None))

    def enqueue_told(
        self,
        partner: str,
        identifier: str,
        version: int,
        basis: int,
        told: Told,
        queued_at: datetime,
    ) -> None:
        row = (partner, identifier, version, to_us(queued_at), told.value, basis)
        self._rows.staged.append(row)
        self._told[identifier] = max(self._told.get(identifier, 0), version)

    def consent_versions(self, identifiers: Collection[str]) -> Mapping[str, int]:
        # Rows of this group not yet flushed count too; rows dropped but not yet deleted may
        # count: a version too high is harmless, one too low is not.
        found: dict[str, int] = {}
        wanted = sorted(set(identifiers))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            self._cur.execute(
                self._q(
                    "SELECT identifier, MAX(version) FROM outbox WHERE consent IS NOT NULL "
                    f"AND identifier IN ({', '.join('?' * len(chunk))}) GROUP BY identifier"
                ),
                tuple(chunk),
            )
            found.update((identifier, int(top)) for identifier, top in self._cur.fetchall())
        for identifier in wanted:
            if identifier in self._told:
                found[identifier] = max(found.get(identifier, 0), self._told[identifier])
        return found

    def was_sealed(self, partner: str, identifier: str) -> bool:
        # Sealing happens outside group commits (gateway.app.deliver): the database knows.
        # No index serves it: withdrawals are rare, and every enqueue would pay for one.
        self._cur.execute(
            self._q(
                "SELECT 1 FROM outbox WHERE partner = ? AND identifier = ? "
                "AND message_sequence IS NOT NULL LIMIT 1"
            ),
            (partner, identifier),
        )
        return self._cur.fetchone() is not None

    def drop_unsealed(self, partner: str, identifier: str) -> None:
        # The work's own rows at once; the group's earlier works' when this work is kept.
        self._rows.staged = [r for r in self._rows.staged if r[:2] != (partner, identifier)]
        self._drops.staged.append((partner, identifier))

    def withhold_unsent(self, partner: str, identifier: str) -> None:
        self._withheld.staged.append((partner, identifier))

    def settle(self, keep: bool) -> None:
        if keep:
            for dropped in self._drops.staged:
                self._rows.kept = [r for r in self._rows.kept if r[:2] != dropped]
        self._drops.settle(keep)
        self._withheld.settle(keep)
        super().settle(keep)

    def flush(self) -> None:
        for partner, identifier in self._withheld.kept:
            # Rare (a withdrawal with the partner unreachable): statements, not a batch.
            in_flight = (
                "SELECT sequence FROM outbound_messages WHERE partner = ? AND state = 'sending'"
            )
            self._cur.execute(
                self._q(
                    "UPDATE outbound_messages SET reseal_due = 1 WHERE partner = ? AND "
                    "state = 'sending' AND sequence IN (SELECT message_sequence FROM outbox "
                    "WHERE partner = ? AND identifier = ? AND message_sequence IS NOT NULL)"
                ),
                (partner, partner, identifier),
            )
            self._cur.execute(
                self._q(
                    "DELETE FROM outbox WHERE partner = ? AND identifier = ? "
                    f"AND message_sequence IN ({in_flight})"
                ),
                (partner, identifier, partner),
            )
            self._cur.execute(
                self._q(
                    "UPDATE outbound_messages SET records = (SELECT COUNT(*) FROM outbox o "
                    "WHERE o.partner = outbound_messages.partner "
                    "AND o.message_sequence = outbound_messages.sequence) "
                    "WHERE partner = ? AND state = 'sending' AND reseal_due = 1"
                ),
                (partner,),
            )
        self._withheld.kept.clear()
        if self._drops.kept:  # rows written before (committed, or flushed by this group)
            self._cur.executemany(
                self._q(
                    "DELETE FROM outbox WHERE partner = ? AND identifier = ? "
                    "AND message_sequence IS NULL"
                ),
                self._drops.kept,
            )
            self._drops.kept.clear()
        if self._rows.kept:
            sql = tables.insert(
                "outbox", ("partner", "identifier", "version", "queued_at", "consent", "basis")
            )
            self._cur.executemany(self._q(sql), self._rows.kept)
            self._rows.kept.clear()


class GroupUnitOfWork:
    """The UnitOfWork port for every work of one group commit."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self.messages = SqlMessages(cur, dialect)
        self.records = SqlRecords(cur, dialect)
        self.partner_states = SqlPartnerStates(cur, dialect)
        self.changes = SqlChangeLog(cur, dialect)
        self.absences = SqlAbsences(cur, dialect)
        self.outbox = SqlOutbox(cur, dialect)
        self.consents = SqlConsents(cur, dialect)
        self.audit = SqlAuditLog(cur, dialect)
        self._parts: tuple[Callable[[bool], None], ...] = tuple(
            part.settle
            for part in (
                self.messages,
                self.records,
                self.partner_states,
                self.changes,
                self.absences,
                self.outbox,
                self.consents,
                self.audit,
            )
        )

    def lock(self, partners: Collection[str]) -> None:
        self.partner_states.lock(partners)

    def end_work(self, keep: bool) -> None:
        """Keeps the finished work's writes, or drops those of a work that failed."""
        for settle in self._parts:
            settle(keep)
        if self.absences.opens_kept:
            # A snapshot's absences are the operators stored before it: what the works before
            # it and the snapshot wrote goes in now, and the works after it read it back.
            self.flush()

    def flush(self) -> None:
        """Writes every kept row, one statement per table (absences after the records they
        are computed from; the audit log last, so its head row is the last lock taken)."""
        for part in (
            self.partner_states,
            self.records,
            self.messages,
            self.changes,
            self.absences,
            self.outbox,
            self.consents,
            self.audit,
        ):
            part.flush()
