"""The dispatcher's rounds during a store outage: one traceback per outage, a growing wait."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.outbound.dispatcher import OUTAGE_WAIT_CAP, Dispatcher
from gateway.domain.errors import StoreUnavailable


class Store:
    def __init__(self) -> None:
        self.down = True

    def partners_with_work(
        self, partners: Collection[str], now: datetime, max_age: timedelta
    ) -> list[str]:
        if self.down:
            raise StoreUnavailable("the store is unavailable")
        return []


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 5, 1, tzinfo=UTC)


class Snapshot:
    partners: dict[str, object] = {"SG": object()}


class Directory:
    def current(self) -> Snapshot:
        return Snapshot()


def test_an_outage_is_logged_once_and_rounds_back_off(caplog: pytest.LogCaptureFixture) -> None:
    """Five rounds fail, then the store is back. Result: one ERROR with a traceback, waits
    doubling from the poll to the cap, one WARNING on recovery, and the poll again after."""
    store = Store()
    parts: list[Any] = [None, store, None, Directory(), Clock(), 2, 0.5, timedelta(days=1)]
    dispatcher = Dispatcher(*parts)  # only the round's guard is exercised: no deliverer, locks
    caplog.set_level(logging.INFO, "adapters.outbound.dispatcher")
    waits = [dispatcher._guarded_round()[1] for _ in range(8)]
    assert waits == [1.0, 2.0, 4.0, *[OUTAGE_WAIT_CAP] * 5]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    store.down = False
    assert dispatcher._guarded_round() == (False, 0.5)
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
    assert dispatcher._guarded_round() == (False, 0.5)
    assert len(caplog.records) == 2
