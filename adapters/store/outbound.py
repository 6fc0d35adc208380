"""The outbox and outbound messages in the store (migration 0005), and the per-partner delivery
locks that let exactly one thread of one replica deliver to a partner at a time.

Delivery writes are few (one or two per message), so they run in transactions of their own on
a pooled connection rather than through the group committer, as programme states do.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from adapters.store import tables
from adapters.store.audit import append_entries, receipt_event, sent_event
from adapters.store.database import Database
from adapters.store.dialects import Connection
from gateway.app.deliver import NewMessage
from gateway.domain.consent import Told, as_told
from gateway.domain.errors import MessagePurged
from gateway.domain.outbound import (
    OutboundMessage,
    OutboundState,
    OutboundSummary,
    QueuedChange,
    SettledReceipt,
)
from gateway.domain.records import AeoRecord
from gateway.times import from_us, to_us

MESSAGE_COLUMNS = (
    "partner",
    "sequence",
    "state",
    "wire_format",
    "payload",
    "digest",
    "key_id",
    "algorithm",
    "signature",
    "records",
    "queued_at",
    "sealed_at",
    "attempts",
    "next_attempt_at",
    "last_error",
    "age_from",
    "settled_at",
    "dead_at",
    "peer_message_id",
    "receipt",
    "receipt_signature",
    "receipt_key_id",
    "receipt_algorithm",
    "first_sealed_at",
    "reseal_due",
)
log = logging.getLogger(__name__)
_STATES = {s.value: s for s in OutboundState}
#: First key of the session advisory lock per partner on PostgreSQL, in the key space of
#: adapters.store.dialects' keys (4242001, 4242002); the second key is ``lock_key(partner)``.
OUTBOUND_LOCK_KEY = 4242003


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def _at(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


def message(row: Sequence[Any]) -> OutboundMessage:
    (partner, sequence, state, wire_format, payload, digest, key_id, algorithm, signature,
     records, queued_at, sealed_at, attempts, next_attempt_at, last_error, age_from, settled_at,
     dead_at, peer_message_id, receipt, receipt_signature, receipt_key_id,
     receipt_algorithm, first_sealed_at, reseal_due) = row  # fmt: skip
    evidence = None
    if receipt is not None:
        evidence = SettledReceipt(
            bytes(receipt),
            bytes(receipt_signature or b""),
            receipt_key_id or "",
            receipt_algorithm or "",
            peer_message_id or "",
        )
    return OutboundMessage(
        partner=partner,
        sequence=sequence,
        state=_STATES[state],
        wire_format=wire_format,
        payload=bytes(payload),
        digest=bytes(digest),
        key_id=key_id,
        algorithm=algorithm,
        signature=bytes(signature),
        records=records,
        queued_at=from_us(queued_at),
        sealed_at=from_us(sealed_at),
        attempts=attempts,
        next_attempt_at=from_us(next_attempt_at),
        last_error=last_error,
        age_from=from_us(age_from),
        settled_at=_at(settled_at),
        dead_at=_at(dead_at),
        receipt=evidence,
        first_sealed_at=from_us(first_sealed_at),
        reseal_due=bool(reseal_due),
    )


class _Fenced(Exception):
    """Another deliverer wrote first: the transaction is rolled back."""


#: Ids per IN list: under every database's limit on bound parameters.
_CHUNK = 500


class SqlOutbound:
    """The OutboundStore port on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._columns = tables.columns(MESSAGE_COLUMNS)

    def partners_with_work(
        self, partners: Collection[str], now: datetime, max_age: timedelta
    ) -> list[str]:
        """Which of ``partners`` have changes not yet sealed, or a message due (or old enough
        to die): two index probes per partner in one statement, whatever the backlog (every
        worker asks after every step; a DISTINCT over a backlog of 65,000 changes cost
        PostgreSQL as much CPU as the delivery itself)."""
        if not partners:
            return []
        probe = (
            "SELECT CAST(? AS TEXT) WHERE EXISTS (SELECT 1 FROM outbox WHERE partner = ? "
            "AND message_sequence IS NULL) OR EXISTS (SELECT 1 FROM outbound_messages "
            "WHERE partner = ? AND state = 'sending' AND (next_attempt_at <= ? OR age_from < ?))"
        )
        due, old = to_us(now), to_us(now - max_age)
        codes = sorted(partners)
        rows = self._db.rows(
            " UNION ALL ".join([probe] * len(codes)),
            [value for code in codes for value in (code, code, code, due, old)],
        )
        return sorted(r[0] for r in rows)

    def head(self, partner: str) -> OutboundMessage | None:
        rows = self._db.rows(
            f"SELECT {self._columns} FROM outbound_messages WHERE partner = ? "
            "AND state = 'sending' ORDER BY sequence LIMIT 1",
            (partner,),
        )
        return message(rows[0]) if rows else None

    def unsealed(self, partner: str, limit: int) -> list[QueuedChange]:
        rows = self._db.rows(
            "SELECT id, identifier, version, queued_at FROM outbox "
            "WHERE partner = ? AND message_sequence IS NULL ORDER BY id LIMIT ?",
            (partner, limit),
        )
        return [QueuedChange(i, ident, v, from_us(q)) for i, ident, v, q in rows]

    def records(self, administration: str, changes: Sequence[QueuedChange]) -> list[AeoRecord]:
        """The record versions of ``changes``, in the order of ``changes``: one statement
        per message (a backlog drains in messages of hundreds). A consent record is the home
        version it carries (``basis``) told as the partner is to hear it."""
        found: dict[int, AeoRecord] = {}
        columns = ", ".join(f"r.{c}" for c in tables.RECORD_COLUMNS)
        for start in range(0, len(changes), _CHUNK):
            ids = [c.id for c in changes[start : start + _CHUNK]]
            for row in self._db.rows(
                f"SELECT o.id, o.consent, o.version, o.queued_at, {columns} FROM outbox o "
                "JOIN record_versions r ON r.administration = ? AND r.identifier = o.identifier "
                "AND r.version = COALESCE(o.basis, o.version) "
                f"WHERE o.id IN ({', '.join('?' * len(ids))})",
                (administration, *ids),
            ):
                record = tables.stored_record(administration, row[4:]).record
                if row[1] is not None:
                    record = as_told(record, Told(row[1]), row[2], from_us(row[3]))
                found[row[0]] = record
        return [found[c.id] for c in changes if c.id in found]

    def last_sequence(self, partner: str) -> int:
        rows = self._db.rows(
            "SELECT MAX(sequence) FROM outbound_messages WHERE partner = ?", (partner,)
        )
        return int(rows[0][0] or 0)

    def seal(self, m: NewMessage) -> OutboundMessage | None:
        """Stores the sealed message and marks its changes sealed, in one transaction; None
        (nothing written) when another deliverer got there first: the partner already has a
        message in flight or one numbered ``m.sequence`` or later, or one of the changes is
        sealed already. The delivery lock says who delivers; this fence holds even when a lock
        is lost mid-step (its session cut) and two deliverers briefly overlap."""
        q = self._db.sql
        row = (
            m.partner, m.sequence, OutboundState.SENDING.value, m.wire_format, m.payload,
            m.digest, m.key_id, m.algorithm, m.signature, len(m.outbox_ids), to_us(m.queued_at),
            to_us(m.sealed_at), 0, to_us(m.sealed_at), "", to_us(m.sealed_at),
            to_us(m.sealed_at),
        )  # fmt: skip
        names = (*MESSAGE_COLUMNS[: len(row) - 1], "first_sealed_at")  # reseal_due: 0
        try:
            with self._db.pooled_transaction() as cur:
                cur.execute(
                    q(
                        f"INSERT INTO outbound_messages ({tables.columns(names)}) "
                        f"SELECT {', '.join('?' * len(row))} WHERE (SELECT COALESCE(MAX(sequence), "
                        "0) FROM outbound_messages WHERE partner = ?) = ? AND NOT EXISTS (SELECT 1 "
                        "FROM outbound_messages WHERE partner = ? AND state = 'sending') "
                        "ON CONFLICT DO NOTHING"
                    ),
                    (*row, m.partner, m.sequence - 1, m.partner),
                )
                if cur.rowcount != 1:
                    raise _Fenced
                marked = 0
                for start in range(0, len(m.outbox_ids), _CHUNK):
                    ids = m.outbox_ids[start : start + _CHUNK]
                    cur.execute(
                        q(
                            "UPDATE outbox SET message_sequence = ? WHERE partner = ? AND "
                            f"message_sequence IS NULL AND id IN ({', '.join('?' * len(ids))})"
                        ),
                        (m.sequence, m.partner, *ids),
                    )
                    marked += cur.rowcount
                if marked != len(m.outbox_ids):
                    raise _Fenced
                append_entries(cur, self._db.dialect, [sent_event(m)])
        except _Fenced:
            return None
        return self._message(m.partner, m.sequence)

    def _message(self, partner: str, sequence: int) -> OutboundMessage | None:
        rows = self._db.rows(
            f"SELECT {self._columns} FROM outbound_messages WHERE partner = ? AND sequence = ?",
            (partner, sequence),
        )
        return message(rows[0]) if rows else None

    def sealed_changes(self, partner: str, sequence: int) -> list[QueuedChange]:
        """The changes message ``sequence`` carries, in order."""
        rows = self._db.rows(
            "SELECT id, identifier, version, queued_at FROM outbox "
            "WHERE partner = ? AND message_sequence = ? ORDER BY id",
            (partner, sequence),
        )
        return [QueuedChange(i, ident, v, from_us(q)) for i, ident, v, q in rows]

    def reseal(self, m: NewMessage, replacing: bytes) -> OutboundMessage | None:
        """The unsettled message ``m.sequence`` with digest ``replacing`` given ``m``'s bytes
        (the changes it still carries: a consent withdrawal may have taken some out); None when
        it is no longer those bytes in flight (another deliverer). first_sealed_at stays: it
        orders ListOutboundMessages' pages, which a reseal must not reshuffle."""
        with self._db.pooled_transaction() as cur:
            cur.execute(
                self._db.sql(
                    "UPDATE outbound_messages SET payload = ?, digest = ?, key_id = ?, "
                    "algorithm = ?, signature = ?, sealed_at = ?, records = ?, reseal_due = 0 "
                    "WHERE partner = ? AND sequence = ? AND state = 'sending' AND digest = ?"
                ),
                (
                    m.payload, m.digest, m.key_id, m.algorithm, m.signature, to_us(m.sealed_at),
                    len(m.outbox_ids), m.partner, m.sequence, replacing,
                ),
            )  # fmt: skip
            changed = cur.rowcount == 1
            if changed:
                append_entries(cur, self._db.dialect, [sent_event(m, resealed=True)])
        return self._message(m.partner, m.sequence) if changed else None

    def failed(
        self, partner: str, sequence: int, digest: bytes, error: str, next_attempt_at: datetime
    ) -> bool:
        """Records a failed attempt at these bytes; False when they are no longer in flight."""
        with self._db.pooled_transaction() as cur:
            cur.execute(
                self._db.sql(
                    "UPDATE outbound_messages SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ? WHERE partner = ? AND sequence = ? AND state = 'sending' "
                    "AND digest = ?"
                ),
                (error, to_us(next_attempt_at), partner, sequence, digest),
            )
            changed: bool = cur.rowcount == 1
        return changed

    def settle(
        self, partner: str, sequence: int, digest: bytes, receipt: SettledReceipt, at: datetime
    ) -> bool:
        """Settles these bytes with their receipt; False when they are no longer in flight."""
        with self._db.pooled_transaction() as cur:
            cur.execute(
                self._db.sql(
                    "UPDATE outbound_messages SET state = 'settled', attempts = attempts + 1, "
                    "last_error = '', settled_at = ?, peer_message_id = ?, receipt = ?, "
                    "receipt_signature = ?, receipt_key_id = ?, receipt_algorithm = ? "
                    "WHERE partner = ? AND sequence = ? AND state = 'sending' AND digest = ?"
                ),
                (
                    to_us(at), receipt.peer_message_id, receipt.receipt, receipt.signature,
                    receipt.key_id, receipt.algorithm, partner, sequence, digest,
                ),
            )  # fmt: skip
            changed: bool = cur.rowcount == 1
            if changed:
                append_entries(
                    cur, self._db.dialect, [receipt_event(partner, sequence, digest, receipt, at)]
                )
        return changed

    def dead_letter(self, partner: str, sequence: int, at: datetime) -> None:
        with self._db.pooled_transaction() as cur:
            cur.execute(
                self._db.sql(
                    "UPDATE outbound_messages SET state = 'dead', dead_at = ? "
                    "WHERE partner = ? AND sequence = ? AND state = 'sending'"
                ),
                (to_us(at), partner, sequence),
            )

    def hold_age(self, partner: str, floor: datetime) -> None:
        """The partner's unsettled messages' age counted from ``floor`` at the earliest; a
        no-op read through the partial index once they are (the usual case between writes)."""
        with self._db.reading() as conn:  # one statement: autocommitted
            conn.cursor().execute(
                self._db.sql(
                    "UPDATE outbound_messages SET age_from = ? "
                    "WHERE partner = ? AND state = 'sending' AND age_from < ?"
                ),
                (to_us(floor), partner, to_us(floor)),
            )

    def redrive(
        self, partner: str | None, sequences: Collection[int], at: datetime
    ) -> list[tuple[str, int]]:
        """Dead letters back to 'sending' with a new age window, due at once."""
        where = "state = 'dead'"
        params: list[Any] = []
        if partner is not None:
            where += " AND partner = ?"
            params.append(partner)
        if sequences:
            where += f" AND sequence IN ({', '.join('?' * len(sequences))})"
            params.extend(sequences)
        q = self._db.sql
        with self._db.pooled_transaction() as cur:
            if sequences:  # named ones whose bytes a retention purge emptied cannot go again
                cur.execute(
                    q(f"SELECT partner, sequence FROM outbound_messages WHERE {where} "
                      "AND purged_at IS NOT NULL"),
                    params,
                )  # fmt: skip
                purged = sorted((p, int(s)) for p, s in cur.fetchall())
                if purged:
                    raise MessagePurged(
                        "dead letters whose raw bytes were purged past their partner's "
                        f"retention cannot be re-driven: {purged[0][0]} sequence {purged[0][1]}",
                        partner=purged[0][0],
                        sequence=str(purged[0][1]),
                    )
            where += " AND purged_at IS NULL"
            cur.execute(q(f"SELECT partner, sequence FROM outbound_messages WHERE {where}"), params)
            found = sorted((p, int(s)) for p, s in cur.fetchall())
            cur.execute(
                q(
                    "UPDATE outbound_messages SET state = 'sending', attempts = 0, dead_at = NULL, "
                    f"age_from = ?, next_attempt_at = ? WHERE {where}"
                ),
                [to_us(at), to_us(at), *params],
            )
        return found

    def messages(
        self,
        partner: str | None,
        state: OutboundState | None,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[OutboundMessage]:
        """Newest first (first sealed, then partner and sequence, descending), after ``after``:
        keys a reseal does not change, so a message never moves between pages."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if partner is not None:
            where.append("partner = ?")
            params.append(partner)
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if after is not None:
            where.append("(first_sealed_at, partner, sequence) < (?, ?, ?)")
            params.extend(after)
        rows = self._db.rows(
            f"SELECT {self._columns} FROM outbound_messages WHERE {' AND '.join(where)} "
            "ORDER BY first_sealed_at DESC, partner DESC, sequence DESC LIMIT ?",
            (*params, limit),
        )
        return [message(r) for r in rows]

    def summary(self, partner: str) -> OutboundSummary:
        """Read through the partial indexes of what is open, so it costs the same however
        much the partner has been sent."""
        ((unsealed, oldest_unsealed),) = self._db.rows(
            "SELECT COUNT(*), MIN(queued_at) FROM outbox "
            "WHERE partner = ? AND message_sequence IS NULL",
            (partner,),
        )
        ((carried, oldest_sealed, dead),) = self._db.rows(
            "SELECT SUM(records), MIN(queued_at), "
            "SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM outbound_messages "
            "WHERE partner = ? AND state IN ('sending', 'dead')",
            (partner,),
        )
        ((settled,),) = self._db.rows(
            "SELECT MAX(sequence) FROM outbound_messages WHERE partner = ? AND state = 'settled'",
            (partner,),
        )
        oldest = [o for o in (oldest_unsealed, oldest_sealed) if o is not None]
        return OutboundSummary(
            int(unsealed) + int(carried or 0),
            _at(min(oldest)) if oldest else None,
            int(settled or 0),
            int(dead or 0),
        )


def lock_key(partner: str) -> int:
    """A stable 31-bit key per partner code, the second key of its advisory lock."""
    return int.from_bytes(hashlib.sha256(partner.encode()).digest()[:4], "big") & 0x7FFFFFFF


class PartnerLocks:
    """Who delivers to a partner now. In this process: a set of partners taken. On PostgreSQL
    also a session advisory lock per partner, so one replica among several delivers to it; the
    server drops it with the connection when its holder dies, and another replica takes over.
    On SQLite the process-local lock is all: several replicas need PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._taken: set[str] = set()
        self._mutex = threading.Lock()
        self._local = threading.local()

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or not self._db.dialect.idle_alive(conn):
            if conn is not None:
                conn.close()  # dead: its socket and client state go too
            conn = self._db.dialect.connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def hold(self, partner: str) -> Iterator[bool]:
        """Yields True when this thread holds ``partner``'s lock (released on exit)."""
        with self._mutex:
            if partner in self._taken:
                yield_local = False
            else:
                self._taken.add(partner)
                yield_local = True
        if not yield_local:
            yield False
            return
        try:
            if self._db.dialect.name != "postgresql":
                yield True
                return
            with self._db.translated():
                conn = self._connection()
                args = (OUTBOUND_LOCK_KEY, lock_key(partner))
                got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", args).fetchone()[0]
            try:
                yield bool(got)
            finally:
                if got:
                    self._unlock(conn, args)
        finally:
            with self._mutex:
                self._taken.discard(partner)

    def _unlock(self, conn: Connection, args: tuple[int, int]) -> None:
        """Releases the lock; a lock connection that died took the lock with it (the server
        drops a session's locks), so its failure here is logged, not raised after the step."""
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", args)
        except self._db.dialect.errors as exc:
            log.info("outbound delivery lock connection lost (its lock with it): %r", exc)
            self.close()

    def close(self) -> None:
        """Closes this thread's lock connection (a worker ending)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
