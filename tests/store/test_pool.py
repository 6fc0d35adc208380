"""The reader pool hands connections out first come, first served."""

from __future__ import annotations

import threading
import time
from typing import Any

from adapters.store.pool import Pool


class Conn:
    """Stands for a database connection: the pool only hands it around."""

    def cursor(self) -> Any:
        raise NotImplementedError

    def execute(self, sql: str, params: Any = (), /) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _waiting(pool: Pool, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(pool._waiters) < count:
        assert time.monotonic() < deadline, "the waiter never queued"
        time.sleep(0.005)


def test_a_returned_connection_goes_to_the_first_waiter_not_back_to_a_busy_caller() -> None:
    """A pool of one. The main thread holds the connection; A asks, then B. The main thread
    gives it back and at once asks again. Result: A gets it first, then B, then the main
    thread: a caller that keeps querying cannot starve the others."""
    pool = Pool(Conn, 1)
    order: list[str] = []
    lock = threading.Lock()

    def use(name: str) -> None:
        with pool.connection(), lock:
            order.append(name)

    held = pool._take()
    a = threading.Thread(target=use, args=("A",))
    a.start()
    _waiting(pool, 1)
    b = threading.Thread(target=use, args=("B",))
    b.start()
    _waiting(pool, 2)
    pool._give(held)
    use("main")
    a.join(5)
    b.join(5)
    assert order == ["A", "B", "main"]


def test_a_discarded_connection_lets_the_first_waiter_open_a_new_one() -> None:
    """A pool of one whose connection fails in use while another caller waits. Result: the
    waiter gets a fresh connection."""
    opened: list[Conn] = []

    def connect() -> Conn:
        opened.append(Conn())
        return opened[-1]

    pool = Pool(connect, 1)
    got: list[Any] = []
    held = pool._take()
    waiter = threading.Thread(target=lambda: got.append(pool._take()))
    waiter.start()
    _waiting(pool, 1)
    pool._discard(held)
    waiter.join(5)
    assert got == [opened[1]]
