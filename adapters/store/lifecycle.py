"""Partner lifecycles and Admin-defined partners in the store (migration 0009).

Lifecycle events are rare administrative acts and test results, written in a transaction of
their own (as programme decisions are) and read back for every status message from memory,
refreshed once a second so another replica's step shows here within a second. A refresh reads
only the rows after the last one read: each insert takes the change-log lock (as programme
decisions do), so ids follow commit order and no row commits below one already read.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from adapters.store.database import Database
from gateway.domain.errors import StoreUnavailable
from gateway.domain.lifecycle import (
    Direction,
    EventKind,
    LifecycleEvent,
    LifecycleState,
    PartnerDefinition,
)
from gateway.times import from_us, to_us

log = logging.getLogger(__name__)

#: How long the events in memory are used before they are read again.
REFRESH_SECONDS = 1.0

_COLUMNS = (
    "partner", "kind", "state", "actor", "reason", "at", "direction", "passed", "detail",
)  # fmt: skip


def _row(event: LifecycleEvent) -> tuple[Any, ...]:
    return (
        uuid.uuid4().hex,
        event.partner,
        event.kind.value,
        event.state.value,
        event.actor,
        event.reason,
        to_us(event.at),
        event.direction.value if event.direction is not None else None,
        1 if event.passed else 0,
        event.detail,
    )


def _event(row: Sequence[Any]) -> LifecycleEvent:
    partner, kind, state, actor, reason, at, direction, passed, detail = row
    return LifecycleEvent(
        partner,
        EventKind(kind),
        LifecycleState(state),
        actor,
        reason,
        from_us(at),
        Direction(direction) if direction else None,
        bool(passed),
        detail,
    )


class SqlLifecycles:
    def __init__(self, db: Database, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._db = db
        self._refresh_seconds = refresh_seconds
        self._by_partner: Mapping[str, tuple[LifecycleEvent, ...]] = {}
        self._last_id = 0  # the id of the last row read: a refresh reads the rows after it
        self._loaded_at: float | None = None
        self._loading = threading.Lock()
        q = db.sql
        cols = ", ".join(_COLUMNS)
        self._select = q(f"SELECT id, {cols} FROM partner_lifecycle WHERE id > ? ORDER BY id")
        self._insert = q(
            f"INSERT INTO partner_lifecycle (entry_id, {cols}) VALUES "
            f"({', '.join('?' * (len(_COLUMNS) + 1))}) ON CONFLICT (entry_id) DO NOTHING"
        )
        self._drop_unsealed = q("DELETE FROM outbox WHERE partner = ? AND message_sequence IS NULL")
        self._insert_definition = q(
            "INSERT INTO partner_definitions (partner, definition, actor, recorded_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (partner) DO NOTHING"
        )
        self._insert_attachment = q(
            "INSERT INTO partner_attachments (partner, name, content) VALUES (?, ?, ?)"
        )
        self._select_definitions = q("SELECT partner, definition FROM partner_definitions")
        self._select_attachments = q("SELECT partner, name, content FROM partner_attachments")

    # --- events -----------------------------------------------------------------------------

    def record(self, event: LifecycleEvent) -> None:
        """Stores ``event``; durable on return, and read back by this process at once. A
        retirement takes the partner's changes not yet sealed out of its outbox in the same
        transaction: nothing is sent to a retired partner, and rows left would pile up."""
        retiring = event.partner if event.state is LifecycleState.RETIRED else None
        self._write(_row(event), retiring)
        self._read_back()

    @retry(
        retry=retry_if_exception_type(StoreUnavailable),
        stop=stop_after_attempt(3),
        wait=wait_random_exponential(0.05, 1),
        reraise=True,
    )
    def _write(self, row: tuple[Any, ...], retiring: str | None = None) -> None:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.dialect.begin)
            try:
                self._lock_ids(cur)
                cur.execute(self._insert, row)
                if retiring is not None:
                    cur.execute(self._drop_unsealed, (retiring,))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _lock_ids(self, cur: Any) -> None:
        """Taken before inserting an event, so that ids follow commit order across replicas
        (incremental reads miss no row); SQLite's BEGIN IMMEDIATE serialises writers already."""
        lock = self._db.dialect.change_log_lock
        if lock is not None:
            cur.execute(lock)

    def events(self, partner: str) -> tuple[LifecycleEvent, ...]:
        """The partner's events in the order recorded, at most REFRESH_SECONDS old. On the
        hot path of every status message: a dictionary lookup, and a read once a second by
        one thread while the others answer from memory."""
        loaded = self._loaded_at
        if loaded is None or time.monotonic() - loaded >= self._refresh_seconds:
            self._refresh()
        return self._by_partner.get(partner, ())

    def partners(self) -> tuple[str, ...]:
        """Every partner with at least one event."""
        self.events("")
        return tuple(sorted(self._by_partner))

    def _refresh(self) -> None:
        if not self._loading.acquire(blocking=self._loaded_at is None):
            return  # another thread reads them; these are at most a second old
        try:
            self._load()
        except StoreUnavailable:
            if self._loaded_at is None:
                raise  # nothing to answer by: the caller gets the outage
            log.warning("partner lifecycles not refreshed: the store is unavailable")
            self._loaded_at = time.monotonic()  # the ones in memory, until the next interval
        finally:
            self._loading.release()

    def _read_back(self) -> None:
        """This replica answers by what it just wrote at once (if the store answers)."""
        try:
            with self._loading:
                self._load()
        except StoreUnavailable:
            # Recorded all the same; the events are read again at the next refresh.
            log.warning("partner lifecycle recorded but not read back: the store is unavailable")

    def _load(self) -> None:
        """Reads the rows recorded since the last read (the caller holds ``_loading``)."""
        started = time.monotonic()
        with self._db.reading(report_outage=False) as conn:
            rows = conn.execute(self._select, (self._last_id,)).fetchall()
        if rows:
            found: dict[str, list[LifecycleEvent]] = {}
            for row in rows:
                event = _event(row[1:])
                found.setdefault(event.partner, []).append(event)
            merged = dict(self._by_partner)
            for partner, events in found.items():
                merged[partner] = (*merged.get(partner, ()), *events)
            self._by_partner = merged
            self._last_id = int(rows[-1][0])
        self._loaded_at = started

    # --- definitions created through Admin ---------------------------------------------------

    def add_definition(
        self, definition: PartnerDefinition, actor: str, first: LifecycleEvent
    ) -> bool:
        """Stores the definition, its attachments and its first lifecycle event in one
        transaction; False (nothing written) when a definition of that code exists."""
        dialect = self._db.dialect
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(dialect.begin)
            try:
                cur.execute(
                    self._insert_definition,
                    (definition.partner, definition.text, actor, to_us(first.at)),
                )
                if cur.rowcount != 1:
                    cur.execute("ROLLBACK")
                    return False
                for name, content in sorted(definition.attachments.items()):
                    cur.execute(self._insert_attachment, (definition.partner, name, content))
                self._lock_ids(cur)
                cur.execute(self._insert, _row(first))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        self._read_back()
        return True

    def definitions(self) -> dict[str, PartnerDefinition]:
        """Every stored definition, read now (at a directory load)."""
        with self._db.reading() as conn:
            texts = conn.execute(self._select_definitions).fetchall()
            files = conn.execute(self._select_attachments).fetchall()
        attachments: dict[str, dict[str, bytes]] = {}
        for partner, name, content in files:
            attachments.setdefault(partner, {})[name] = bytes(content)
        return {
            code: PartnerDefinition(code, bytes(text), attachments.get(code, {}))
            for code, text in texts
        }
