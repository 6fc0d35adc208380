"""Versioned migrations: each file in migrations/ is applied once, in order.

Every pending migration is applied in one transaction that first takes the database's write
lock (BEGIN IMMEDIATE on SQLite; an advisory lock on PostgreSQL, see Dialect.migration_lock).
Instances starting together on one database therefore migrate one after another: the first
applies what is pending, the others wait, then find it applied and apply nothing. Nothing is
read before the lock is held, not even whether schema_migrations exists, and a failed migration
leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources

from adapters.store.database import Database
from gateway.times import to_us


def migrate(db: Database) -> list[int]:
    """Applies pending migrations in order; returns the versions applied."""
    applied: list[int] = []
    dialect = db.dialect
    with db.reading(report_outage=False) as conn:  # the operator running it is shown it
        cur = conn.cursor()
        cur.execute(dialect.begin)
        try:
            if dialect.migration_lock:
                cur.execute(dialect.migration_lock)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            folder = resources.files("adapters.store") / "migrations"
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if not item.name.endswith(".sql"):
                    continue
                version = int(item.name.split("_", 1)[0])
                if version in done:
                    continue
                script = item.read_text().format(
                    blob=dialect.blob,
                    without_rowid=dialect.without_rowid,
                    serial=dialect.serial_key,
                )
                for statement in _statements(script):
                    cur.execute(statement)
                cur.execute(
                    db.sql("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"),
                    (version, to_us(datetime.now(UTC))),
                )
                applied.append(version)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    return applied


def _statements(script: str) -> Iterator[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement
