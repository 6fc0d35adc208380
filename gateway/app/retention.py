"""Use case: purge raw message bytes older than each partner's retention (the partner file's
``[data_protection] retention``), on a schedule inside ``serve`` and by
``aeo-gateway retention purge``. Digests, sequences, ids and receipts' metadata stay, so
reconciliation and the audit chain are untouched (docs/data-protection.md)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Purged:
    """What a purge emptied (or, dry, would empty) for one partner."""

    partner: str
    received: int
    sent: int
    outcome_reports: int

    @property
    def total(self) -> int:
        return self.received + self.sent + self.outcome_reports


class RetentionStore(Protocol):
    def purge(self, partner: str, cutoff: datetime, now: datetime, dry_run: bool) -> Purged: ...


class PurgeRetention:
    """One pass over every partner with a retention."""

    def __init__(self, store: RetentionStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def __call__(self, directory: Directory, dry_run: bool = False) -> list[Purged]:
        now = self._clock.now()
        found = []
        for code, partner in sorted(directory.partners.items()):
            retention = partner.data_protection.retention
            if retention is None:
                continue
            found.append(self._store.purge(code, now - retention, now, dry_run))
        return found


class RetentionSchedule:
    """Runs a purge every ``interval`` seconds on a thread of its own, as the dispatcher
    delivers: started and stopped with the server."""

    def __init__(
        self,
        purge: PurgeRetention,
        directory: Callable[[], Directory],
        interval: float,
    ) -> None:
        self._purge = purge
        self._directory = directory
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def run_once(self) -> list[Purged]:
        found = self._purge(self._directory())
        for purged in found:
            if purged.total:
                log.info(
                    "retention: purged raw bytes of %s: %d received, %d sent, %d outcome "
                    "reports", purged.partner, purged.received, purged.sent,
                    purged.outcome_reports,
                )  # fmt: skip
        return found

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except GatewayError as exc:  # the store is down: the next pass tries again
                log.warning("retention purge failed: %s (%s)", exc.message, exc.reason)
            except Exception:
                log.exception("retention purge failed")
            self._stopping.wait(self._interval)
