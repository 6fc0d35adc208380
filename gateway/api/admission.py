"""Fair admission: what one client's calls may hold of the server, so that no client can hurt
another.

The server is synchronous: a call holds a worker thread from the moment its headers arrive,
including while it waits for a request body that a hostile client never sends. So every call
is admitted per client (a partner, or one home certificate) before it waits for anything:

- at most ``max_waiting`` of a client's calls wait for their request body: a new one cancels
  the one that has waited longest (a real body arrives with its headers, so only stalled
  streams wait long), and a body that has not arrived ``body_timeout`` after the call started
  cancels the call too. Stalled streams thus hold a bounded number of threads and never crowd
  out the client's own real calls;
- at most ``max_calls`` of a client's calls with their body are in flight (waiting their turn,
  working or streaming); the next is refused at once with RESOURCE_EXHAUSTED;
- at most ``max_active`` of a client's calls do the gateway's work at the same time; the others
  wait their turn without using the CPU, so a client's share of the server does not grow with
  the number of calls it opens. A call gives its turn back while it only waits (for the group
  commit), so a partner's concurrent messages still share one commit;
- a client's request bytes are metered (a token bucket of ``bytes_per_second``, with a burst
  of ``burst_bytes``): a call that would overdraw it waits, in the client's own slot, until the
  bucket covers it. Receiving and checking a message costs in proportion to its size, so a
  client sending large messages faster than that slows itself down, not the others.

Why not an asyncio server, whose waiting calls hold no thread: the per-client limits are needed
anyway to share the CPU fairly, and with them the threads a client can hold are bounded; the
synchronous server stays the faster of the two for the ingest path.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from gateway.app.unit_of_work import Transactions, UnitOfWork, Work
from gateway.domain.errors import TooManyCalls, TooManyRefusals

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    max_calls: int
    max_active: int
    body_timeout: float
    max_waiting: int = 1 << 30
    bytes_per_second: float = float("inf")
    burst_bytes: float = float("inf")
    #: Calls of one client the gateway refuses (the caller's fault) per second on average, and
    #: at once; past them the client's calls are refused unread (TooManyRefusals).
    refusals_per_second: float = float("inf")
    refusal_burst: float = float("inf")


class _Bucket:
    __slots__ = ("at", "level")

    def __init__(self, level: float, at: float) -> None:
        self.level = level
        self.at = at


class _Client:
    __slots__ = ("in_flight", "turns", "waiting")

    def __init__(self, max_active: int) -> None:
        self.in_flight = 0
        #: Calls waiting for their body, oldest first: how to cancel each.
        self.waiting: OrderedDict[int, Callable[[], object]] = OrderedDict()
        self.turns = threading.BoundedSemaphore(max_active)


class _Turn:
    """A call's right to work; given back once, whichever comes first: a wait or the end."""

    __slots__ = ("_held", "_semaphore")

    def __init__(self, semaphore: threading.BoundedSemaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    def take(self) -> None:
        self._semaphore.acquire()
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


_turn: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("turn", default=None)


def waiting() -> None:
    """Called by code about to block on I/O it does not drive: the caller's turn goes to the
    client's next call. Does nothing outside an admitted call."""
    turn = _turn.get()
    if turn is not None:
        turn.give_back()


class Admission:
    def __init__(
        self,
        limits: AdmissionLimits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clients: dict[str, _Client] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._refusal_buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._keys = itertools.count()
        self._watchdog = _BodyWatchdog()
        self._clock = clock
        self._sleep = sleep

    def refused(self, client: str) -> None:
        """Charges one refused call to ``client``'s refusal budget."""
        self._refusals(client, charge=1.0)

    def check_refusals(self, client: str) -> None:
        """TooManyRefusals while ``client`` has spent its refusal budget: its calls are then
        refused before their bytes are parsed, let alone checked."""
        if self._refusals(client, charge=0.0) < 1.0:
            raise TooManyRefusals(
                f"more than {self.limits.refusals_per_second:g} calls of this client per second "
                "were refused; slow down and send well-formed, correctly signed messages",
                limit=f"{self.limits.refusals_per_second:g}",
            )

    def _refusals(self, client: str, charge: float) -> float:
        """The client's refusal budget after refilling it and taking ``charge`` from it."""
        rate, burst = self.limits.refusals_per_second, self.limits.refusal_burst
        if rate == float("inf"):
            return float("inf")
        now = self._clock()
        with self._lock:
            bucket = self._refusal_buckets.get(client)
            if bucket is None:
                if len(self._refusal_buckets) >= 4096:
                    self._refusal_buckets.clear()  # bounded memory, as for the byte meter
                bucket = self._refusal_buckets[client] = _Bucket(burst, now)
            bucket.level = max(0.0, min(burst, bucket.level + (now - bucket.at) * rate) - charge)
            bucket.at = now
            return bucket.level

    def meter(self, client: str, size: int) -> None:
        """Charges ``size`` request bytes to ``client``; waits while its bucket is overdrawn.
        Each call reserves its bytes, so concurrent calls of one client wait in turn."""
        rate, burst = self.limits.bytes_per_second, self.limits.burst_bytes
        if rate == float("inf"):
            return
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= 4096:
                    self._buckets.clear()  # bounded memory; clients are far fewer in practice
                bucket = self._buckets[client] = _Bucket(burst, now)
            bucket.level = min(burst, bucket.level + (now - bucket.at) * rate) - size
            bucket.at = now
            owed = -bucket.level / rate if bucket.level < 0 else 0.0
        if owed:
            self._sleep(owed)

    @contextmanager
    def call(self, client: str) -> Iterator[None]:
        """One admitted call of ``client`` for as long as the block runs; TooManyCalls when the
        client already has its limit in flight."""
        with self._lock:
            state = self._state(client)
            if state.in_flight >= self.limits.max_calls:
                self._forget_if_idle(client, state)
                raise TooManyCalls(
                    f"{state.in_flight} calls of this client are in flight; the limit is "
                    f"{self.limits.max_calls}",
                    limit=str(self.limits.max_calls),
                )
            state.in_flight += 1
        token = _turn.set(_Turn(state.turns))
        try:
            yield
        finally:
            turn = _turn.get()
            assert turn is not None
            turn.give_back()
            _turn.reset(token)
            with self._lock:
                state.in_flight -= 1
                self._forget_if_idle(client, state)

    def _state(self, client: str) -> _Client:
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = _Client(self.limits.max_active)
        return state

    def _forget_if_idle(self, client: str, state: _Client) -> None:
        if not state.in_flight and not state.waiting:
            self._clients.pop(client, None)  # idle clients cost nothing

    @staticmethod
    def take_turn() -> None:
        """Waits for the current call's turn to work (inside ``call``)."""
        turn = _turn.get()
        assert turn is not None, "take_turn outside an admitted call"
        turn.take()

    def body(self, client: str, receive: Callable[[], T], cancel: Callable[[], object]) -> T:
        """``receive()`` as one of ``client``'s calls waiting for a body, with the call
        cancelled if the body is not there in time or ``max_waiting`` newer calls wait."""
        key = next(self._keys)
        with self._lock:
            state = self._state(client)
            evicted = None
            if len(state.waiting) >= self.limits.max_waiting:
                _, evicted = state.waiting.popitem(last=False)
            state.waiting[key] = cancel
        if evicted is not None:
            log.debug("cancelled the longest-waiting call of %s for a new one", client)
            evicted()
        try:
            with self._watchdog.watch(time.monotonic() + self.limits.body_timeout, cancel):
                return receive()
        finally:
            with self._lock:
                state.waiting.pop(key, None)
                self._forget_if_idle(client, state)


class _BodyWatchdog:
    """One thread that cancels calls still waiting for their request body past a deadline.

    Bodies nearly always arrive with the headers, so the watched set is small; a scan twice a
    second is cheaper than a timer per call.
    """

    _PERIOD = 0.5

    def __init__(self) -> None:
        self._watched: dict[int, tuple[float, Callable[[], object]]] = {}
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    @contextmanager
    def watch(self, deadline: float, cancel: Callable[[], object]) -> Iterator[None]:
        if self._thread is None:
            self._start_thread()
        key = next(self._ids)
        self._watched[key] = (deadline, cancel)  # single dict operations: atomic, no lock
        try:
            yield
        finally:
            self._watched.pop(key, None)

    def _start_thread(self) -> None:
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="body-watchdog", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self._PERIOD)
            try:
                self._cancel_overdue(time.monotonic())
            except Exception:  # never let the one watchdog die: timeouts would stop for good
                log.exception("body watchdog")

    def _cancel_overdue(self, now: float) -> None:
        for key, (deadline, cancel) in list(self._watched.items()):
            if deadline <= now and self._watched.pop(key, None) is not None:
                log.warning("cancelled a call whose request body did not arrive in time")
                cancel()


class YieldingTransactions:
    """The Transactions port with the caller's turn given back while it waits for the commit:
    the wait costs no CPU, and a partner's other calls can join the same group commit."""

    def __init__(self, inner: Transactions) -> None:
        self._inner = inner

    def run(
        self,
        work: Work[T],
        partners: Collection[str] = (),
        prefetch: Callable[[UnitOfWork], None] | None = None,
    ) -> T:
        waiting()
        return self._inner.run(work, partners, prefetch)
