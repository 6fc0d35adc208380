"""Refused status messages in the store (migration 0014): the RefusalLog of gateway.app.refusals.

Each refusal is one INSERT in a short transaction of its own on a pooled connection (the single
writer belongs to the group committer, and a refusal stores nothing else). The table stays
bounded: rows older than KEPT are deleted in the same transaction, at most once a PRUNE_EVERY
of refusal time per process, so a flood of refusals costs one indexed range delete a minute,
not one per row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.store.database import Database
from gateway.app.refusals import KEPT, Refusal, RefusalSummary
from gateway.times import from_us, to_us

#: How often (in refusal time) expired rows are looked for.
PRUNE_EVERY = timedelta(minutes=1)


class SqlRefusalLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        q = db.sql
        self._insert = q(
            "INSERT INTO refused_messages (partner, refused_at, reason, status) VALUES (?, ?, ?, ?)"
        )
        self._prune = q("DELETE FROM refused_messages WHERE refused_at < ?")
        self._count = q(
            "SELECT COUNT(*) FROM refused_messages WHERE partner = ? AND refused_at >= ?"
        )
        self._last = q(
            "SELECT refused_at, reason, status FROM refused_messages "
            "WHERE partner = ? AND refused_at >= ? ORDER BY refused_at DESC, id DESC LIMIT 1"
        )
        #: When expired rows were last deleted (refusal time); None: not yet by this process.
        self._pruned_at: datetime | None = None

    def record(self, refusal: Refusal) -> None:
        at = refusal.refused_at
        prune = self._pruned_at is None or at - self._pruned_at >= PRUNE_EVERY
        with self._db.pooled_transaction() as cur:
            cur.execute(self._insert, (refusal.partner, to_us(at), refusal.reason, refusal.status))
            if prune:
                cur.execute(self._prune, (to_us(at - KEPT),))
        if prune:
            self._pruned_at = at  # a race between threads costs one extra delete at most

    def summary(self, partner: str, since: datetime, kept_since: datetime) -> RefusalSummary:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._count, (partner, to_us(since)))
            (count,) = cur.fetchone()
            cur.execute(self._last, (partner, to_us(kept_since)))
            row = cur.fetchone()
        last = None if row is None else Refusal(partner, from_us(int(row[0])), row[1], row[2])
        return RefusalSummary(int(count), last)
