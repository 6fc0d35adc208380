"""The SQL store as the composition root sees it: its parts, started and stopped together."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.store.checkpoints import Checkpointer
from adapters.store.database import Database
from adapters.store.dialects import from_url
from adapters.store.group_commit import GroupCommitter
from adapters.store.queries import SqlReader
from adapters.store.schema import migrate


@dataclass
class SqlStore:
    database: Database
    reader: SqlReader
    transactions: GroupCommitter
    checkpointer: Checkpointer

    @classmethod
    def open(cls, url: str, read_pool_size: int = 8) -> SqlStore:
        database = Database(from_url(url), read_pool_size)
        return cls(database, SqlReader(database), GroupCommitter(database), Checkpointer(database))

    def migrate(self) -> list[int]:
        with self.database.translated():
            return migrate(self.database)

    def start(self) -> None:
        self.transactions.start()
        self.checkpointer.start()

    def stop(self) -> None:
        """Commits what is queued, then closes every connection."""
        self.transactions.stop()
        self.checkpointer.stop()
        self.database.close()
