"""Partner lifecycle events in the store (migration 0009), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.store.lifecycle import SqlLifecycles
from adapters.store.sql import SqlStore
from gateway.domain.lifecycle import EventKind, LifecycleEvent, LifecycleState

NOW = datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)


def event(partner: str, state: LifecycleState, minutes: int) -> LifecycleEvent:
    return LifecycleEvent(
        partner,
        EventKind.TRANSITION,
        state,
        "admin:CN=admin",
        "",
        NOW + timedelta(minutes=minutes),
        None,
        False,
        "",
    )


def test_another_replicas_events_are_read_in_order_after_those_read_before(
    store: SqlStore,
) -> None:
    """Replica A records events for two partners, B reads, A records more. Result: B has each
    partner's events in the order recorded, the earlier ones followed by the later ones."""
    a = SqlLifecycles(store.database)
    b = SqlLifecycles(store.database, refresh_seconds=0)
    a.record(event("CL", LifecycleState.DRAFT, 0))
    a.record(event("PE", LifecycleState.DRAFT, 1))
    assert [e.state for e in b.events("CL")] == [LifecycleState.DRAFT]
    a.record(event("CL", LifecycleState.CONFIGURED, 2))
    a.record(event("CL", LifecycleState.TESTING, 3))
    assert [e.state for e in b.events("CL")] == [
        LifecycleState.DRAFT,
        LifecycleState.CONFIGURED,
        LifecycleState.TESTING,
    ]
    assert b.events("PE") == (event("PE", LifecycleState.DRAFT, 1),)
    assert b.partners() == ("CL", "PE")


def test_a_refresh_reads_only_the_rows_recorded_since_the_last_read(store: SqlStore) -> None:
    """B reads the events; the first row is then removed behind its back (the table is
    append-only: this only shows what is read) and a new one is recorded. Result: B's next
    refresh adds the new event and keeps the ones it had: it read only the rows after the last
    one it had read, not the whole table again."""
    a = SqlLifecycles(store.database)
    b = SqlLifecycles(store.database, refresh_seconds=0)
    a.record(event("CL", LifecycleState.DRAFT, 0))
    a.record(event("CL", LifecycleState.CONFIGURED, 1))
    assert len(b.events("CL")) == 2
    with store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute(store.database.dialect.begin)
        cur.execute("DELETE FROM partner_lifecycle WHERE state = 'draft'")
        cur.execute("COMMIT")
    a.record(event("CL", LifecycleState.TESTING, 2))
    assert [e.state for e in b.events("CL")] == [
        LifecycleState.DRAFT,
        LifecycleState.CONFIGURED,
        LifecycleState.TESTING,
    ]
