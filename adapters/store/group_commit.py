"""Group commit: the messages of concurrent requests are applied and committed together.

Handler threads hand their verified message to one writer thread and wait; the writer drains
whatever is queued, applies the messages together (bulk reads, one bulk write), commits once
(one fsync for the group) and only then releases the waiting handlers. Acknowledged therefore
means durable, and the cost of a commit and of each statement is shared by the whole group.
"""

from __future__ import annotations

import queue
import threading

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from adapters.store.sql_store import SqlStore
from gateway.domain.errors import GatewayError, ShuttingDown, StoreUnavailable
from gateway.domain.exchange import Outcome, VerifiedMessage, apply_group
from gateway.domain.ports import ReceiptSealer


class _Pending:
    """One waiting handler: a pre-acquired lock the writer releases when the result is in.
    Lighter than a concurrent.futures.Future (no Condition), and there is one per message."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Outcome | None = None
        self.error: BaseException | None = None

    def set_result(self, result: Outcome) -> None:
        self.result = result
        self.done.release()

    def set_exception(self, error: BaseException) -> None:
        self.error = error
        self.done.release()

    def wait(self) -> Outcome:
        self.done.acquire()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


_Item = tuple[VerifiedMessage, _Pending]


def is_transient(exc: BaseException) -> bool:
    """The one predicate deciding what is retried: transient gateway errors only."""
    return isinstance(exc, GatewayError) and exc.transient


class GroupCommitter:
    def __init__(self, store: SqlStore, sealer: ReceiptSealer, max_group: int = 512) -> None:
        self._store = store
        self._sealer = sealer
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._stopping = False
        # Orders every enqueue before or after the stop marker: nothing queued after it waits
        # forever.
        self._gate = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Commits what is queued, then ends the writer thread."""
        with self._gate:
            self._stopping = True
            self._queue.put(None)
        self._thread.join()

    def commit(self, message: VerifiedMessage) -> Outcome:
        pending = _Pending()
        with self._gate:
            if self._stopping:
                raise ShuttingDown("the gateway is shutting down; retry against another instance")
            self._queue.put((message, pending))
        return pending.wait()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit_group(group)
            if stop:
                return

    def _commit_group(self, group: list[_Item]) -> None:
        try:
            results = self._apply_with_retry(group)
        except BaseException as exc:
            error = exc if isinstance(exc, GatewayError) else StoreUnavailable(str(exc))
            for _, future in group:
                future.set_exception(error)
            return
        for (_, future), result in zip(group, results, strict=True):
            if isinstance(result, GatewayError):
                future.set_exception(result)
            else:
                future.set_result(result)

    @retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(4),
        wait=wait_exponential(multiplier=0.01, max=0.2),
        reraise=True,
    )
    def _apply_with_retry(self, group: list[_Item]) -> list[Outcome | GatewayError]:
        with self._store.transaction() as tx:
            return apply_group(tx, [message for message, _ in group], self._sealer)
