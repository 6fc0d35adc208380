"""Retention in the store (migration 0011): raw message bytes older than their partner's
retention are emptied, in bounded batches, each its own short transaction.

Purged: received messages' payload and signature (messages), partners' outcome reports'
payload and signature (outcome_reports), and sealed messages' payload, signature and the
partner's receipt bytes (outbound_messages, settled only: a message still being sent keeps
its bytes, since a resend must be byte for byte the same, and so does a dead letter, which
was never settled: it must stay re-drivable, or the partner keeps a permanent gap in the
gateway's sequence). Kept: digests,
sequences, message ids, key ids, algorithms, times, the gateway's own receipts of received
messages (a late duplicate is still answered with it) and every audit_* table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.store.database import Database
from gateway.app.retention import Purged
from gateway.times import to_us

#: Rows emptied per transaction: short enough never to hold the write lock for long.
BATCH = 500

_RECEIVED = (
    "FROM messages WHERE partner = ? AND purged_at IS NULL AND received_at < ?",
    "UPDATE messages SET payload = ?, signature = ?, purged_at = ? WHERE partner = ? "
    "AND purged_at IS NULL AND digest IN (SELECT digest FROM messages WHERE partner = ? "
    "AND purged_at IS NULL AND received_at < ? LIMIT ?)",
)
_REPORTS = (
    "FROM outcome_reports WHERE reporter = ? AND purged_at IS NULL AND received_at < ?",
    "UPDATE outcome_reports SET payload = ?, signature = ?, purged_at = ? WHERE reporter = ? "
    "AND purged_at IS NULL AND digest IN (SELECT digest FROM outcome_reports WHERE "
    "reporter = ? AND purged_at IS NULL AND received_at < ? LIMIT ?)",
)
_SENT_WHERE = "partner = ? AND purged_at IS NULL AND state = 'settled' AND settled_at < ?"
_SENT = (
    f"FROM outbound_messages WHERE {_SENT_WHERE}",
    "UPDATE outbound_messages SET payload = ?, signature = ?, "
    "receipt = CASE WHEN receipt IS NULL THEN NULL ELSE ? END, "
    "receipt_signature = CASE WHEN receipt_signature IS NULL THEN NULL ELSE ? END, "
    "purged_at = ? WHERE partner = ? AND purged_at IS NULL AND state = 'settled' "
    f"AND sequence IN (SELECT sequence FROM outbound_messages WHERE {_SENT_WHERE} LIMIT ?)",
)


class SqlRetention:
    def __init__(self, db: Database, batch: int = BATCH) -> None:
        self._db = db
        self._batch = batch

    def _count(self, where: str, partner: str, cutoff: datetime) -> int:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.sql(f"SELECT COUNT(*) {where}"), (partner, to_us(cutoff)))
            return int(cur.fetchone()[0])

    def _empty(self, update: str, params: tuple[Any, ...]) -> int:
        """Runs ``update`` batch after batch until a batch finds fewer rows than it may."""
        total = 0
        while True:
            with self._db.pooled_transaction() as cur:
                cur.execute(self._db.sql(update), (*params, self._batch))
                done = int(cur.rowcount)
            total += done
            if done < self._batch:
                return total

    def purge(self, partner: str, cutoff: datetime, now: datetime, dry_run: bool) -> Purged:
        """Empties what was exchanged with ``partner`` before ``cutoff`` (received, or settled
        for what was sent: dead letters are never purged); with ``dry_run``, only counts it."""
        if dry_run:
            return Purged(
                partner,
                self._count(_RECEIVED[0], partner, cutoff),
                self._count(_SENT[0], partner, cutoff),
                self._count(_REPORTS[0], partner, cutoff),
            )
        at, before, empty = to_us(now), to_us(cutoff), b""
        received = self._empty(_RECEIVED[1], (empty, empty, at, partner, partner, before))
        sent = self._empty(_SENT[1], (empty, empty, empty, empty, at, partner, partner, before))
        reports = self._empty(_REPORTS[1], (empty, empty, at, partner, partner, before))
        return Purged(partner, received, sent, reports)
