"""A small connection pool: readers share a few connections instead of one per thread.

Taking and returning is a deque pop and append under one uncontended lock. When every
connection is in use and the pool is full, callers wait in arrival order and each returned
connection is handed to the first of them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from adapters.store.dialects import Connection


class _Waiter:
    __slots__ = ("conn", "ready")

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.ready = threading.Event()


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
        self._lock = threading.Lock()
        # Callers waiting for a connection, first come first served: a returned connection
        # goes to the first of them, so a busy caller cannot take it straight back and starve
        # another client's query.
        self._waiters: deque[_Waiter] = deque()

    def _take(self) -> Connection:
        while True:
            conn = self._next()
            if conn is None:
                continue  # a place was freed: try again (open a fresh connection)
            if self._alive(conn):
                return conn
            self._discard(conn)  # the server closed it while idle: open a fresh one

    def _next(self) -> Connection | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if len(self._all) < self._size:
                conn = self._connect()
                self._all.append(conn)
                return conn
            waiter = _Waiter()
            self._waiters.append(waiter)
        waiter.ready.wait()
        return waiter.conn

    def _give(self, conn: Connection) -> None:
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.ready.set()
            else:
                self._idle.append(conn)

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
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
            if self._waiters:
                self._waiters.popleft().ready.set()  # its place is free: the first waiter opens one
        with suppress(Exception):
            conn.close()

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            self._idle.clear()
        for conn in conns:
            with suppress(Exception):
                conn.close()
