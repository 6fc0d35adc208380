"""Refused status messages in the store (migration 0014), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.store.refusals import SqlRefusalLog
from adapters.store.sql import SqlStore
from gateway.app.refusals import KEPT, RECENT, RecentRefusals, Refusal, RefusalSummary

NOW = datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def refusal(partner: str, ago: timedelta, reason: str = "signature.invalid") -> Refusal:
    return Refusal(partner, NOW - ago, reason, "UNAUTHENTICATED")


def rows(store: SqlStore) -> int:
    [(count,)] = store.database.rows("SELECT COUNT(*) FROM refused_messages")
    return int(count)


def test_a_partners_last_24_hours_are_counted_and_its_last_refusal_read_back(
    store: SqlStore,
) -> None:
    """SG: refusals 25 h, 23 h and 1 s ago (the last payload.too_large); KR: one an hour ago.
    Result: SG counts 2 in the last 24 hours and its last is the newest, time to the
    microsecond, reason and status; KR counts 1; an unknown partner 0 and none."""
    log = SqlRefusalLog(store.database)
    log.record(refusal("SG", timedelta(hours=25)))
    log.record(refusal("SG", timedelta(hours=23)))
    newest = Refusal("SG", NOW - timedelta(seconds=1), "payload.too_large", "RESOURCE_EXHAUSTED")
    log.record(newest)
    log.record(refusal("KR", timedelta(hours=1), "batch.sequence_reused"))
    recent = RecentRefusals(log, FixedClock(NOW))
    assert recent.of("SG") == RefusalSummary(2, newest)
    assert recent.of("KR").count == 1
    assert recent.of("ZZ") == RefusalSummary(0, None)


def test_the_window_starts_exactly_24_hours_before_now(store: SqlStore) -> None:
    """A refusal exactly 24 hours ago and one a microsecond earlier. Result: the first is
    counted, the second is not, and the last refusal is still the newer."""
    log = SqlRefusalLog(store.database)
    log.record(refusal("SG", RECENT + timedelta(microseconds=1)))
    log.record(refusal("SG", RECENT, "payload.malformed"))
    summary = RecentRefusals(log, FixedClock(NOW)).of("SG")
    assert summary.count == 1
    assert summary.last is not None
    assert summary.last.reason == "payload.malformed"


def test_refusals_older_than_30_days_are_pruned_on_a_later_insert(store: SqlStore) -> None:
    """A refusal 31 days old, one 29 days old, then one now. Result: the insert now deletes
    the 31-day-old row only; the 29-day-old one is still the last before now's."""
    log = SqlRefusalLog(store.database)
    log.record(refusal("SG", KEPT + timedelta(days=1), "signature.unknown_key"))
    log.record(refusal("SG", KEPT - timedelta(days=1), "signature.invalid"))
    assert rows(store) == 2
    log.record(refusal("KR", timedelta(0)))
    assert rows(store) == 2
    summary = RecentRefusals(log, FixedClock(NOW)).of("SG")
    assert summary.count == 0
    assert summary.last == refusal("SG", KEPT - timedelta(days=1), "signature.invalid")


def test_a_last_refusal_not_yet_pruned_is_not_shown_once_past_30_days(store: SqlStore) -> None:
    """SG's only refusal is 31 days old and nothing was refused since (so nothing pruned it).
    Result: no last refusal is shown."""
    log = SqlRefusalLog(store.database)
    log.record(refusal("SG", KEPT + timedelta(days=1)))
    assert rows(store) == 1
    assert RecentRefusals(log, FixedClock(NOW)).of("SG") == RefusalSummary(0, None)
