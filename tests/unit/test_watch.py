"""WatchChanges on a fake change log: backlog in pages, new commits, heartbeats, the end."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.app.watch import ChangeBatch, WatchChanges
from gateway.domain.errors import InvalidCursor
from gateway.domain.events import Change, DefinitionChange, PartnerDefinitionChanged
from tests.factories import NOW


def change(cursor: int) -> Change:
    return Change(cursor, NOW, PartnerDefinitionChanged("SG", cursor, DefinitionChange.CHANGED))


class FakeFeed:
    def __init__(self, count: int) -> None:
        self.log = [change(c) for c in range(1, count + 1)]

    def changes_after(self, cursor: int, limit: int) -> list[Change]:
        return [c for c in self.log if c.cursor > cursor][:limit]

    def newest_cursor(self) -> int:
        return self.log[-1].cursor if self.log else 0


class Script:
    """The wait the stream is given: runs one step per pause, ends the watch when none is
    left; a fake clock that each pause moves on."""

    def __init__(self, *steps: Callable[[], None]) -> None:
        self.steps = list(steps)
        self.now = 0.0
        self.pauses: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        self.now += seconds
        if not self.steps:
            return True
        self.steps.pop(0)()
        return False


def cursors(batches: list[ChangeBatch]) -> list[tuple[list[int], int]]:
    return [([c.cursor for c in b.changes], b.cursor) for b in batches]


def test_the_backlog_comes_in_pages_then_new_commits_as_they_come() -> None:
    feed = FakeFeed(5)
    script = Script(lambda: None, lambda: feed.log.append(change(6)))
    watch = WatchChanges(feed, page_size=2, poll_seconds=0.1, clock=lambda: script.now)
    batches = list(watch(1, False, script.wait))
    assert cursors(batches) == [([2, 3], 3), ([4, 5], 5), ([6], 6)]


def test_a_heartbeat_says_where_the_watch_starts_and_that_it_is_alive() -> None:
    """Nothing after the cursor. Result: an empty batch at once, then one per heartbeat period
    while nothing commits (not one per poll)."""
    feed = FakeFeed(3)
    script = Script(*[lambda: None] * 12)
    watch = WatchChanges(feed, poll_seconds=1.0, heartbeat_seconds=5.0, clock=lambda: script.now)
    batches = list(watch(3, False, script.wait))
    assert cursors(batches) == [([], 3), ([], 3), ([], 3)]


def test_from_now_starts_after_the_newest_change() -> None:
    feed = FakeFeed(4)
    script = Script(lambda: feed.log.append(change(5)))
    watch = WatchChanges(feed, clock=lambda: script.now)
    assert cursors(list(watch(0, True, script.wait))) == [([], 4), ([5], 5)]


def test_a_negative_cursor_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        next(iter(WatchChanges(FakeFeed(1))(-1, False, lambda _: True)))
