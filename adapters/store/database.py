"""One database: the reader pool, the single writer connection, and the translation of driver
errors into the gateway's own, decided once per dialect (transient or final)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from adapters.store.dialects import Connection, Dialect
from adapters.store.pool import Pool
from gateway.domain.errors import GatewayError, StoreRejected, StoreUnavailable

log = logging.getLogger(__name__)


class Database:
    def __init__(self, dialect: Dialect, read_pool_size: int = 8) -> None:
        self.dialect = dialect
        self.sql = dialect.sql
        self.readers = Pool(dialect.connect, read_pool_size, dialect.idle_alive)
        self._writer: Connection | None = None

    def translate(self, exc: BaseException) -> GatewayError:
        """A driver error as the gateway's: transient ones are retried, final ones are not.
        The driver's text goes to the log only, under a reference the caller is given: at once
        for a refusal; for an outage where it reaches a caller (see ``report``), since a
        transient error may yet be retried away."""
        if self.dialect.is_transient(exc):
            return StoreUnavailable.referenced(
                f"the {self.dialect.name} store is unavailable; retry later"
            )
        refused = StoreRejected.referenced("the store refused this request")
        log.error("store refused a request (reference %s): %r", refused.reference, exc)
        return refused

    @contextmanager
    def translated(self) -> Iterator[None]:
        try:
            yield
        except self.dialect.errors as exc:
            raise self.translate(exc) from exc

    @contextmanager
    def reading(self, report_outage: bool = True) -> Iterator[Connection]:
        """A reader connection. An outage is logged unless the caller reports it itself (the
        operator running a migration is shown it)."""
        try:
            with self.translated(), self.readers.connection() as conn:
                yield conn
        except StoreUnavailable as error:
            if report_outage:
                report(error)
            raise

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction on the single writer connection (one thread uses it)."""
        with self.translated():
            if self._writer is None:
                self._writer = self.dialect.connect()
            cur = self._writer.cursor()
            try:
                cur.execute(self.dialect.begin)
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except self.dialect.errors:
                    # The connection itself is broken: open a fresh one next time.
                    self._writer.close()
                    self._writer = None
                raise

    @contextmanager
    def pooled_transaction(self) -> Iterator[Any]:
        """A write transaction on a pooled connection: for stores that write in transactions of
        their own, from several threads at once, beside the group-commit writer."""
        with self.reading() as conn:
            cur = conn.cursor()
            cur.execute(self.dialect.begin)
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of one query (``?`` placeholders) on a pooled connection."""
        with self.reading() as conn:
            cur = conn.cursor()
            cur.execute(self.sql(sql), tuple(params))
            found: list[Any] = cur.fetchall()
            return found

    def close(self) -> None:
        self.readers.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def report(error: StoreUnavailable) -> None:
    """Logs an outage that reaches callers, once, with the reference they are given."""
    log.warning("store unavailable (reference %s): %r", error.reference, error.__cause__)
