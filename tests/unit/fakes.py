"""In-memory fakes of the ports, for unit tests of the core and the handlers only."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.app.unit_of_work import StoredMessage, Work
from gateway.domain.audit import AuditEvent
from gateway.domain.consent import ConsentEntry, ConsentState, Told
from gateway.domain.errors import GatewayError, SignatureInvalid
from gateway.domain.events import DomainEvent
from gateway.domain.messages import (
    DecodedBatch,
    InboundMessage,
    OutboundBatch,
    Receipt,
    SealedEnvelope,
    SealedReceipt,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import AeoRecord, MessageMeta
from gateway.domain.sequences import SequenceState
from gateway.domain.snapshots import Presence


@dataclass
class MemoryStore:
    """Everything committed, as dicts."""

    messages: dict[tuple[str, bytes], StoredMessage] = field(default_factory=dict)
    sequences: dict[str, SequenceState] = field(default_factory=dict)
    versions: dict[tuple[str, str], list[tuple[AeoRecord, MessageMeta]]] = field(
        default_factory=dict
    )
    changes: list[DomainEvent] = field(default_factory=list)
    #: What each message said about who is present (the SQL store turns it into absences).
    presences: list[tuple[str, Presence]] = field(default_factory=list)
    #: Queued outbound changes: (partner, identifier, version, queued_at).
    outbox: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    #: Operators' consent decisions, in order.
    consents: list[ConsentEntry] = field(default_factory=list)
    #: Audit events recorded (the SQL store chains them).
    audit: list[AuditEvent] = field(default_factory=list)


class MemoryConsents:
    """The ConsentRepository in memory: every decision, latest wins."""

    def __init__(self, entries: list[ConsentEntry]) -> None:
        self.entries = entries  # the store's: kept at once (no rollback in these fakes)

    def current(self, partner: str, identifiers: Collection[str]) -> Mapping[str, ConsentState]:
        found = {e.identifier: e.state for e in self.entries if e.partner == partner}
        return {i: found[i] for i in identifiers if i in found}

    def append(self, entry: ConsentEntry) -> None:
        self.entries.append(entry)


class _MemoryAudit:
    """The AuditLog port: events kept aside until commit."""

    def __init__(self, store: MemoryStore) -> None:
        self.staged: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        self.staged.append(event)


class MemoryUnitOfWork:
    """The UnitOfWork port over a MemoryStore: writes are kept aside until commit."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.added: list[StoredMessage] = []
        self.versions: list[tuple[str, AeoRecord, MessageMeta]] = []
        self.saved: dict[str, SequenceState] = {}
        self.events: list[DomainEvent] = []
        self.noted: list[tuple[str, Presence]] = []
        self.messages = self
        self.records = self
        self.partner_states = self
        self.changes = self
        self.absences = self
        self.outbox = self
        self.audit = _MemoryAudit(store)
        self.queued: list[tuple[str, str, int, datetime]] = []
        #: Highest consent record version per operator (this fake keeps it per work).
        self.told: dict[str, int] = {}
        self.consents = MemoryConsents(store.consents)

    # MessageRepository and RecordRepository: nothing to gain from announced reads in memory
    def expect(self, *keys: Any) -> None:
        pass

    # MessageRepository
    def receipt(self, partner: str, digest: bytes) -> SealedReceipt | None:
        found = self._store.messages.get((partner, digest))
        return found.receipt if found else None

    def add(self, *item: Any) -> None:
        if len(item) == 1:
            self.added.append(item[0])
        else:
            self.versions.append(item)

    # RecordRepository
    def latest_versions(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, int]:
        return {
            i: max(r.version for r, _ in self._store.versions[(administration, i)])
            for i in identifiers
            if (administration, i) in self._store.versions
        }

    def histories(
        self, administration: str, identifiers: Collection[str]
    ) -> Mapping[str, list[AeoRecord]]:
        found = {}
        for i in identifiers:
            versions = [r for r, _ in self._store.versions.get((administration, i), [])]
            versions += [r for a, r, _ in self.versions if (a, r.identifier) == (administration, i)]
            if versions:
                found[i] = sorted(versions, key=lambda r: r.version)
        return found

    # PartnerStateRepository
    def sequence(self, partner: str) -> SequenceState:
        return self._store.sequences.get(partner, SequenceState())

    def save(self, partner: str, state: SequenceState, received_at: datetime | None) -> None:
        self.saved[partner] = state

    # ChangeLog
    def append(self, event: DomainEvent) -> None:
        self.events.append(event)

    # AbsenceRepository
    def note(self, administration: str, presence: Presence) -> None:
        self.noted.append((administration, presence))

    # Outbox
    def enqueue(self, partner: str, identifier: str, version: int, queued_at: datetime) -> None:
        self.queued.append((partner, identifier, version, queued_at))

    def enqueue_told(
        self,
        partner: str,
        identifier: str,
        version: int,
        basis: int,
        told: Told,
        queued_at: datetime,
    ) -> None:
        self.queued.append((partner, identifier, version, queued_at))
        self.told[identifier] = max(self.told.get(identifier, 0), version)

    def consent_versions(self, identifiers: Collection[str]) -> Mapping[str, int]:
        return {i: v for i, v in self.told.items() if i in identifiers}

    def was_sealed(self, partner: str, identifier: str) -> bool:
        return False  # these fakes never seal

    def withhold_unsent(self, partner: str, identifier: str) -> None:
        pass  # nothing sealed to withhold

    def drop_unsealed(self, partner: str, identifier: str) -> None:
        self.queued = [q for q in self.queued if q[:2] != (partner, identifier)]

    def commit(self) -> None:
        self._store.audit.extend(self.audit.staged)
        self._store.outbox.extend(self.queued)
        for message in self.added:
            self._store.messages[(message.partner, message.digest)] = message
        for administration, record, meta in self.versions:
            self._store.versions.setdefault((administration, record.identifier), []).append(
                (record, meta)
            )
        self._store.sequences.update(self.saved)
        self._store.changes.extend(self.events)
        self._store.presences.extend(self.noted)


class InlineTransactions:
    """The Transactions port, one unit of work per run, committed unless the work raises."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.locked: list[Collection[str]] = []

    def run(
        self,
        work: Work[Any],
        partners: Collection[str] = (),
        prefetch: Callable[[Any], None] | None = None,
    ) -> Any:
        self.locked.append(partners)
        uow = MemoryUnitOfWork(self.store)
        if prefetch is not None:
            prefetch(uow)
        result = work(uow)
        uow.commit()
        return result


class ReprSealer:
    """Seals a receipt as its repr, signed with a marker: enough to compare receipts."""

    def __init__(self) -> None:
        self.sealed: list[Receipt] = []

    def seal(self, receipt: Receipt) -> SealedReceipt:
        self.sealed.append(receipt)
        return SealedReceipt(repr(receipt).encode(), b"sig", "GW", "ed25519")


class TableCodec:
    """Opens payloads by looking them up: the test decides what each payload 'decodes' to.
    The signature is checked through the key resolver like a real codec's."""

    name = "native"

    def __init__(self) -> None:
        self.batches: dict[bytes, DecodedBatch] = {}

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        assert message.detached is not None
        key = keys.resolve(message.detached.key_id, message.detached.algorithm)
        if not key.verify(message.payload, message.detached.signature):
            raise SignatureInvalid("bad signature")
        return self.batches[message.payload]

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        raise GatewayError("the table codec only opens")
