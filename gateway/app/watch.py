"""Use case: follow the change log as it commits (ChangeFeedService.WatchChanges).

The log is read, never written: a watcher that falls behind costs ingest nothing, it reads
what it missed from the log when it catches up. Cursors follow commit order on every store
(see adapters/store/dialects.py), so resuming after the last cursor received misses nothing
and repeats nothing, on this gateway or another sharing the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.errors import InvalidCursor
from gateway.domain.events import Change

#: Changes per response: a backlog drains in large responses, each a bounded size.
PAGE_SIZE = 500
#: How often the log is read for new commits while the watcher is up to date.
POLL_SECONDS = 0.15
#: An empty response (the cursor unchanged) after this long without a change: the watcher
#: knows the stream is alive.
HEARTBEAT_SECONDS = 5.0


class ChangeFeed(Protocol):
    def changes_after(self, cursor: int, limit: int) -> list[Change]:
        """Up to ``limit`` committed changes after ``cursor``, in cursor order."""
        ...

    def newest_cursor(self) -> int:
        """The cursor of the newest committed change; 0 when the log is empty."""
        ...


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """One response: changes in commit order (none in a heartbeat) and the cursor to resume
    after."""

    changes: tuple[Change, ...]
    cursor: int


class WatchChanges:
    def __init__(
        self,
        feed: ChangeFeed,
        page_size: int = PAGE_SIZE,
        poll_seconds: float = POLL_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feed = feed
        self._page_size = page_size
        self._poll = poll_seconds
        self._heartbeat = heartbeat_seconds
        self._clock = clock

    def __call__(
        self, after: int, from_now: bool, wait: Callable[[float], bool]
    ) -> Iterator[ChangeBatch]:
        """Batches after ``after`` (after the newest change when ``from_now``), then each new
        commit, until ``wait(seconds)`` (which pauses between reads of the log) says the watch
        is over. Nothing is read ahead: while the consumer does not take a batch, the
        generator waits at its ``yield`` and the log waits with it. The first batch comes at
        once: the backlog's first page, or a heartbeat saying where the watch starts."""
        if after < 0:
            raise InvalidCursor(f"after_cursor {after} is negative; 0 starts from the oldest")
        cursor = self._feed.newest_cursor() if from_now else after
        last_sent: float | None = None
        while True:
            page = self._feed.changes_after(cursor, self._page_size)
            if page:
                cursor = page[-1].cursor
                yield ChangeBatch(tuple(page), cursor)
                last_sent = self._clock()
                if len(page) == self._page_size:  # more is waiting: read on at once
                    if wait(0):
                        return
                    continue
            elif last_sent is None or self._clock() - last_sent >= self._heartbeat:
                yield ChangeBatch((), cursor)
                last_sent = self._clock()
            if wait(self._poll):
                return
