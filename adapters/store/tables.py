"""Rows of the store's tables and their mapping to domain objects. Every statement names its
columns, so none depends on the order a migration created them in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from gateway.app.unit_of_work import StoredMessage
from gateway.domain.events import (
    Change,
    DefinitionChange,
    DomainEvent,
    PartnerDefinitionChanged,
    ProgrammeStateChanged,
    RecordVersionApplied,
)
from gateway.domain.programme import ProgrammeEntry, ProgrammeState
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus, StatusEvent, StoredRecord
from gateway.domain.sequences import SequenceState
from gateway.times import from_us, to_us

RECORD_COLUMNS = (
    "identifier",
    "version",
    "effective_at",
    "status",
    "event",
    "tier",
    "name",
    "address",
    "authorised_from",
    "valid_until",
    "suspended_on",
    "revoked_on",
    "consent_withdrawn",
    "message_id",
    "sequence",
    "received_at",
    "key_id",
    "algorithm",
)
MESSAGE_COLUMNS = (
    "partner",
    "digest",
    "message_id",
    "sequence",
    "kind",
    "issued_at",
    "received_at",
    "wire_format",
    "key_id",
    "algorithm",
    "payload",
    "signature",
    "peer",
    "receipt",
    "receipt_signature",
    "receipt_key_id",
    "receipt_algorithm",
)
CHANGE_COLUMNS = (
    "recorded_at",
    "kind",
    "administration",
    "subject",
    "version",
    "status",
    "event",
    "effective_at",
    "message_id",
    "body",
)

STATUSES = {s.value: s for s in RecordStatus}
_EVENTS = {e.value: e for e in StatusEvent}


def columns(names: Sequence[str]) -> str:
    return ", ".join(names)


def insert(table: str, names: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({columns(names)}) VALUES ({', '.join('?' * len(names))})"


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


#: Enum member -> stored text, looked up per row (faster than the enum's ``value`` property).
_STATUS_TEXT = {s: s.value for s in RecordStatus}
_EVENT_TEXT = {e: e.value for e in StatusEvent}


def record_row(administration: str, r: AeoRecord, meta: MessageMeta) -> tuple[Any, ...]:
    """A row for ``administration`` + RECORD_COLUMNS. Built once per stored record: kept to
    plain operations."""
    days = r.authorised_from, r.valid_until, r.suspended_on, r.revoked_on
    return (
        administration,
        r.identifier,
        r.version,
        to_us(r.effective_at),
        _STATUS_TEXT[r.status],
        _EVENT_TEXT[r.event],
        r.tier,
        r.name,
        r.address,
        *[d.isoformat() if d else None for d in days],
        int(r.consent_withdrawn),
        meta.message_id,
        meta.sequence,
        to_us(meta.received_at),
        meta.key_id,
        meta.algorithm,
    )


def stored_record(administration: str, row: Sequence[Any]) -> StoredRecord:
    """From a row of RECORD_COLUMNS."""
    (
        identifier,
        version,
        effective_at,
        status,
        event,
        tier,
        name,
        address,
        authorised_from,
        valid_until,
        suspended_on,
        revoked_on,
        consent,
        message_id,
        sequence,
        received_at,
        key_id,
        algorithm,
    ) = row
    record = AeoRecord(
        identifier=identifier,
        name=name,
        address=address,
        status=STATUSES[status],
        tier=tier,
        version=version,
        effective_at=from_us(effective_at),
        event=_EVENTS[event],
        authorised_from=_day(authorised_from),
        valid_until=_day(valid_until),
        suspended_on=_day(suspended_on),
        revoked_on=_day(revoked_on),
        consent_withdrawn=bool(consent),
    )
    meta = MessageMeta(message_id, sequence, from_us(received_at), key_id, algorithm)
    return StoredRecord(administration, record, meta)


def message_row(m: StoredMessage) -> tuple[Any, ...]:
    """A row of MESSAGE_COLUMNS."""
    return (
        m.partner,
        m.digest,
        m.meta.message_id,
        m.meta.sequence,
        m.kind.value,
        to_us(m.issued_at),
        to_us(m.meta.received_at),
        m.wire_format,
        m.meta.key_id,
        m.meta.algorithm,
        m.payload,
        m.signature,
        m.peer,
        m.receipt.receipt,
        m.receipt.signature,
        m.receipt.key_id,
        m.receipt.algorithm,
    )


SEQUENCE_COLUMNS = ("last_sequence", "gaps", "needs_snapshot", "written_off")


def sequence_row(state: SequenceState) -> tuple[Any, ...]:
    """A row of SEQUENCE_COLUMNS; the gaps as JSON, as many as the domain's bound keeps."""
    gaps = json.dumps([list(g) for g in state.gaps])
    return (state.last, gaps, int(state.needs_snapshot), state.written_off)


def sequence_state(row: Sequence[Any]) -> SequenceState:
    """From a row of SEQUENCE_COLUMNS."""
    last, gaps, needs_snapshot, written_off = row
    return SequenceState(
        int(last),
        tuple((int(a), int(b)) for a, b in json.loads(gaps)),
        bool(needs_snapshot),
        int(written_off),
    )


def change_row(event: DomainEvent) -> tuple[Any, ...]:
    """A row of CHANGE_COLUMNS without its first, recorded_at (known at commit)."""
    if isinstance(event, RecordVersionApplied):
        return (
            "record_version_applied",
            event.administration,
            event.identifier,
            event.version,
            _STATUS_TEXT[event.status],
            _EVENT_TEXT[event.event],
            to_us(event.effective_at),
            event.message_id,
            None,
        )
    if isinstance(event, ProgrammeStateChanged):
        return _programme_change_row(event.entry)
    body = {"directory_version": event.directory_version, "change": event.change.value}
    return (
        "partner_definition_changed",
        event.partner,
        event.partner,
        *(None,) * 5,
        json.dumps(body),
    )


def change(row: Sequence[Any]) -> Change:
    """From a row of ("cursor", *CHANGE_COLUMNS)."""
    cursor, recorded_at, kind, administration, subject, version, status, event_, at, message = row[
        :10
    ]
    event: DomainEvent
    if kind == "record_version_applied":
        event = RecordVersionApplied(
            administration,
            subject,
            int(version),
            STATUSES[status],
            _EVENTS[event_],
            from_us(at),
            message,
        )
    elif kind == "programme_state_changed":
        event = ProgrammeStateChanged(_programme_entry(subject, status, at, row[10]))
    else:
        body = json.loads(row[10])
        event = PartnerDefinitionChanged(
            subject, int(body["directory_version"]), DefinitionChange(body["change"])
        )
    return Change(int(cursor), from_us(recorded_at), event)


PROGRAMME_STATES = {s.value: s for s in ProgrammeState}
#: A programme entry as PROGRAMME_COLUMNS (table programme_states, migration 0006).
PROGRAMME_COLUMNS = (
    "partner",
    "state",
    "effective_from",
    "suspends_at",
    "reason",
    "actor",
    "recorded_at",
)


def programme_row(e: ProgrammeEntry) -> tuple[Any, ...]:
    """A row of PROGRAMME_COLUMNS."""
    suspends = to_us(e.suspends_at) if e.suspends_at is not None else None
    return (
        e.partner,
        e.state.value,
        to_us(e.effective_from),
        suspends,
        e.reason,
        e.actor,
        to_us(e.recorded_at),
    )


def programme_entry(row: Sequence[Any]) -> ProgrammeEntry:
    """From a row of PROGRAMME_COLUMNS."""
    partner, state, effective_from, suspends_at, reason, actor, recorded_at = row
    return ProgrammeEntry(
        partner,
        PROGRAMME_STATES[state],
        from_us(effective_from),
        reason,
        actor,
        from_us(recorded_at),
        from_us(suspends_at) if suspends_at is not None else None,
    )


def _programme_change_row(e: ProgrammeEntry) -> tuple[Any, ...]:
    """The change-log row of a programme entry: the state in ``status``, when it takes effect
    in ``effective_at``, the rest in ``body``."""
    body = {
        "reason": e.reason,
        "actor": e.actor,
        "recorded_at": to_us(e.recorded_at),
        "suspends_at": to_us(e.suspends_at) if e.suspends_at is not None else None,
    }
    row = programme_row(e)
    return ("programme_state_changed", e.partner, e.partner, None, row[1], None, row[2], None,
            json.dumps(body))  # fmt: skip


def _programme_entry(partner: str, state: str, effective_from: int, body: str) -> ProgrammeEntry:
    found = json.loads(body)
    return programme_entry(
        (partner, state, effective_from, found["suspends_at"], found["reason"], found["actor"],
         found["recorded_at"])
    )  # fmt: skip
