"""The delivery workers: each picks a partner with work whose delivery lock it gets, does one
step for it (dead-letter, seal, send), releases, and looks again.

Workers wake at once when changes are queued (the home registry's ``queued`` callback) or a
message settles, and otherwise every ``poll_seconds``: another replica's changes, retries that
fall due and the age limit are found by polling.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Protocol

from adapters.store.outbound import PartnerLocks, SqlOutbound
from gateway.app.deliver import DeliverPartner
from gateway.domain.directory import Directory
from gateway.domain.ports import Clock

log = logging.getLogger(__name__)

#: The longest wait between rounds while delivery keeps failing (a store outage).
OUTAGE_WAIT_CAP = 5.0


class DirectorySource(Protocol):
    def current(self) -> Directory: ...


class Dispatcher:
    def __init__(
        self,
        deliver: DeliverPartner,
        store: SqlOutbound,
        locks: PartnerLocks,
        directory: DirectorySource,
        clock: Clock,
        workers: int,
        poll_seconds: float,
        max_age: timedelta,
        close_transport: Callable[[], None] = lambda: None,
    ) -> None:
        self._deliver = deliver
        self._close_transport = close_transport
        self._store = store
        self._locks = locks
        self._directory = directory
        self._clock = clock
        self._workers = workers
        self._poll = poll_seconds
        self._max_age = max_age
        self._wake = threading.Condition()
        self._woken = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        #: Consecutive failed rounds, over every worker: one outage, one traceback.
        self._failures = 0
        self._outage_lock = threading.Lock()

    def start(self) -> None:
        for n in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"outbound-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stops the workers after the step each is in (a send ends within its deadline)."""
        self._stopping.set()
        self.wake()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._close_transport()  # the partners' channels, once no worker sends

    def wake(self, partners: Collection[str] = ()) -> None:
        """New work (changes queued, a message settled): every worker looks at once."""
        with self._wake:
            self._woken += 1
            self._wake.notify_all()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                with self._wake:
                    seen = self._woken
                worked, wait = self._guarded_round()
                if worked:
                    continue
                with self._wake:
                    if self._woken == seen and not self._stopping.is_set():
                        self._wake.wait(wait)
        finally:
            self._locks.close()

    def _guarded_round(self) -> tuple[bool, float]:
        """One round, and how long to wait before the next when it did nothing. A failing
        round (a store outage, a bug) is logged with its traceback once per outage, however
        many workers meet it, and the workers back off, doubling up to OUTAGE_WAIT_CAP."""
        try:
            worked = self._one_round()
        except Exception:
            with self._outage_lock:
                self._failures += 1
                failures = self._failures
            if failures == 1:
                log.exception("outbound delivery failing; retrying with backoff")
            else:
                log.debug("outbound delivery still failing (%d rounds)", failures, exc_info=True)
            return False, min(OUTAGE_WAIT_CAP, self._poll * 2 ** min(failures, 16))
        with self._outage_lock:
            failures, self._failures = self._failures, 0
        if failures:
            log.warning("outbound delivery recovered after %d failed rounds", failures)
        return worked, self._poll

    def _one_round(self) -> bool:
        """One step for one partner with work; True when it did something."""
        now = self._clock.now()
        directory = self._directory.current()
        candidates = []
        for code in self._store.partners_with_work(directory.partners, now, self._max_age):
            if self._deliver.deliverable(directory, code, now):
                candidates.append(code)
            else:  # paused, MRA not in force, no endpoint: its messages do not age meanwhile
                self._deliver.undeliverable(code, now)
        random.shuffle(candidates)  # workers and replicas spread over partners
        for code in candidates:
            if self._stopping.is_set():
                return False
            with self._locks.hold(code) as held:
                if not held:
                    continue
                if self._deliver(directory, code):
                    self.wake()
                    return True
        return False
