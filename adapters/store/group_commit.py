"""Group commit: the Transactions port, with the work of concurrent requests committed together.

Handler threads hand their work to one writer thread and wait; the writer drains whatever is
queued, runs each work in turn in one transaction (see GroupUnitOfWork), writes the group's
rows in bulk, commits once (one fsync for the group) and only then releases the waiting
handlers. Acknowledged therefore means durable, and the cost of a commit and of each statement
is shared by the whole group.

Failures stay with the work that caused them: a GatewayError a work raises undoes only its
writes; when the database refuses the group's writes for a reason retrying cannot change, each
group is split in halves and committed again, so only the one the database refuses fails. Transient
failures (a lost connection, a lock timeout) retry the whole group.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from adapters.store.database import Database, report
from adapters.store.unit_of_work import GroupUnitOfWork, TranslatingCursor
from gateway.app.unit_of_work import UnitOfWork, Work
from gateway.domain.errors import (
    GatewayError,
    InternalError,
    ShuttingDown,
    StoreRejected,
    StoreUnavailable,
)

log = logging.getLogger(__name__)


class _Pending:
    """One waiting handler: a pre-acquired lock the writer releases when the result is in.
    Lighter than a concurrent.futures.Future (no Condition), and there is one per request."""

    __slots__ = ("done", "partners", "prefetch", "result", "work")

    def __init__(
        self,
        work: Work[Any],
        partners: Collection[str],
        prefetch: Callable[[UnitOfWork], None] | None,
    ) -> None:
        self.work = work
        self.partners = partners
        self.prefetch = prefetch
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None

    def finish(self, result: Any) -> None:
        self.result = result
        self.done.release()

    def wait(self) -> Any:
        self.done.acquire()
        if isinstance(self.result, GatewayError):
            raise self.result
        return self.result


def is_transient(exc: BaseException) -> bool:
    """The one predicate deciding what is retried: transient gateway errors only."""
    return isinstance(exc, GatewayError) and exc.transient


def _internal(what: str) -> GatewayError:
    error = InternalError.referenced("internal error")
    log.exception("%s (reference %s)", what, error.reference)
    return error


class GroupCommitter:
    def __init__(self, database: Database, max_group: int = 512) -> None:
        self._db = database
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
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
        if self._thread.ident is not None:  # started
            self._thread.join()

    def queued(self) -> int:
        """Works waiting for the writer (approximate: for monitoring and tests)."""
        return self._queue.qsize()

    def run(
        self,
        work: Work[Any],
        partners: Collection[str] = (),
        prefetch: Callable[[UnitOfWork], None] | None = None,
    ) -> Any:
        pending = _Pending(work, partners, prefetch)
        with self._gate:
            if self._stopping:
                raise ShuttingDown("the gateway is shutting down; retry against another instance")
            self._queue.put(pending)
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
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Pending]) -> None:
        try:
            results = self._attempt(group)
        except StoreRejected as refused:
            if len(group) > 1:
                # Find the work the database refuses by halving: it fails alone, the others
                # commit, in a number of commits that grows with the log of the group.
                half = len(group) // 2
                self._commit(group[:half])
                self._commit(group[half:])
                return
            results = [refused]
        except GatewayError as error:  # transient, and still failing after the retries
            if isinstance(error, StoreUnavailable):
                report(error)  # once for the group, which shares the reference
            results = [error] * len(group)
        except Exception:
            results = [_internal("group commit failed")] * len(group)
        for pending, result in zip(group, results, strict=True):
            pending.finish(result)

    @retry(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(4),
        wait=wait_exponential(multiplier=0.01, max=0.2),
        reraise=True,
    )
    def _attempt(self, group: list[_Pending]) -> list[Any]:
        results: list[Any] = []
        dialect = self._db.dialect
        with self._db.transaction() as raw:
            cur = TranslatingCursor(raw, dialect.errors, self._db.translate)
            uow = GroupUnitOfWork(cur, dialect)
            uow.lock({p for pending in group for p in pending.partners})
            for pending in group:
                if pending.prefetch is not None:
                    pending.prefetch(uow)
            for pending in group:
                try:
                    results.append(pending.work(uow))
                    uow.end_work(keep=True)
                except (StoreRejected, StoreUnavailable):
                    raise  # the database's, not the work's: the transaction is lost for all
                except GatewayError as refusal:
                    if refusal.transient:
                        raise  # retry the whole group
                    uow.end_work(keep=False)
                    results.append(refusal)
                except Exception:
                    uow.end_work(keep=False)
                    results.append(_internal("unexpected error in a unit of work"))
            uow.flush()
        return results
