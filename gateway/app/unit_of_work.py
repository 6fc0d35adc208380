"""The unit of work: every store a use case touches, committed together in one transaction.

A handler reads and writes through the repositories and returns; the Transactions port runs
it and commits. How commits are made fast (the SQL adapter groups the work of concurrent
requests into one transaction, one fsync) is the adapter's business, not the handler's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from gateway.app.audit_log import AuditLog
from gateway.domain.consent import ConsentEntry, ConsentState, Told
from gateway.domain.events import DomainEvent
from gateway.domain.messages import SealedReceipt
from gateway.domain.records import AeoRecord, BatchKind, MessageMeta
from gateway.domain.sequences import SequenceState
from gateway.domain.snapshots import Presence

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """Everything kept about a received message: the raw envelope and what we answered."""

    partner: str
    digest: bytes
    meta: MessageMeta
    kind: BatchKind
    issued_at: datetime
    wire_format: str
    payload: bytes
    signature: bytes
    peer: str
    receipt: SealedReceipt


class MessageRepository(Protocol):
    def expect(self, partner: str, digest: bytes) -> None:
        """A work will ask for this receipt: a store may read it with others' in one go."""
        ...

    def receipt(self, partner: str, digest: bytes) -> SealedReceipt | None:
        """The receipt of the message with these bytes, if it was accepted before."""
        ...

    def add(self, message: StoredMessage) -> None: ...


class RecordRepository(Protocol):
    def expect(self, administration: str, identifiers: Collection[str]) -> None:
        """A work will ask for these identifiers' versions: a store may read them in one go."""
        ...

    def latest_versions(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, int]:
        """The highest stored version of each identifier that has one."""
        ...

    def histories(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, Sequence[AeoRecord]]:
        """Every stored version of each identifier that has one, oldest first (the home
        registry builds the next version from the latest and knows a change it has seen)."""
        ...

    def add(self, administration: str, record: AeoRecord, basis: MessageMeta) -> None: ...


class PartnerStateRepository(Protocol):
    def sequence(self, partner: str) -> SequenceState: ...

    def save(self, partner: str, state: SequenceState, received_at: datetime | None) -> None:
        """Stores the partner's state; ``received_at`` is when its message arrived, None for
        a change no message made (an administrator's snapshot request), which keeps the time
        of the last message."""
        ...


class AbsenceRepository(Protocol):
    def note(self, administration: str, presence: Presence) -> None:
        """Closes the open absences of the operators ``presence`` names (those a snapshot
        numbered before it opened) and, for a snapshot that replaces the set, opens one for
        every other operator the administration has sent, unless already open. A store does
        both set-based, and nothing at all for a delta of a partner with no open absence."""
        ...


class Outbox(Protocol):
    def enqueue(self, partner: str, identifier: str, version: int, queued_at: datetime) -> None:
        """Queues a stored home record version for ``partner``, with the transaction: delivery
        (gateway.app.deliver) seals, sends and settles it."""
        ...

    def enqueue_told(
        self,
        partner: str,
        identifier: str,
        version: int,
        basis: int,
        told: Told,
        queued_at: datetime,
    ) -> None:
        """Queues a consent record for ``partner`` alone: home record version ``basis`` told
        as ``told`` under ``version`` (gateway.domain.consent.as_told), sealed in its turn."""
        ...

    def consent_versions(self, identifiers: Collection[str]) -> Mapping[str, int]:
        """The highest consent record version queued (or sealed) for each operator that has
        one, this transaction's included."""
        ...

    def was_sealed(self, partner: str, identifier: str) -> bool:
        """Whether a change of the operator was ever sealed into a message for ``partner``
        (the partner may know of the operator)."""
        ...

    def drop_unsealed(self, partner: str, identifier: str) -> None:
        """Takes the operator's changes not yet sealed for ``partner`` out of its queue (a
        consent withdrawal: nothing queued before it goes out after it)."""
        ...

    def withhold_unsent(self, partner: str, identifier: str) -> None:
        """Takes the operator's changes out of ``partner``'s messages sealed but not settled
        (state sending) and marks those messages to be resealed with what is left, possibly
        nothing, under the same sequence (a consent withdrawal: operator data sealed before it
        is not sent after it)."""
        ...


class ChangeLog(Protocol):
    def append(self, event: DomainEvent) -> None:
        """Recorded with the transaction; gets its cursor, in commit order, on commit."""
        ...


class UnitOfWork(Protocol):
    @property
    def messages(self) -> MessageRepository: ...

    @property
    def records(self) -> RecordRepository: ...

    @property
    def partner_states(self) -> PartnerStateRepository: ...

    @property
    def changes(self) -> ChangeLog: ...

    @property
    def absences(self) -> AbsenceRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def audit(self) -> AuditLog:
        """The tamper-evident audit log (gateway.app.audit_log): entries chained with the
        transaction."""
        ...

    @property
    def consents(self) -> ConsentRepository: ...


class ConsentRepository(Protocol):
    """Operators' consent decisions per partner (docs/data-protection.md)."""

    def current(self, partner: str, identifiers: Collection[str]) -> Mapping[str, ConsentState]:
        """The latest decision of each operator that has one, this transaction's included."""
        ...

    def append(self, entry: ConsentEntry) -> None: ...


Work = Callable[[UnitOfWork], T]


class Transactions(Protocol):
    def run(
        self,
        work: Work[T],
        partners: Collection[str] = (),
        prefetch: Callable[[UnitOfWork], None] | None = None,
    ) -> T:
        """Runs ``work`` in a unit of work and commits; returns once the commit is durable.

        ``partners`` names the partners whose state the work reads or writes: a store that
        serialises writers per partner locks them before the work starts, in one fixed order,
        so concurrent gateways neither deadlock nor decide on stale state. ``prefetch`` says
        (with the repositories' ``expect``) what the work will read; a store that batches runs
        every prefetch of a batch first and reads what they expect together. The work may be run
        again after a transient failure, so it has no effects outside the unit of work. A
        GatewayError it raises undoes its writes and reaches the caller; other work committed
        with it is unaffected.
        """
        ...
