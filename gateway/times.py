"""Instants as integer microseconds since the epoch, UTC: exact, compact, portable across
SQLite and PostgreSQL, and cheap to convert on the hot path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
