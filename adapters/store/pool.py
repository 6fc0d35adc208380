"""A small connection pool: readers share a few connections instead of one per thread.

The fast path is a deque pop and append (atomic under the GIL, no lock); only when every
connection is in use and the pool is full does a caller wait on a condition.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from adapters.store.dialects import Connection


class Pool:
    def __init__(
        self,
        connect: Callable[[], Connection],
        size: int,
        alive: Callable[[Connection], bool] = lambda conn: True,
    ) -> None:
        self._connect = connect
        self._alive = alive
        self._size = size
        self._idle: deque[Connection] = deque()
        self._all: list[Connection] = []
        self._returned = threading.Condition()

    def _take(self) -> Connection:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                pass
            else:
                if self._alive(conn):
                    return conn
                self._discard(conn)  # the server closed it while idle: open a fresh one
                continue
            with self._returned:
                if len(self._all) < self._size:
                    conn = self._connect()
                    self._all.append(conn)
                    return conn
                if not self._idle:
                    self._returned.wait(timeout=1.0)

    def _give(self, conn: Connection) -> None:
        self._idle.append(conn)
        if len(self._all) >= self._size:  # someone may be waiting for it
            with self._returned:
                self._returned.notify()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        conn = self._take()
        try:
            yield conn
        except BaseException:
            # A connection that failed mid-use may be broken: drop it, open a fresh one later.
            self._discard(conn)
            raise
        self._give(conn)

    def _discard(self, conn: Connection) -> None:
        with self._returned:
            if conn in self._all:
                self._all.remove(conn)
            self._returned.notify()
        with suppress(Exception):
            conn.close()

    def close(self) -> None:
        with self._returned:
            conns, self._all = self._all, []
            self._idle.clear()
        for conn in conns:
            with suppress(Exception):
                conn.close()
