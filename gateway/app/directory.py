"""The partner directory port, and the use case that reloads it at runtime."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.app.unit_of_work import Transactions, UnitOfWork
from gateway.domain.directory import Directory, definition_changes
from gateway.domain.events import DefinitionChange, PartnerDefinitionChanged


class PartnerDirectory(Protocol):
    def current(self) -> Directory:
        """The snapshot in force. Callers take it once per request and keep it."""
        ...

    def load(self) -> Directory:
        """A new snapshot from the definitions as they are now, numbered after the current one;
        raises DefinitionInvalid naming the file and field. Changes nothing in force."""
        ...

    def install(self, snapshot: Directory) -> None:
        """Puts ``snapshot`` in force, whole, for every request that starts from now on."""
        ...


@dataclass(frozen=True, slots=True)
class ReloadReport:
    version: int
    loaded_at: datetime
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


class ReloadPartners:
    """Reads the definitions again; if every one is valid, records what changed in the change
    log and puts the new snapshot in force. If any is invalid, the snapshot in force stays."""

    def __init__(self, directory: PartnerDirectory, transactions: Transactions) -> None:
        self._directory = directory
        self._transactions = transactions
        self._lock = threading.Lock()  # a SIGHUP and an Admin call at once: one after the other

    def __call__(self) -> ReloadReport:
        with self._lock:
            before = self._directory.current()
            after = self._directory.load()
            events = definition_changes(before, after)
            if events:
                self._transactions.run(lambda uow: _append(uow, events))
            self._directory.install(after)
        return ReloadReport(
            after.version,
            after.loaded_at,
            _partners(events, DefinitionChange.ADDED),
            _partners(events, DefinitionChange.CHANGED),
            _partners(events, DefinitionChange.REMOVED),
        )


def _append(uow: UnitOfWork, events: list[PartnerDefinitionChanged]) -> None:
    for event in events:
        uow.changes.append(event)


def _partners(events: list[PartnerDefinitionChanged], kind: DefinitionChange) -> tuple[str, ...]:
    return tuple(e.partner for e in events if e.change is kind)
