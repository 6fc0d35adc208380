"""Use case: the home credit system records enterprise grade changes.

Each change becomes the enterprise's next record version, its change-log event and, when it
concerns partners, one outbox row per partner to be told, all in one transaction that holds the
home administration's row: home changes are serialised across gateway replicas, so versions
follow one another without races, and without gaps except above a consent record (a version
told one partner alone, gateway.domain.consent): the next home version is numbered above it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from gateway.app.unit_of_work import Transactions, UnitOfWork
from gateway.domain.consent import granted, home_floor, receives_operator_data
from gateway.domain.directory import Directory
from gateway.domain.events import RecordVersionApplied
from gateway.domain.home_registry import CheckedChange, GradeChange, check, next_version
from gateway.domain.ports import Clock
from gateway.domain.records import AeoRecord, MessageMeta

#: Identifiers read from the store at once while a bulk load is applied.
READ_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class GradeChangeResult:
    record: AeoRecord
    grade_scheme: str
    aeo: bool
    duplicate: bool
    #: Partner codes the change was queued for, sorted.
    queued_for: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BulkResult:
    results: tuple[GradeChangeResult, ...]

    @property
    def new_versions(self) -> int:
        return sum(not r.duplicate for r in self.results)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicate for r in self.results)

    def queued_per_partner(self) -> dict[str, int]:
        return dict(sorted(Counter(p for r in self.results for p in r.queued_for).items()))


def _no_wake(partners: Collection[str]) -> None:
    pass


def _never_retired(partner: str) -> bool:
    return False


def _without_consent(
    uow: UnitOfWork,
    directory: Directory,
    recipients: Sequence[str],
    chunk: Sequence[CheckedChange],
) -> set[tuple[str, str]]:
    """(partner, identifier) pairs not to queue: the partner asks for consent and the
    operator's is not granted now (read in this transaction, which holds the home row that
    consent decisions take too: docs/data-protection.md)."""
    asking = [p for p in recipients if directory.partners[p].data_protection.consent_required]
    refused: set[tuple[str, str]] = set()
    identifiers = {c.identifier for c in chunk}
    for partner in asking:
        states = uow.consents.current(partner, identifiers)
        refused.update((partner, i) for i in identifiers if not granted(states.get(i)))
    return refused


class RecordGradeChange:
    """One change (the RPC) or many in one transaction (``home import``)."""

    def __init__(
        self,
        transactions: Transactions,
        clock: Clock,
        key_id: str,
        algorithm: str,
        queued: Callable[[Collection[str]], None] = _no_wake,
        retired: Callable[[str], bool] = _never_retired,
    ) -> None:
        self._transactions = transactions
        self._clock = clock
        self._key_id = key_id
        self._algorithm = algorithm
        #: Told, after commit, which partners have new changes queued (delivery wakes up).
        self._queued = queued
        #: Whether a partner is retired (gateway.app.lifecycle): it is queued nothing more.
        self._retired = retired

    def __call__(self, change: GradeChange, directory: Directory) -> GradeChangeResult:
        return self.many([change], directory).results[0]

    def check(self, change: GradeChange, directory: Directory) -> CheckedChange:
        """What holds of a change on its own (a bulk load checks every row before any is
        applied); raises the change's GatewayError."""
        return check(directory.home, change, self._clock.now())

    def many(self, changes: Sequence[GradeChange], directory: Directory) -> BulkResult:
        """Every change checked, then all applied in order in one transaction: a refusal of
        any (an unknown enterprise) applies none."""
        now = self._clock.now()
        return self.apply([check(directory.home, c, now) for c in changes], directory)

    def apply(self, checked: Sequence[CheckedChange], directory: Directory) -> BulkResult:
        """Changes already checked (``check``), applied in order in one transaction."""
        now = self._clock.now()
        home = directory.home
        recipients = sorted(
            code
            for code, partner in directory.partners.items()
            if receives_operator_data(partner, home.day_of(now)) and not self._retired(code)
        )
        result = self._transactions.run(
            lambda uow: self._apply(uow, directory, checked, recipients, now),
            partners=(home.code,),
        )
        woken = {p for r in result.results for p in r.queued_for}
        if woken:
            self._queued(sorted(woken))
        return result

    def _apply(
        self,
        uow: UnitOfWork,
        directory: Directory,
        checked: Sequence[CheckedChange],
        recipients: Sequence[str],
        now: datetime,
    ) -> BulkResult:
        home = directory.home.code
        meta = MessageMeta(
            f"{home}-registry-{uuid.uuid4().hex}", 0, now, self._key_id, self._algorithm
        )
        results = []
        for start in range(0, len(checked), READ_CHUNK):
            chunk = checked[start : start + READ_CHUNK]
            # Read once per chunk; the versions this work adds are read back from the stage.
            uow.records.histories(home, {c.identifier for c in chunk})
            refused = _without_consent(uow, directory, recipients, chunk)
            told = uow.outbox.consent_versions({c.identifier for c in chunk})
            for item in chunk:
                history = uow.records.histories(home, (item.identifier,)).get(item.identifier, ())
                to = [p for p in recipients if (p, item.identifier) not in refused]
                floor = told.get(item.identifier)
                results.append(self._one(uow, directory, item, history, to, meta, floor))
        return BulkResult(tuple(results))

    def _one(
        self,
        uow: UnitOfWork,
        directory: Directory,
        item: CheckedChange,
        history: Sequence[AeoRecord],
        recipients: Sequence[str],
        meta: MessageMeta,
        told: int | None,
    ) -> GradeChangeResult:
        home = directory.home.code
        nxt = next_version(directory.home, history, item)
        if nxt.record is None:
            return GradeChangeResult(nxt.current, nxt.scheme.name, nxt.aeo, True, ())
        # Numbered above the consent records a partner may hold (gateway.domain.consent).
        record = replace(nxt.record, version=home_floor(nxt.record.version, told))
        uow.records.add(home, record, meta)
        uow.changes.append(
            RecordVersionApplied(
                home,
                record.identifier,
                record.version,
                record.status,
                record.event,
                record.effective_at,
                meta.message_id,
            )
        )
        queued_for = tuple(recipients) if nxt.concerns_partners else ()
        for partner in queued_for:
            uow.outbox.enqueue(partner, record.identifier, record.version, meta.received_at)
        return GradeChangeResult(record, nxt.scheme.name, nxt.aeo, False, queued_for)
