"""What differs between SQLite and PostgreSQL, and nothing else."""

from __future__ import annotations

import select
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import psycopg
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random


class Cursor(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    name: str
    connect: Callable[[], Connection]
    placeholder: str
    blob: str
    without_rowid: str
    begin: str
    #: Every exception the driver raises, translated at the store's edge.
    errors: tuple[type[BaseException], ...]
    #: The dialect's half of is_transient().
    _transient: Callable[[BaseException], bool]
    #: Statement that moves committed pages home without blocking writers (SQLite WAL only).
    checkpoint: str | None = None
    #: Suffix that locks selected rows until commit ("" where BEGIN IMMEDIATE already
    #: serialises writers, as in SQLite).
    row_lock: str = ""
    #: Column definition of an ever-increasing integer primary key (the change log's cursor).
    #: On SQLite a rowid alias: the change log is never deleted from, so each new row is above
    #: every earlier one, without AUTOINCREMENT's extra write per row.
    serial_key: str = "INTEGER PRIMARY KEY"
    #: Statement taken before appending to the change log, so cursors follow commit order
    #: across concurrent writers (None where BEGIN IMMEDIATE already serialises them).
    change_log_lock: str | None = None
    #: Statement taken first in the migration transaction, so instances starting together
    #: migrate one after another (None where BEGIN IMMEDIATE already serialises them).
    migration_lock: str | None = None
    #: A subquery of the texts of one bound JSON array, so that a set of any size (a
    #: snapshot's operators) is one parameter of one statement.
    json_texts: str = "SELECT value FROM json_each(?)"
    #: Refreshes the planner's statistics of record_absences after a snapshot opened many
    #: absences at once (None where the planner needs none: SQLite plans by its indexes).
    #: Without it PostgreSQL plans the next statements for the table's old size, until
    #: autovacuum catches up, with nested loops that scan every absence per operator.
    analyze_absences: str | None = None
    #: Starts a read-only transaction whose statements all see one snapshot of the database
    #: (SQLite's deferred BEGIN does once it reads; PostgreSQL needs REPEATABLE READ).
    begin_read: str = "BEGIN"
    #: Whether an idle pooled connection may still be used (see _postgres_idle_alive).
    idle_alive: Callable[[Any], bool] = lambda conn: True

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def is_transient(self, exc: BaseException) -> bool:
        """Whether the same work may succeed if retried: the database was busy, locked, out of
        room or unreachable. False for what a retry repeats: constraints, syntax, data that
        does not fit, misuse of the driver."""
        return self._transient(exc)


# Primary result codes (the low byte of an extended code such as SQLITE_BUSY_SNAPSHOT) that
# report a state of the database or its host, not of the statement. SQLITE_NOMEM is here for
# completeness: CPython's sqlite3 raises MemoryError for it.
_SQLITE_TRANSIENT_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)


def _sqlite_transient(exc: BaseException) -> bool:
    """By result code, not class: sqlite3.OperationalError covers both "database is locked"
    and syntax errors. Errors from the module itself (closed connection, bad binding) have no
    code and are final."""
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    return code is not None and (code & 0xFF) in _SQLITE_TRANSIENT_CODES


# SQLSTATEs that report a state of the server or the connection, not of the statement:
# connection exception, insufficient resources, operator intervention (admin shutdown, query
# cancelled); serialization failure, deadlock, completion unknown, lock not available, object in
# use, I/O error.
_PG_TRANSIENT_CLASSES = frozenset({"08", "53", "57"})
_PG_TRANSIENT_STATES = frozenset({"40001", "40P01", "40003", "55P03", "55006", "58000", "58030"})


def _postgres_transient(exc: BaseException) -> bool:
    """By SQLSTATE within OperationalError, because psycopg files final errors there too
    (28 authorisation, 54 program limit exceeded, 3B savepoint, 38/39 routine errors). No
    SQLSTATE means psycopg itself found the connection closed, broken or timed out. Its
    InterfaceError means misuse (closed cursor, no dumper): final."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT_STATES


# Keys of the transaction-scoped advisory locks the gateway takes on PostgreSQL: arbitrary
# constants, one per purpose, in the one key space every session of the database shares. An
# operator seeing them in pg_locks (classid 0, objid the key) knows who holds what.
CHANGE_LOG_LOCK_KEY = 4242001
MIGRATION_LOCK_KEY = 4242002


@retry(
    retry=retry_if_exception(
        lambda e: isinstance(e, sqlite3.OperationalError) and "locked" in str(e)
    ),
    stop=stop_after_delay(30),
    wait=wait_random(0.01, 0.05),
    reraise=True,
)
def _wal(conn: sqlite3.Connection) -> None:
    """Switching a new file to WAL needs the file to itself, and SQLite answers "locked" at once
    rather than calling the busy handler: instances opening one new file together wait here."""
    conn.execute("PRAGMA journal_mode=WAL")


def _sqlite_connect(path: Path) -> Callable[[], Connection]:
    def connect() -> Connection:
        # Autocommit mode: transactions are explicit BEGIN IMMEDIATE ... COMMIT. timeout is the
        # busy timeout: a writer that finds another (a thread, or another process on the same
        # file, such as a second instance migrating) waits up to 30 s instead of failing.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        _wal(conn)
        # FULL: a commit is on disk before the receipt goes out (acknowledged means durable).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run in the background (adapters.store.checkpoints), not inside a commit
        # where they would stall every waiting request; this bound is only a safety net.
        conn.execute("PRAGMA wal_autocheckpoint=20000")
        return conn

    return connect


def _postgres_connect(url: str) -> Callable[[], Connection]:
    def connect() -> Connection:
        return psycopg.connect(url, autocommit=True)

    return connect


def _postgres_idle_alive(conn: Any) -> bool:
    """An idle connection has nothing to read: if its socket is readable, the server has closed
    it (a restart sends a termination notice, then FIN) and the next query would fail. Checked
    without a round trip, so a restart costs no query an answer."""
    if conn.closed:
        return False
    try:
        poller = select.poll()  # not select.select: it fails for descriptors above 1023
        poller.register(conn.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.Error):
        return False


def from_url(url: str) -> Dialect:
    """``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or ``postgresql://...``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return Dialect(
            name="sqlite",
            connect=_sqlite_connect(path),
            placeholder="?",
            blob="BLOB",
            without_rowid=" WITHOUT ROWID",
            begin="BEGIN IMMEDIATE",
            # Binding raises OverflowError for an int outside 64 bits and UnicodeEncodeError for
            # a str with a lone surrogate, before SQLite sees either.
            errors=(sqlite3.Error, OverflowError, UnicodeEncodeError),
            _transient=_sqlite_transient,
            checkpoint="PRAGMA wal_checkpoint(PASSIVE)",
        )
    if parsed.scheme in ("postgresql", "postgres"):
        return Dialect(
            name="postgresql",
            connect=_postgres_connect(url),
            placeholder="%s",
            blob="BYTEA",
            without_rowid="",
            begin="BEGIN",
            # A str with a lone surrogate fails to encode before psycopg sends it. Huge ints do
            # not escape: psycopg sends them as NUMERIC and the server answers 22003 (DataError).
            errors=(psycopg.Error, UnicodeEncodeError),
            _transient=_postgres_transient,
            row_lock=" FOR UPDATE",
            serial_key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            change_log_lock=f"SELECT pg_advisory_xact_lock({CHANGE_LOG_LOCK_KEY})",
            # Without it, two instances creating schema_migrations at once collide in the
            # catalog (UniqueViolation on pg_type), or both apply the same migration.
            migration_lock=f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})",
            idle_alive=_postgres_idle_alive,
            json_texts="SELECT jsonb_array_elements_text(CAST(? AS jsonb))",
            begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            analyze_absences="ANALYZE record_absences",
        )
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} (sqlite or postgresql)")
