"""The gateway's store on SQLite or PostgreSQL: records with full history, messages, sequences.

Reads go through a small pool; writes happen only in transactions opened by the group committer.
Driver exceptions are translated here; none reaches the core.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from adapters.store.dialects import Connection, Dialect
from adapters.store.pool import Pool
from adapters.times import from_us, to_us
from gateway.domain.errors import StoreUnavailable
from gateway.domain.ports import GroupWrites, SealedReceipt, SequenceState, StoredMessage
from gateway.domain.records import (
    AeoRecord,
    MessageMeta,
    RecordStatus,
    StatusEvent,
    StoredRecord,
)

log = logging.getLogger(__name__)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


_RECORD_COLUMNS = (
    "identifier, version, effective_at, status, event, tier, name, address, authorised_from, "
    "valid_until, suspended_on, revoked_on, consent_withdrawn, message_id, sequence, "
    "received_at, key_id, algorithm"
)


_STATUSES = {s.value: s for s in RecordStatus}
_EVENTS = {e.value: e for e in StatusEvent}


def _stored_record(administration: str, row: Any) -> StoredRecord:
    (
        identifier,
        version,
        effective_at,
        status,
        event,
        tier,
        name,
        address,
        authorised_from,
        valid_until,
        suspended_on,
        revoked_on,
        consent,
        message_id,
        sequence,
        received_at,
        key_id,
        algorithm,
    ) = row
    record = AeoRecord(
        identifier=identifier,
        name=name,
        address=address,
        status=_STATUSES[status],
        tier=tier,
        version=version,
        effective_at=from_us(effective_at),
        event=_EVENTS[event],
        authorised_from=_day(authorised_from),
        valid_until=_day(valid_until),
        suspended_on=_day(suspended_on),
        revoked_on=_day(revoked_on),
        consent_withdrawn=bool(consent),
    )
    meta = MessageMeta(message_id, sequence, from_us(received_at), key_id, algorithm)
    return StoredRecord(administration, record, meta)


@dataclass(frozen=True, slots=True)
class PartnerStats:
    last_sequence: int
    gaps: tuple[tuple[int, int], ...]
    messages: int
    operators: int
    last_received_at: datetime | None


class SqlStore:
    def __init__(self, dialect: Dialect, read_pool_size: int = 8) -> None:
        self.dialect = dialect
        self._q = dialect.sql
        # The hot query, built once.
        self._as_of_sql = dialect.sql(
            f"SELECT {_RECORD_COLUMNS} FROM record_versions "
            "WHERE administration = ? AND identifier = ? AND effective_at <= ? "
            "ORDER BY version DESC LIMIT 1"
        )
        self._readers = Pool(dialect.connect, read_pool_size)
        self._writer: Connection | None = None
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Applies pending migrations in order; returns the versions applied."""
        applied: list[int] = []
        with self._guard(), self._readers.connection() as conn:
            cur = conn.cursor()
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
                    blob=self.dialect.blob, without_rowid=self.dialect.without_rowid
                )
                cur.execute(self.dialect.begin)
                try:
                    for statement in _statements(script):
                        cur.execute(statement)
                    cur.execute(
                        self._q("INSERT INTO schema_migrations VALUES (?, ?)"),
                        (version, to_us(datetime.now(UTC))),
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                applied.append(version)
        return applied

    def checkpoint(self) -> int:
        """Copies committed WAL pages into the database file without blocking writers; returns
        the pages checkpointed (0 where the database has no such step)."""
        if self.dialect.checkpoint is None:
            return 0
        with self._guard(), self._readers.connection() as conn:
            _, _, done = conn.execute(self.dialect.checkpoint).fetchone()
        return int(done)

    def start_checkpoints(self, interval: float = 2.0) -> None:
        """Checkpoints every ``interval`` seconds on a background thread until close()."""
        if self.dialect.checkpoint is None or self._checkpointer is not None:
            return

        def run() -> None:
            while not self._closing.wait(interval):
                try:
                    self.checkpoint()
                except StoreUnavailable:
                    log.warning("background checkpoint failed; retrying", exc_info=True)

        self._checkpointer = threading.Thread(target=run, name="checkpoint", daemon=True)
        self._checkpointer.start()

    def close(self) -> None:
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        self._readers.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self.dialect.errors as exc:
            raise StoreUnavailable(f"{self.dialect.name}: {exc}") from exc

    # --- reads ----------------------------------------------------------------------------------

    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        with self._guard(), self._readers.connection() as conn:
            row = conn.execute(self._as_of_sql, (administration, identifier, to_us(at))).fetchone()
        return _stored_record(administration, row) if row else None

    def history(self, administration: str, identifier: str) -> list[StoredRecord]:
        with self._guard(), self._readers.connection() as conn:
            cur = conn.cursor()
            cur.execute(
                self._q(
                    f"SELECT {_RECORD_COLUMNS} FROM record_versions "
                    "WHERE administration = ? AND identifier = ? ORDER BY version"
                ),
                (administration, identifier),
            )
            rows = cur.fetchall()
        return [_stored_record(administration, row) for row in rows]

    def find_receipt(self, partner: str, digest: bytes) -> SealedReceipt | None:
        with self._guard(), self._readers.connection() as conn:
            return SqlTx(conn.cursor(), self._q).find_receipts(partner, [digest]).get(digest)

    def partner_stats(self, partner: str) -> PartnerStats:
        with self._guard(), self._readers.connection() as conn:
            cur = conn.cursor()
            state = _sequence_state(cur, self._q, partner)
            cur.execute(
                self._q("SELECT COUNT(*), MAX(received_at) FROM messages WHERE partner = ?"),
                (partner,),
            )
            messages, last = cur.fetchone()
            cur.execute(
                self._q(
                    "SELECT COUNT(DISTINCT identifier) FROM record_versions "
                    "WHERE administration = ?"
                ),
                (partner,),
            )
            (operators,) = cur.fetchone()
        return PartnerStats(
            state.last,
            state.gaps,
            int(messages),
            int(operators),
            from_us(last) if last is not None else None,
        )

    # --- writes ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SqlTx]:
        """One write transaction on the single writer connection (used by one thread only)."""
        with self._guard():
            if self._writer is None:
                self._writer = self.dialect.connect()
            cur = self._writer.cursor()
            try:
                cur.execute(self.dialect.begin)
                yield SqlTx(cur, self._q, self.dialect.row_lock)
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except self.dialect.errors:
                    # The connection itself is broken: open a fresh one next time.
                    self._writer.close()
                    self._writer = None
                raise


def _statements(script: str) -> Iterator[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement


def _sequence_state(cur: Any, q: Any, partner: str, lock: str = "") -> SequenceState:
    cur.execute(
        q(f"SELECT last_sequence, gaps FROM partner_sequences WHERE partner = ?{lock}"), (partner,)
    )
    row = cur.fetchone()
    if row is None:
        return SequenceState()
    return SequenceState(int(row[0]), tuple((int(a), int(b)) for a, b in json.loads(row[1])))


class SqlTx:
    """The IngestTx port inside one group-commit transaction."""

    def __init__(self, cur: Any, q: Any, lock: str = "") -> None:
        self._cur = cur
        self._q = q
        self._lock = lock

    def _select_in(self, sql: str, partner: str, items: Collection[Any]) -> Iterator[Any]:
        """Rows of ``sql`` with its ``{in}`` list bound to ``items``, in chunks that keep under
        every database's limit on bound parameters."""
        ordered = list(items)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            self._cur.execute(
                self._q(sql.format(**{"in": ", ".join("?" * len(chunk))})), (partner, *chunk)
            )
            yield from self._cur.fetchall()

    def find_receipts(
        self, partner: str, digests: Collection[bytes]
    ) -> Mapping[bytes, SealedReceipt]:
        rows = self._select_in(
            "SELECT digest, receipt, receipt_signature, receipt_key_id, receipt_algorithm "
            "FROM messages WHERE partner = ? AND digest IN ({in})",
            partner,
            digests,
        )
        return {
            bytes(digest): SealedReceipt(bytes(receipt), bytes(signature), key_id, algorithm)
            for digest, receipt, signature, key_id, algorithm in rows
        }

    def sequence_state(self, partner: str) -> SequenceState:
        """The partner's sequence state, locked until commit where the database needs it, so
        that several gateway instances on one PostgreSQL never interleave a partner's messages."""
        if self._lock:
            self._cur.execute(
                self._q(
                    "INSERT INTO partner_sequences (partner, last_sequence, gaps) "
                    "VALUES (?, 0, '[]') ON CONFLICT (partner) DO NOTHING"
                ),
                (partner,),
            )
        return _sequence_state(self._cur, self._q, partner, self._lock)

    def latest_versions(self, partner: str, identifiers: Collection[str]) -> Mapping[str, int]:
        rows = self._select_in(
            "SELECT identifier, MAX(version) FROM record_versions WHERE administration = ? "
            "AND identifier IN ({in}) GROUP BY identifier",
            partner,
            identifiers,
        )
        return {identifier: int(version) for identifier, version in rows}

    def write(self, writes: GroupWrites) -> None:
        if writes.versions:
            self._cur.executemany(
                self._q(
                    f"INSERT INTO record_versions (administration, {_RECORD_COLUMNS}) "
                    f"VALUES ({', '.join('?' * 19)})"
                ),
                [_version_row(partner, r, meta) for partner, r, meta in writes.versions],
            )
        if writes.sequence_states:
            self._cur.executemany(
                self._q(
                    "INSERT INTO partner_sequences (partner, last_sequence, gaps) VALUES (?, ?, ?) "
                    "ON CONFLICT (partner) DO UPDATE SET last_sequence = excluded.last_sequence, "
                    "gaps = excluded.gaps"
                ),
                [
                    (partner, state.last, json.dumps([list(g) for g in state.gaps]))
                    for partner, state in writes.sequence_states.items()
                ],
            )
        if writes.messages:
            self._cur.executemany(
                self._q(f"INSERT INTO messages VALUES ({', '.join('?' * 17)})"),
                [_message_row(m) for m in writes.messages],
            )

    def insert_versions(
        self, partner: str, records: Iterable[AeoRecord], meta: MessageMeta
    ) -> None:
        """Bulk load without a message (benchmarks and migrations of existing registers)."""
        self.write(GroupWrites(versions=[(partner, r, meta) for r in records]))


def _version_row(partner: str, r: AeoRecord, meta: MessageMeta) -> tuple[Any, ...]:
    return (
        partner,
        r.identifier,
        r.version,
        to_us(r.effective_at),
        r.status.value,
        r.event.value,
        r.tier,
        r.name,
        r.address,
        _iso(r.authorised_from),
        _iso(r.valid_until),
        _iso(r.suspended_on),
        _iso(r.revoked_on),
        int(r.consent_withdrawn),
        meta.message_id,
        meta.sequence,
        to_us(meta.received_at),
        meta.key_id,
        meta.algorithm,
    )


def _message_row(m: StoredMessage) -> tuple[Any, ...]:
    return (
        m.partner,
        m.digest,
        m.meta.message_id,
        m.meta.sequence,
        m.kind,
        to_us(m.issued_at),
        to_us(m.meta.received_at),
        m.wire_format,
        m.meta.key_id,
        m.meta.algorithm,
        m.payload,
        m.signature,
        m.peer,
        m.receipt.receipt,
        m.receipt.signature,
        m.receipt.key_id,
        m.receipt.algorithm,
    )
