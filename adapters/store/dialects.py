"""What differs between SQLite and PostgreSQL, and nothing else."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import psycopg


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
    #: Exceptions that mean "the database is unreachable or busy": worth a retry.
    transient: tuple[type[Exception], ...]
    #: Every exception the driver raises, translated at the store's edge.
    errors: tuple[type[Exception], ...]
    #: Statement that moves committed pages home without blocking writers (SQLite WAL only).
    checkpoint: str | None = None
    #: Suffix that locks selected rows until commit ("" where BEGIN IMMEDIATE already
    #: serialises writers, as in SQLite).
    row_lock: str = ""

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


def _sqlite_connect(path: Path) -> Callable[[], Connection]:
    def connect() -> Connection:
        # Autocommit mode: transactions are explicit BEGIN IMMEDIATE ... COMMIT.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the receipt goes out (acknowledged means durable).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run in the background (SqlStore.start_checkpoints), not inside a commit
        # where they would stall every waiting request; this bound is only a safety net.
        conn.execute("PRAGMA wal_autocheckpoint=20000")
        return conn

    return connect


def _postgres_connect(url: str) -> Callable[[], Connection]:
    def connect() -> Connection:
        return psycopg.connect(url, autocommit=True)

    return connect


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
            transient=(sqlite3.OperationalError,),
            errors=(sqlite3.Error,),
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
            transient=(psycopg.OperationalError,),
            errors=(psycopg.Error,),
            row_lock=" FOR UPDATE",
        )
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} (sqlite or postgresql)")
