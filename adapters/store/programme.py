"""Programme states in the store (migration 0006): recorded with their change-log event in one
transaction, and read back for every recognition from memory.

Programme decisions are rare administrative acts, so they are written in a transaction of their
own rather than through the group committer; the change-log lock is taken as the group
committer takes it, so their cursors follow commit order too.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from adapters.store import tables
from adapters.store.database import Database, report
from gateway.domain.errors import StoreUnavailable
from gateway.domain.events import ProgrammeStateChanged
from gateway.domain.programme import ProgrammeEntry

log = logging.getLogger(__name__)

#: How long the entries in memory are used before they are read again: another replica's
#: decision shows here within this time; this replica's own at once.
REFRESH_SECONDS = 1.0
#: While the store is unavailable, how long the entries in memory are used before the next try:
#: recognition does not wait on a dead store at every call.
OUTAGE_RETRY_SECONDS = 5.0


class SqlProgrammeStates:
    def __init__(self, db: Database, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._db = db
        self._refresh_seconds = refresh_seconds
        self._by_partner: Mapping[str, tuple[ProgrammeEntry, ...]] = {}
        self._loaded_at: float | None = None
        self._loading = threading.Lock()
        self._outage = False  # a refresh failed and none has succeeded since: logged once
        q = db.sql
        self._select = q(
            f"SELECT {tables.columns(tables.PROGRAMME_COLUMNS)} FROM programme_states ORDER BY id"
        )
        self._insert = q(
            tables.insert("programme_states", ("entry_id", *tables.PROGRAMME_COLUMNS))
            + " ON CONFLICT (entry_id) DO NOTHING"
        )
        self._insert_change = q(tables.insert("changes", tables.CHANGE_COLUMNS))

    def record(self, entry: ProgrammeEntry) -> None:
        """Stores ``entry`` and its ProgrammeStateChanged event together; durable on return."""
        self._write(*self._rows(entry))
        try:
            self._load()  # this replica answers by the new state at once
        except StoreUnavailable:
            # Recorded all the same; the entries are read again at the next refresh.
            log.warning("programme state recorded but not read back: the store is unavailable")

    @staticmethod
    def _rows(entry: ProgrammeEntry) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The entry's row, under an id of its own, and its change event's row: made once, so
        every attempt to write them writes the same."""
        row = (uuid.uuid4().hex, *tables.programme_row(entry))
        change = (int(time.time() * 1_000_000), *tables.change_row(ProgrammeStateChanged(entry)))
        return row, change

    @retry(
        retry=retry_if_exception_type(StoreUnavailable),
        stop=stop_after_attempt(3),
        wait=wait_random_exponential(0.05, 1),
        reraise=True,
    )
    def _write(self, row: tuple[Any, ...], change: tuple[Any, ...]) -> None:
        """One transaction; retried whole. An attempt after a commit whose answer was lost
        finds the entry's id taken and writes nothing, its change event included."""
        dialect = self._db.dialect
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(dialect.begin)
            try:
                cur.execute(self._insert, row)
                if cur.rowcount == 1:
                    if dialect.change_log_lock:
                        cur.execute(dialect.change_log_lock)
                    cur.execute(self._insert_change, change)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def entries(self, partner: str) -> tuple[ProgrammeEntry, ...]:
        """The partner's entries in the order recorded, at most REFRESH_SECONDS old. On the
        recognition hot path: a dictionary lookup, and a read once a second."""
        loaded = self._loaded_at
        if loaded is None or time.monotonic() - loaded >= self._refresh_seconds:
            self._refresh()
        return self._by_partner.get(partner, ())

    def _refresh(self) -> None:
        if not self._loading.acquire(blocking=self._loaded_at is None):
            return  # another thread reads them; these are at most a second old
        try:
            self._load(locked=True)
        except StoreUnavailable as error:
            if self._loaded_at is None:
                report(error)  # nothing to answer by: the caller gets the outage
                raise
            # Try again in a few seconds, not at every recognition; say so once per outage.
            self._loaded_at = time.monotonic() - self._refresh_seconds + OUTAGE_RETRY_SECONDS
            if not self._outage:
                self._outage = True
                log.warning(
                    "programme states not refreshed: the store is unavailable (%r); the ones in "
                    "memory are used, retrying every %.0f s",
                    error.__cause__,
                    OUTAGE_RETRY_SECONDS,
                )
        finally:
            self._loading.release()

    def _load(self, locked: bool = False) -> None:
        if not locked:
            with self._loading:
                self._load(locked=True)
            return
        started = time.monotonic()
        with self._db.reading(report_outage=False) as conn:
            rows = conn.execute(self._select).fetchall()
        found: dict[str, list[ProgrammeEntry]] = {}
        for row in rows:
            entry = tables.programme_entry(row)
            found.setdefault(entry.partner, []).append(entry)
        self._by_partner = {p: tuple(e) for p, e in found.items()}
        self._loaded_at = started
        if self._outage:
            self._outage = False
            log.warning("programme states refreshed again: the store is back")
