"""AEO records, their lifecycle and the batches partners send them in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum


class RecordStatus(Enum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"


class StatusEvent(Enum):
    UNSPECIFIED = "unspecified"
    GRANTED = "granted"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"
    EXPIRED = "expired"
    AMENDED = "amended"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    REVALIDATED = "revalidated"
    TIER_CHANGED = "tier_changed"


class BatchKind(Enum):
    SNAPSHOT = "snapshot"
    DELTA = "delta"


@dataclass(frozen=True, slots=True)
class AeoRecord:
    """One version of one operator's record, as its issuing administration stated it.

    ``identifier`` is the declared form (e.g. ``SG123456789012``), normalised on ingest.
    """

    identifier: str
    name: str
    address: str
    status: RecordStatus
    tier: str
    version: int
    effective_at: datetime
    event: StatusEvent = StatusEvent.UNSPECIFIED
    authorised_from: date | None = None
    valid_until: date | None = None
    suspended_on: date | None = None
    revoked_on: date | None = None
    consent_withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class MessageMeta:
    """Provenance of a stored record version: which message carried it, how it was signed."""

    message_id: str
    sequence: int
    received_at: datetime
    key_id: str
    algorithm: str


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record version together with the administration that issued it and its provenance."""

    administration: str
    record: AeoRecord
    basis: MessageMeta
    #: When a snapshot of the administration's left the operator out (its issue time), if one
    #: did and no later message named the operator again: it is not recognised from then on.
    absent_since: datetime | None = None
