"""SQLite WAL checkpoints in the background, not inside a commit where they would stall every
waiting request. Nothing to do on PostgreSQL."""

from __future__ import annotations

import logging
import threading

from adapters.store.database import Database
from gateway.domain.errors import GatewayError

log = logging.getLogger(__name__)


def checkpoint(db: Database) -> int:
    """Copies committed WAL pages into the database file without blocking writers; returns the
    pages checkpointed (0 where the database has no such step)."""
    if db.dialect.checkpoint is None:
        return 0
    with db.reading() as conn:
        _, _, done = conn.execute(db.dialect.checkpoint).fetchone()
    return int(done)


class Checkpointer:
    def __init__(self, db: Database, interval: float = 2.0) -> None:
        self._db = db
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._db.dialect.checkpoint is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                checkpoint(self._db)
            except GatewayError:
                log.warning("background checkpoint failed; retrying", exc_info=True)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
