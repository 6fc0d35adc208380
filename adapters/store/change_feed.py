"""The change log as the change feed reads it: pages after a cursor, and the newest cursor."""

from __future__ import annotations

from adapters.store.database import Database
from adapters.store.queries import SqlReader
from gateway.domain.events import Change


class SqlChangeFeed:
    def __init__(self, db: Database, reader: SqlReader) -> None:
        self._db = db
        self._reader = reader
        self._newest = db.sql("SELECT MAX(cursor) FROM changes")

    def changes_after(self, cursor: int, limit: int) -> list[Change]:
        return self._reader.changes_after(cursor, limit)

    def newest_cursor(self) -> int:
        with self._db.reading() as conn:
            row = conn.execute(self._newest).fetchone()
        return int(row[0]) if row and row[0] is not None else 0
