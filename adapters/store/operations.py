"""What operations read of the store: whether it answers, which migrations are applied (without
applying any), and when each partner was last heard from. Each is one cheap statement."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from adapters.store.database import Database
from gateway.times import from_us


def known_migrations() -> list[int]:
    """The versions of the migrations this build carries, in order."""
    folder = resources.files("adapters.store") / "migrations"
    return sorted(
        int(item.name.split("_", 1)[0]) for item in folder.iterdir() if item.name.endswith(".sql")
    )


class SqlOperations:
    def __init__(self, db: Database) -> None:
        self._db = db

    def probe(self) -> None:
        """One round trip; raises StoreUnavailable (or StoreRejected) when the store does not
        answer. The caller reports the outage."""
        with self._db.reading(report_outage=False) as conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchone()

    def pending_migrations(self) -> list[int]:
        """The migrations this build carries that the database has not applied; all of them
        when it has none. Reads only: nothing is applied, no lock is taken."""
        exists = (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            if self._db.dialect.name == "sqlite"
            else "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        )
        with self._db.reading(report_outage=False) as conn:
            cur = conn.cursor()
            cur.execute(exists)
            (found,) = cur.fetchone()
            done: set[int] = set()
            if found:
                cur.execute("SELECT version FROM schema_migrations")
                done = {int(row[0]) for row in cur.fetchall()}
        return [v for v in known_migrations() if v not in done]

    def last_received(self) -> dict[str, datetime]:
        """When each partner's last message arrived (partners never heard from are absent)."""
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(
                "SELECT partner, last_received_at FROM partner_sequences "
                "WHERE last_received_at IS NOT NULL"
            )
            return {partner: from_us(at) for partner, at in cur.fetchall()}

    def outbox_backlog(self) -> dict[str, tuple[int, datetime | None, int]]:
        """Per partner with anything open: changes queued and not yet settled, when the oldest
        of them was queued, and dead letters. Two grouped statements over the partial indexes
        of what is open (as SqlOutbound.summary reads one partner)."""
        found: dict[str, tuple[int, datetime | None, int]] = {}
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(
                "SELECT partner, COUNT(*), MIN(queued_at) FROM outbox "
                "WHERE message_sequence IS NULL GROUP BY partner"
            )
            unsealed = cur.fetchall()
            cur.execute(
                "SELECT partner, SUM(records), MIN(queued_at), "
                "SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM outbound_messages "
                "WHERE state IN ('sending', 'dead') GROUP BY partner"
            )
            sealed = cur.fetchall()
        for partner, count, first in unsealed:
            found[partner] = (int(count), from_us(first), 0)
        for partner, records, first, dead in sealed:
            count, earlier, _ = found.get(partner, (0, None, 0))
            oldest = from_us(first) if earlier is None else min(earlier, from_us(first))
            found[partner] = (count + int(records or 0), oldest, int(dead or 0))
        return found
