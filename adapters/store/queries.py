"""The read side: recognition's record lookups, freshness, and what admins and auditors ask.

Reads go through the reader pool, never through the writer's transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from adapters.store import tables
from adapters.store.database import Database
from gateway.app.audit import PartnerStats
from gateway.app.reconcile import CurrentSet
from gateway.domain.events import Change
from gateway.domain.reconciliation import CurrentOperator
from gateway.domain.records import StoredRecord
from gateway.domain.sequences import SequenceState
from gateway.times import from_us, to_us

#: How long a partner's last-received time is reused: it says how fresh data is, to the second.
FRESHNESS_TTL = 1.0
#: Rows converted at a time while a partner's current set is read.
CURRENT_SET_CHUNK = 5_000

#: Each operator's newest version, except operators with an open absence (see
#: migrations/0004). Unordered: the digest sorts bytes itself, whatever the collation.
_CURRENT_SET = (
    "SELECT v.identifier, v.version, v.status FROM record_versions v "
    "JOIN (SELECT identifier, MAX(version) AS version FROM record_versions "
    "WHERE administration = ? GROUP BY identifier) newest "
    "ON v.identifier = newest.identifier AND v.version = newest.version "
    "WHERE v.administration = ? AND NOT EXISTS (SELECT 1 FROM record_absences a "
    "WHERE a.administration = ? AND a.identifier = v.identifier AND a.present_again IS NULL)"
)


class SqlReader:
    def __init__(self, db: Database) -> None:
        self._db = db
        q = db.sql
        # The hot query, built once. The absence covering the time, if any, comes with the
        # version in the same statement: one more primary-key probe, no second round trip.
        self._as_of_sql = q(
            f"SELECT {tables.columns(tables.RECORD_COLUMNS)}, "
            "(SELECT MAX(a.absent_from) FROM record_absences a "
            "WHERE a.administration = v.administration AND a.identifier = v.identifier "
            "AND a.absent_from <= ? AND (a.present_again IS NULL OR a.present_again > ?)) "
            "FROM record_versions v "
            "WHERE administration = ? AND identifier = ? AND effective_at <= ? "
            "ORDER BY version DESC LIMIT 1"
        )
        self._received_sql = q("SELECT last_received_at FROM partner_sequences WHERE partner = ?")
        self._received: dict[str, tuple[float, datetime | None]] = {}
        self._received_lock = threading.Lock()

    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        us = to_us(at)
        with self._db.reading() as conn:
            row = conn.execute(self._as_of_sql, (us, us, administration, identifier, us)).fetchone()
        if not row:
            return None
        stored = tables.stored_record(administration, row[:-1])
        absent = row[-1]
        return stored if absent is None else replace(stored, absent_since=from_us(absent))

    def last_received(self, administration: str) -> datetime | None:
        now = time.monotonic()
        cached = self._received.get(administration)
        if cached is not None and now - cached[0] < FRESHNESS_TTL:
            return cached[1]
        with self._db.reading() as conn:
            row = conn.execute(self._received_sql, (administration,)).fetchone()
        value = from_us(row[0]) if row and row[0] is not None else None
        with self._received_lock:
            self._received[administration] = (now, value)
        return value

    def history(self, administration: str, identifier: str) -> list[StoredRecord]:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(
                self._db.sql(
                    f"SELECT {tables.columns(tables.RECORD_COLUMNS)} FROM record_versions "
                    "WHERE administration = ? AND identifier = ? ORDER BY version"
                ),
                (administration, identifier),
            )
            rows = cur.fetchall()
        return [tables.stored_record(administration, row) for row in rows]

    def partner_stats(self, partner: str) -> PartnerStats:
        q = self._db.sql
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(
                q(
                    f"SELECT {tables.columns(tables.SEQUENCE_COLUMNS)} FROM partner_sequences "
                    "WHERE partner = ?"
                ),
                (partner,),
            )
            row = cur.fetchone()
            state = tables.sequence_state(row) if row else SequenceState()
            cur.execute(
                q("SELECT COUNT(*), MAX(received_at) FROM messages WHERE partner = ?"), (partner,)
            )
            messages, last = cur.fetchone()
            cur.execute(
                q(
                    "SELECT COUNT(DISTINCT identifier) FROM record_versions "
                    "WHERE administration = ?"
                ),
                (partner,),
            )
            (operators,) = cur.fetchone()
        return PartnerStats(
            last_sequence=state.last,
            gaps=state.gaps,
            messages=int(messages),
            operators=int(operators),
            last_received_at=from_us(last) if last is not None else None,
            needs_snapshot=state.needs_snapshot,
            written_off=state.written_off,
        )

    @contextmanager
    def current_set(self, administration: str) -> Iterator[CurrentSet]:
        """One read transaction: the last sequence and the set agree with each other."""
        q = self._db.sql
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.dialect.begin_read)
            try:
                cur.execute(
                    q("SELECT last_sequence FROM partner_sequences WHERE partner = ?"),
                    (administration,),
                )
                row = cur.fetchone()
                cur.execute(q(_CURRENT_SET), (administration,) * 3)
                yield CurrentSet(int(row[0]) if row else 0, _chunked(cur))
            finally:
                cur.execute("ROLLBACK")

    def changes_after(self, cursor: int, limit: int) -> list[Change]:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(
                self._db.sql(
                    f"SELECT cursor, {tables.columns(tables.CHANGE_COLUMNS)} FROM changes "
                    "WHERE cursor > ? ORDER BY cursor LIMIT ?"
                ),
                (cursor, limit),
            )
            rows = cur.fetchall()
        return [tables.change(row) for row in rows]


def _chunked(cur: Any) -> Iterator[CurrentOperator]:
    while rows := cur.fetchmany(CURRENT_SET_CHUNK):
        for identifier, version, status in rows:
            yield CurrentOperator(identifier, int(version), tables.STATUSES[status])
