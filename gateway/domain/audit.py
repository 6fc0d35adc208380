"""The tamper-evident audit log: entries, their canonical encoding and hash chain, signed
checkpoints, and the walk that finds the first broken entry (docs/audit.md).

Every entry is hashed over a canonical JSON encoding of all its fields and the previous entry's
hash, so editing, inserting or deleting a row breaks the chain from that row on; checkpoints
(position, head hash, time) signed with the gateway's key pin the chain up to their position, so
even a chain rewritten from some row to the end no longer matches what was signed. The chain
holds digests of raw bytes, never the bytes: raw messages may be purged and the chain still
verifies.

Standard library only: the same encoding is reimplemented, for third parties, by the standalone
``verify_bundle.py`` shipped in every evidence bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

#: Version of the entry and checkpoint encodings (part of what is hashed and signed).
ENCODING_VERSION = 1
#: prev_hash of the first entry: 64 hex zeros.
GENESIS_HASH = "0" * 64
CHECKPOINT_TYPE = "aeo-gateway.audit.checkpoint"

#: Detail values: JSON without floats, so the encoding is one byte string in every language.
DetailValue = str | int | bool | None | list[Any] | dict[str, Any]


class AuditKind(Enum):
    """What an entry records: a small, stable set (docs/audit.md)."""

    #: A partner's status message received, verified and stored (with the receipt we signed).
    MESSAGE_RECEIVED = "message.received"
    #: A home message sealed for a partner: its bytes are fixed and about to be sent.
    MESSAGE_SENT = "message.sent"
    #: A partner's signed receipt settled a message we sent.
    RECEIPT_RECEIVED = "receipt.received"
    #: A partner's outcome report received, verified and stored.
    OUTCOME_REPORT_RECEIVED = "outcome_report.received"
    #: A mutating call by an administrator (or the home registry) on any gateway service.
    ADMIN_ACTION = "admin.action"
    #: A partner's call that stores no message of its own: a test message during onboarding,
    #: an announcement of its new signing key.
    PARTNER_CALL = "partner.call"


KINDS = {k.value: k for k in AuditKind}


def _us(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, ASCII only, no floats: one byte string per value."""
    _check_detail(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _check_detail(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("audit details hold no floats (write them as strings)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("audit detail keys are strings")
            _check_detail(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_detail(item)
    elif not isinstance(value, str | int | bool | None):
        raise ValueError(f"audit details hold JSON values, not {type(value).__name__}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something to record. ``digest`` and ``receipt_digest`` are lowercase hex SHA-256 of the
    raw bytes (empty when there are none); ``subject`` is what the entry is about (a message id,
    an RPC method)."""

    kind: AuditKind
    at: datetime
    partner: str = ""
    actor_subject: str = ""
    actor_fingerprint: str = ""
    subject: str = ""
    sequence: int | None = None
    digest: str = ""
    key_id: str = ""
    receipt_digest: str = ""
    detail: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_detail(dict(self.detail))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event at its place in the chain."""

    position: int
    event: AuditEvent
    prev_hash: str
    entry_hash: str


def entry_document(position: int, event: AuditEvent, prev_hash: str) -> dict[str, Any]:
    """Every field of an entry, as hashed (docs/audit.md, "Entry hash")."""
    return {
        "v": ENCODING_VERSION,
        "position": position,
        "recorded_at": _us(event.at),
        "kind": event.kind.value,
        "partner": event.partner,
        "actor_subject": event.actor_subject,
        "actor_fingerprint": event.actor_fingerprint,
        "subject": event.subject,
        "sequence": event.sequence,
        "digest": event.digest,
        "key_id": event.key_id,
        "receipt_digest": event.receipt_digest,
        "detail": dict(event.detail),
        "prev_hash": prev_hash,
    }


def entry_hash(position: int, event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 (hex) of the entry's canonical JSON, its prev_hash included."""
    return sha256_hex(canonical_json(entry_document(position, event, prev_hash)))


def chain(start: int, prev_hash: str, events: Iterable[AuditEvent]) -> list[AuditEntry]:
    """``events`` as entries numbered from ``start``, each linked to the one before."""
    entries = []
    position, prev = start, prev_hash
    for event in events:
        digest = entry_hash(position, event, prev)
        entries.append(AuditEntry(position, event, prev, digest))
        position, prev = position + 1, digest
    return entries


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's head at ``position``, signed by the gateway."""

    position: int
    head_hash: str
    signed_at: datetime
    key_id: str
    algorithm: str
    signature: bytes = b""


def checkpoint_payload(c: Checkpoint) -> bytes:
    """The bytes a checkpoint's signature covers (docs/audit.md, "Checkpoints")."""
    return canonical_json(
        {
            "type": CHECKPOINT_TYPE,
            "v": ENCODING_VERSION,
            "position": c.position,
            "head_hash": c.head_hash,
            "signed_at": _us(c.signed_at),
            "key_id": c.key_id,
            "algorithm": c.algorithm,
        }
    )


def checkpoint_due(
    head: int,
    last_position: int,
    last_at: datetime | None,
    now: datetime,
    every: int,
    after_s: float,
) -> bool:
    """Whether a new checkpoint is due: ``every`` entries since the last, or new entries and
    ``after_s`` seconds since it."""
    if head <= last_position:
        return False
    if head - last_position >= every:
        return True
    return last_at is None or (now - last_at).total_seconds() >= after_s


class Breach(Enum):
    """What is wrong at the first broken entry."""

    #: The entry's fields no longer hash to its stored hash: the row was edited.
    EDITED = "edited"
    #: The entry links to a previous hash other than its predecessor's: the predecessor was
    #: rewritten with a recomputed hash, or an entry was inserted.
    RELINKED = "relinked"
    #: Positions jump: entries were deleted.
    DELETED = "deleted"
    #: A checkpoint's signature does not verify with the gateway's public key.
    BAD_CHECKPOINT_SIGNATURE = "bad_checkpoint_signature"
    #: A validly signed checkpoint names a head hash the chain no longer has at its position.
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"


@dataclass(frozen=True, slots=True)
class Problem:
    position: int
    breach: Breach
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    entries: int
    checkpoints: int
    head_position: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainWalk:
    """Fed every entry in position order, then every checkpoint: finds the first problem."""

    def __init__(self, checkpoint_positions: Iterable[int] = ()) -> None:
        self._expected = 1
        self._prev = GENESIS_HASH
        self._wanted = set(checkpoint_positions)
        #: Stored hashes at checkpoint positions.
        self._at: dict[int, str] = {}
        self.problem: Problem | None = None
        self.entries = 0

    def feed(self, entry: AuditEntry) -> None:
        self.entries += 1
        if self.problem is None:
            self.problem = self._check(entry)
        if entry.position < self._expected:  # a row whose position is no number any more
            return
        if entry.position in self._wanted:
            self._at[entry.position] = entry.entry_hash
        self._expected = entry.position + 1
        self._prev = entry.entry_hash

    def _check(self, entry: AuditEntry) -> Problem | None:
        if entry.position < self._expected:
            return Problem(
                self._expected,
                Breach.EDITED,
                f"a row whose position no longer reads as a number follows entry "
                f"{self._expected - 1}: entry {self._expected} was edited",
            )
        if entry.position > self._expected:
            missing = (
                f"entry {self._expected} is missing"
                if entry.position == self._expected + 1
                else f"entries {self._expected} to {entry.position - 1} are missing"
            )
            return Problem(self._expected, Breach.DELETED, f"{missing}: deleted")
        if entry_hash(entry.position, entry.event, entry.prev_hash) != entry.entry_hash:
            return Problem(
                entry.position,
                Breach.EDITED,
                f"entry {entry.position} does not hash to its stored hash: edited",
            )
        if entry.prev_hash != self._prev:
            before = entry.position - 1
            return Problem(
                before,
                Breach.RELINKED,
                f"entry {entry.position} does not link to entry {before}: entry {before} was "
                "rewritten with a new hash, or an entry was inserted",
            )
        return None

    def finish(
        self,
        head_position: int,
        checkpoints: Iterable[Checkpoint],
        signature_valid: Any,
    ) -> Verdict:
        """The verdict, once every entry was fed; ``head_position``: where the store says the
        chain ends; ``signature_valid(checkpoint) -> bool``."""
        problems = [self.problem] if self.problem else []
        last = self._expected - 1
        if head_position > last:
            problems.append(
                Problem(
                    last + 1,
                    Breach.DELETED,
                    f"the chain ends at entry {last} but its head is at {head_position}: "
                    f"entries {last + 1} to {head_position} were deleted",
                )
            )
        count = 0
        for c in checkpoints:
            count += 1
            if not signature_valid(c):
                problems.append(
                    Problem(
                        c.position,
                        Breach.BAD_CHECKPOINT_SIGNATURE,
                        f"the checkpoint at entry {c.position} does not verify with the "
                        "gateway's public key: forged or altered",
                    )
                )
                continue
            stored = self._at.get(c.position)
            if stored is None:
                problems.append(
                    Problem(
                        c.position,
                        Breach.DELETED,
                        f"entry {c.position}, signed in a checkpoint, is missing: deleted",
                    )
                )
            elif stored != c.head_hash:
                problems.append(
                    Problem(
                        c.position,
                        Breach.CHECKPOINT_MISMATCH,
                        f"entry {c.position} has another hash than the signed checkpoint "
                        "says: the chain was rewritten up to here",
                    )
                )
        first = min(problems, key=lambda p: p.position) if problems else None
        return Verdict(self.entries, count, last, self._prev, first)


def sent_message_id(partner: str, sequence: int, digest: bytes) -> str:
    """The id the audit log (and `audit export`) gives a message sealed for ``partner``."""
    return f"out-{partner}-{sequence}-{digest[:8].hex()}"
