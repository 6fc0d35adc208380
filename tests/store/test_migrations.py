"""Migrations when several gateway instances start together on one empty database, for real:
separate OS processes, released at the same moment, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib import resources
from pathlib import Path

import psycopg
import pytest

from adapters.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = 8
ROUNDS = 3

#: One instance: opens the store, says it is ready, waits for the word, migrates, prints what
#: it applied. Opening first means every process is past its imports when the word comes.
INSTANCE = """
import json, sys
from adapters.store.sql import SqlStore
store = SqlStore.open(sys.argv[1], read_pool_size=1)
print("ready", flush=True)
sys.stdin.readline()
try:
    print(json.dumps(store.migrate()), flush=True)
finally:
    store.database.close()
"""


def all_versions() -> list[int]:
    folder = resources.files("adapters.store") / "migrations"
    return sorted(int(f.name.split("_", 1)[0]) for f in folder.iterdir() if f.name.endswith(".sql"))


def start_together(url: str) -> list[list[int]]:
    """Starts INSTANCES processes on ``url``, releases them at once; what each applied."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(INSTANCES)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    failed = [err for proc, (_, err) in zip(procs, outcomes, strict=True) if proc.returncode]
    assert not failed, failed[0]
    return [json.loads(out) for out, _ in outcomes]


@contextmanager
def fresh_postgresql(admin_url: str) -> Iterator[str]:
    name = f"aeo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / (uuid.uuid4().hex + '.db')}"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[str]]:
    """Makes a new, empty database of the parameter's kind each time it is called."""
    if request.param == "sqlite":
        return lambda: fresh_sqlite(tmp_path)
    admin_url = request.getfixturevalue("postgres_server")
    return lambda: fresh_postgresql(admin_url)


def test_instances_starting_together_on_an_empty_database_migrate_it_once(
    fresh_database: Callable[[], AbstractContextManager[str]],
) -> None:
    """Eight instances start at the same moment on one empty database, in several rounds, a
    fresh database each. Result: all eight start; one applies every migration, the seven
    others find them applied and apply nothing; schema_migrations holds each version once."""
    versions = all_versions()
    for _ in range(ROUNDS):
        with fresh_database() as url:
            applied = start_together(url)
            assert sorted(v for each in applied for v in each) == versions
            assert sorted(applied, key=len) == [[]] * (INSTANCES - 1) + [versions]
            store = SqlStore.open(url, read_pool_size=1)
            try:
                with store.database.reading() as conn:
                    rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
                    assert sorted(row[0] for row in rows) == versions
                assert store.migrate() == []
            finally:
                store.database.close()


def test_a_failed_migration_leaves_the_database_as_it_was(
    fresh_database: Callable[[], AbstractContextManager[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last migration fails half-way on an empty database. Result: store.rejected, and
    nothing of any migration is left, so the next start applies them all from the start."""
    from adapters.store import schema
    from gateway.domain.errors import StoreRejected

    real = schema._statements
    scripts: list[str] = []

    def failing_last(script: str) -> Iterator[str]:
        scripts.append(script)
        yield from real(script)
        if len(scripts) == len(all_versions()):
            yield "SELECT * FROM no_such_table"

    with fresh_database() as url:
        store = SqlStore.open(url, read_pool_size=1)
        try:
            monkeypatch.setattr(schema, "_statements", failing_last)
            with pytest.raises(StoreRejected):
                store.migrate()
            monkeypatch.setattr(schema, "_statements", real)
            assert store.migrate() == all_versions()
        finally:
            store.database.close()
