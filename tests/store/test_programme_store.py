"""Programme states in the store, on SQLite and PostgreSQL: a decision is stored once with its
change event, whatever fails after its commit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from adapters.store.programme import SqlProgrammeStates
from adapters.store.sql import SqlStore
from gateway.domain.errors import StoreUnavailable
from gateway.domain.events import ProgrammeStateChanged
from gateway.domain.programme import ProgrammeEntry, ProgrammeState

AT = datetime(2026, 5, 1, tzinfo=UTC)
SUSPENSION = ProgrammeEntry("SG", ProgrammeState.SUSPENDED, AT, "audit", "CN=admin", AT)


def programme_changes(store: SqlStore) -> list[ProgrammeStateChanged]:
    return [
        c.event
        for c in store.reader.changes_after(0, 100)
        if isinstance(c.event, ProgrammeStateChanged)
    ]


def test_a_failed_read_back_after_the_commit_does_not_record_the_decision_twice(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision commits, then reading the entries back fails once (the store goes away
    for a moment). Result: record returns (the decision is durable), and the store holds one
    entry and one change event, not one per attempt."""
    states = SqlProgrammeStates(store.database)
    load = states._load
    failures = [StoreUnavailable("gone for a moment")]

    def flaky_load(locked: bool = False) -> None:
        if failures:
            raise failures.pop()
        load(locked)

    monkeypatch.setattr(states, "_load", flaky_load)
    states.record(SUSPENSION)
    assert states.entries("SG") == (SUSPENSION,)
    assert [e.entry for e in programme_changes(store)] == [SUSPENSION]


def test_an_ambiguous_commit_retried_stores_the_decision_once(store: SqlStore) -> None:
    """The transaction is written twice with the same entry id, as a retry after a commit
    whose answer was lost would. Result: one entry, one change event."""
    states = SqlProgrammeStates(store.database)
    row, change = states._rows(SUSPENSION)
    states._write(row, change)
    states._write(row, change)
    assert SqlProgrammeStates(store.database).entries("SG") == (SUSPENSION,)
    assert len(programme_changes(store)) == 1


def test_an_outage_is_retried_every_few_seconds_and_logged_once(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Entries refreshed at every call (refresh_seconds 0); the store then fails every read
    while recognition asks 100 times. Result: the entries in memory answer each time, the
    store is tried once (the next try is seconds away), and one WARNING says so; when the store
    is back and the next try comes, one more line says it is back."""
    states = SqlProgrammeStates(store.database, refresh_seconds=0)
    states.record(SUSPENSION)
    reading = store.database.reading
    tries: list[bool] = []

    def broken(report_outage: bool = True) -> object:
        tries.append(report_outage)
        raise StoreUnavailable.referenced("store down")

    monkeypatch.setattr(store.database, "reading", broken)
    with caplog.at_level(logging.WARNING, logger="adapters.store"):
        for _ in range(100):
            assert states.entries("SG") == (SUSPENSION,)
        assert len(tries) == 1
        assert [r.getMessage()[:30] for r in caplog.records] == ["programme states not refreshed"]
        monkeypatch.setattr(store.database, "reading", reading)
        states._loaded_at = 0.0  # the next try has come
        assert states.entries("SG") == (SUSPENSION,)
        assert [r.getMessage()[-13:] for r in caplog.records][1:] == ["store is back"]
