"""Driver errors decided at the edge, on SQLite and on PostgreSQL: each test provokes a real
error from the real driver on a real database, checks that the dialect translates it (it is one
of ``dialect.errors``) and whether a retry may succeed (``dialect.is_transient``)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.store.dialects import Connection, Dialect, from_url


@pytest.fixture(scope="module")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """One throwaway database for this module, dropped afterwards."""
    name = f"aeo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Db:
    """A dialect on a real database, a fresh table (id BIGINT PRIMARY KEY, n BIGINT, s TEXT)
    holding ids 1 and 2, and every connection the test opened, closed afterwards."""

    dialect: Dialect
    table: str
    sqlite_file: Path | None
    opened: list[Connection] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dialect.name

    def connect(self) -> Connection:
        conn = self.dialect.connect()
        self.opened.append(conn)
        return conn

    def fails(self, action: Callable[[], object]) -> BaseException:
        """The error ``action`` raises, which must be one the dialect translates."""
        with pytest.raises(self.dialect.errors) as info:
            action()
        return info.value


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    sqlite_file = tmp_path / "db" / "store.db" if request.param == "sqlite" else None
    url = (
        f"sqlite:///{sqlite_file}" if sqlite_file else request.getfixturevalue("postgres_database")
    )
    db = Db(from_url(url), f"t_{uuid.uuid4().hex[:12]}", sqlite_file)
    setup = db.connect()
    setup.execute(f"CREATE TABLE {db.table} (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, s TEXT)")
    setup.execute(f"INSERT INTO {db.table} (id, n) VALUES (1, 0), (2, 0)")
    yield db
    for conn in db.opened:
        conn.close()


def what(exc: BaseException) -> str:
    """The driver's name for an error: SQLite's result code, PostgreSQL's SQLSTATE, else the
    class (an error raised before the database saw the statement)."""
    name = getattr(exc, "sqlite_errorname", None) or getattr(exc, "sqlstate", None)
    return str(name) if name else type(exc).__name__


# --- final: a retry would fail the same way -----------------------------------------------------


def test_a_syntax_error_is_final(db: Db) -> None:
    """Given a misspelt SELECT. Result: SQLITE_ERROR / 42601, final."""
    exc = db.fails(lambda: db.connect().execute("SELEC 1"))
    assert what(exc) == {"sqlite": "SQLITE_ERROR", "postgresql": "42601"}[db.name]
    assert not db.dialect.is_transient(exc)


def test_a_duplicate_primary_key_is_final(db: Db) -> None:
    """Given an insert of an id already present. Result: a primary key violation, final."""
    insert = db.dialect.sql(f"INSERT INTO {db.table} (id, n) VALUES (?, ?)")
    exc = db.fails(lambda: db.connect().execute(insert, (1, 0)))
    assert what(exc) == {"sqlite": "SQLITE_CONSTRAINT_PRIMARYKEY", "postgresql": "23505"}[db.name]
    assert not db.dialect.is_transient(exc)


def test_an_integer_of_two_to_the_63_for_a_bigint_column_is_final(db: Db) -> None:
    """Given 2**63 bound for a BIGINT column. Result: final; sqlite3 refuses to bind it
    (OverflowError), psycopg sends it as NUMERIC and the server answers 22003 out of range."""
    insert = db.dialect.sql(f"INSERT INTO {db.table} (id, n) VALUES (?, ?)")
    exc = db.fails(lambda: db.connect().execute(insert, (3, 2**63)))
    assert what(exc) == {"sqlite": "OverflowError", "postgresql": "22003"}[db.name]
    assert not db.dialect.is_transient(exc)


def test_a_nul_byte_in_text_is_final_on_postgresql_and_kept_intact_on_sqlite(db: Db) -> None:
    """Given 'a\\0b' for a TEXT column. Result: PostgreSQL text cannot hold NUL, so psycopg
    refuses it before sending (DataError), final; SQLite stores it and reads it back whole."""
    conn = db.connect()
    insert = db.dialect.sql(f"INSERT INTO {db.table} (id, n, s) VALUES (?, ?, ?)")
    if db.name == "postgresql":
        exc = db.fails(lambda: conn.execute(insert, (3, 0, "a\x00b")))
        assert isinstance(exc, psycopg.DataError)
        assert "NUL" in str(exc)
        assert not db.dialect.is_transient(exc)
        return
    conn.execute(insert, (3, 0, "a\x00b"))
    assert conn.execute(f"SELECT s FROM {db.table} WHERE id = 3").fetchone() == ("a\x00b",)


def test_a_lone_surrogate_in_text_is_final(db: Db) -> None:
    """Given a str holding a lone surrogate, which UTF-8 cannot encode. Result: both drivers
    raise UnicodeEncodeError before the database sees it, translated and final."""
    insert = db.dialect.sql(f"INSERT INTO {db.table} (id, n, s) VALUES (?, ?, ?)")
    exc = db.fails(lambda: db.connect().execute(insert, (3, 0, "\ud800")))
    assert isinstance(exc, UnicodeEncodeError)
    assert not db.dialect.is_transient(exc)


def test_a_statement_beyond_the_databases_limits_is_final(db: Db) -> None:
    """Given a function call with 40,000 arguments. Result: SQLITE_ERROR / 54023 (which
    psycopg files under OperationalError), final either way."""
    exc = db.fails(lambda: db.connect().execute(f"SELECT max({', '.join(['1'] * 40_000)})"))
    assert what(exc) == {"sqlite": "SQLITE_ERROR", "postgresql": "54023"}[db.name]
    assert not db.dialect.is_transient(exc)


# --- transient: the same work may succeed when retried ------------------------------------------


def test_a_writer_kept_waiting_by_another_writers_lock_is_transient(db: Db) -> None:
    """Given one connection in a write transaction and a second, with a 50 ms wait, taking the
    same lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the same row). Result: SQLITE_BUSY /
    55P03 lock not available, transient."""
    holder, waiter = db.connect(), db.connect()
    update = f"UPDATE {db.table} SET n = n + 1 WHERE id = 1"
    holder.execute(db.dialect.begin)
    holder.execute(update)
    if db.name == "sqlite":
        waiter.execute("PRAGMA busy_timeout = 50")
        exc = db.fails(lambda: waiter.execute("BEGIN IMMEDIATE"))
    else:
        waiter.execute("SET lock_timeout = '50ms'")
        exc = db.fails(lambda: waiter.execute(update))
    assert what(exc) == {"sqlite": "SQLITE_BUSY", "postgresql": "55P03"}[db.name]
    assert db.dialect.is_transient(exc)


def test_a_write_that_conflicts_with_a_concurrent_commit_is_transient(db: Db) -> None:
    """Given a snapshot transaction that read row 1, then another connection updated and
    committed row 1, then the first updates it. Result: SQLITE_BUSY_SNAPSHOT (an extended
    code of BUSY) / 40001 serialization failure, transient."""
    first, second = db.connect(), db.connect()
    update = f"UPDATE {db.table} SET n = n + 1 WHERE id = 1"
    first.execute(
        {"sqlite": "BEGIN", "postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ"}[db.name]
    )
    first.execute(f"SELECT n FROM {db.table} WHERE id = 1").fetchall()
    second.execute(update)
    exc = db.fails(lambda: first.execute(update))
    assert what(exc) == {"sqlite": "SQLITE_BUSY_SNAPSHOT", "postgresql": "40001"}[db.name]
    assert db.dialect.is_transient(exc)


def _sqlite_deadlock(db: Db) -> BaseException:
    """Both read, one writes, the other then writes: waiting could never succeed, so SQLite
    answers BUSY at once instead of calling the busy handler."""
    first, second = db.connect(), db.connect()
    for conn in (first, second):
        conn.execute("BEGIN")
        conn.execute(f"SELECT n FROM {db.table}").fetchall()
    first.execute(f"UPDATE {db.table} SET n = n + 1 WHERE id = 1")
    return db.fails(lambda: second.execute(f"UPDATE {db.table} SET n = n + 1 WHERE id = 2"))


def _postgres_deadlock(db: Db) -> BaseException:
    """Each locks one row, then both ask for the other's, concurrently. PostgreSQL aborts one
    of the two (whichever's deadlock check finds the cycle) and the other proceeds."""
    first, second = db.connect(), db.connect()
    for conn, row in ((first, 1), (second, 2)):
        conn.execute("SET deadlock_timeout = '10ms'")
        conn.execute("BEGIN")
        conn.execute(f"UPDATE {db.table} SET n = n + 1 WHERE id = {row}")
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(conn.execute, f"UPDATE {db.table} SET n = n + 1 WHERE id = {row}")
            for conn, row in ((first, 2), (second, 1))
        ]
    failures = [exc for exc in (f.exception() for f in futures) if exc is not None]
    assert len(failures) == 1
    assert isinstance(failures[0], db.dialect.errors)
    return failures[0]


def test_a_deadlock_between_two_transactions_is_transient(db: Db) -> None:
    """Given two transactions, each waiting for what the other holds. Result: one is refused,
    SQLITE_BUSY / 40P01 deadlock detected, transient."""
    exc = {"sqlite": _sqlite_deadlock, "postgresql": _postgres_deadlock}[db.name](db)
    assert what(exc) == {"sqlite": "SQLITE_BUSY", "postgresql": "40P01"}[db.name]
    assert db.dialect.is_transient(exc)


def test_a_lost_database_is_transient(db: Db) -> None:
    """Given the database gone from under the store (PostgreSQL: the server ends the
    connection's backend, then the connection is used twice; SQLite: the database's directory
    is removed, then a connection is opened). Result: 57P01 admin shutdown (or, should the
    server's farewell be lost, no SQLSTATE) and then "the connection is closed" with no
    SQLSTATE / SQLITE_CANTOPEN, all transient."""
    if db.sqlite_file is not None:
        shutil.rmtree(db.sqlite_file.parent)
        exc = db.fails(db.connect)
        assert what(exc) == "SQLITE_CANTOPEN"
        assert db.dialect.is_transient(exc)
        return
    victim = db.connect()
    pid: Any = victim.execute("SELECT pg_backend_pid()").fetchone()[0]
    assert db.connect().execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()[0]
    farewell = db.fails(lambda: victim.execute("SELECT 1"))
    assert what(farewell) in ("57P01", "OperationalError")
    assert db.dialect.is_transient(farewell)
    closed = db.fails(lambda: victim.execute("SELECT 1"))
    assert what(closed) == "OperationalError"
    assert db.dialect.is_transient(closed)
