"""Home AEO changes out to partners: the decisions of delivery, free of any transport or store.

A partner's changes are sealed into numbered messages (1, 2, ...) and sent lowest unsettled
sequence first. A message is settled only by a receipt signed with the partner's registered key
that names this very message; a failed attempt is retried with a growing, jittered delay; a
message not settled within the age limit is dead-lettered, and delivery goes on with the next.
The age counts from sealing (or a re-drive), and only while the partner is deliverable: time
while it is paused, its MRA not in force or it has no endpoint does not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

# Stable reasons of a failed attempt (OutboundMessage.last_error). A refusal by the partner's
# gateway is "partner." + its gRPC status in lower case, e.g. "partner.invalid_argument".
PARTNER_UNAVAILABLE = "partner.unavailable"
PARTNER_DEADLINE_EXCEEDED = "partner.deadline_exceeded"
RECEIPT_MALFORMED = "receipt.malformed"
RECEIPT_UNKNOWN_KEY = "receipt.unknown_key"
RECEIPT_SIGNATURE_INVALID = "receipt.signature_invalid"
RECEIPT_MISMATCH = "receipt.mismatch"
NO_ENDPOINT = "partner.no_endpoint"
#: An attempt that ended in an error delivery did not expect (a broken answer, a bug).
PARTNER_ERROR = "partner.error"
#: The receiving gateway's refusal of a message issued too long ago (its replay window): a
#: message resent after a long outage is sealed again, issued now (see DeliverPartner._send).
PEER_TOO_OLD = "batch.issued_at_out_of_window"

#: First delay after a failed attempt, and the longest: an admin fixing a partner's
#: configuration sees the next attempt within RETRY_CAP.
RETRY_BASE = timedelta(seconds=1)
RETRY_CAP = timedelta(minutes=5)


class OutboundState(Enum):
    SENDING = "sending"
    SETTLED = "settled"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class QueuedChange:
    """An outbox row: a home record version queued for a partner."""

    id: int
    identifier: str
    version: int
    queued_at: datetime


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A sealed message as stored, with where it is in its delivery."""

    partner: str
    sequence: int
    state: OutboundState
    wire_format: str
    payload: bytes
    digest: bytes
    key_id: str
    algorithm: str
    #: Detached signature over ``payload``; empty for formats that sign inside it.
    signature: bytes
    records: int
    queued_at: datetime
    sealed_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_error: str = ""
    #: Where the dead-letter age counts from: sealing, the last re-drive, or the last time the
    #: partner was seen not deliverable (see age_floor).
    age_from: datetime | None = None
    settled_at: datetime | None = None
    dead_at: datetime | None = None
    receipt: SettledReceipt | None = None
    #: When first sealed (a reseal changes sealed_at, never this): a stable listing order.
    first_sealed_at: datetime | None = None
    #: A consent withdrawal took changes out of it: resealed before it is sent again.
    reseal_due: bool = False


@dataclass(frozen=True, slots=True)
class PeerReceipt:
    """A receipt as the partner's gateway returned it: its exact signed bytes, the signature,
    and what those bytes say (read before the signature is checked: trusted only after)."""

    receipt: bytes
    signature: bytes
    key_id: str
    algorithm: str
    message_id: str
    partner: str
    sequence: int
    payload_sha256: bytes


@dataclass(frozen=True, slots=True)
class SettledReceipt:
    """The evidence kept for a settled message."""

    receipt: bytes
    signature: bytes
    key_id: str
    algorithm: str
    peer_message_id: str
    #: SHA-256 of the partner's receipt key's DER SubjectPublicKeyInfo, for the audit log.
    key_sha256: str = ""


@dataclass(frozen=True, slots=True)
class OutboundSummary:
    """A partner's outbound delivery at a glance (Admin PartnerState.outbound)."""

    backlog: int
    oldest_queued_at: datetime | None
    last_settled_sequence: int
    dead_letters: int


class Step(Enum):
    """What delivery does next for a partner."""

    IDLE = "idle"
    SEAL = "seal"
    SEND = "send"
    WAIT = "wait"
    DEAD_LETTER = "dead_letter"


def next_step(
    head: OutboundMessage | None, has_unsealed: bool, now: datetime, max_age: timedelta
) -> Step:
    """``head`` is the partner's lowest unsettled ('sending') message. It goes first: nothing
    is sealed behind it, so no later change overtakes it; once too old it is dead-lettered and
    the next takes its place."""
    if head is not None:
        if is_dead(head, now, max_age):
            return Step.DEAD_LETTER
        return Step.SEND if head.next_attempt_at <= now else Step.WAIT
    return Step.SEAL if has_unsealed else Step.IDLE


def is_dead(message: OutboundMessage, now: datetime, max_age: timedelta) -> bool:
    """Older than ``max_age`` since it was queued (or last re-driven) and still unsettled."""
    start = message.age_from or message.queued_at
    return message.state is OutboundState.SENDING and now - start > max_age


def age_floor(now: datetime, max_age: timedelta) -> datetime:
    """While a partner is not deliverable its unsettled messages' age is held at most this far
    back (close to zero), so a pause of any length leaves them a full window on resume. The
    slack spares a write at every poll."""
    return now - min(max_age / 10, timedelta(minutes=1))


def retry_delay(
    attempts: int, jitter: float, base: timedelta = RETRY_BASE, cap: timedelta = RETRY_CAP
) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: doubling from ``base`` up to
    ``cap``, scaled by ``jitter`` in [0.5, 1] so replicas and partners do not retry in step."""
    if attempts < 1:
        return timedelta(0)
    exponent = min(attempts - 1, 32)  # 2**32 s is far past any cap
    delay: timedelta = min(cap, base * (2**exponent))
    return delay * min(1.0, max(0.5, jitter))


def receipt_problem(receipt: PeerReceipt, message: OutboundMessage, home_code: str) -> str | None:
    """Why a receipt (its signature already verified) does not settle ``message``: it must
    name this message's digest and sequence, and the home administration as the sender."""
    if (
        receipt.payload_sha256 != message.digest
        or receipt.sequence != message.sequence
        or receipt.partner != f"partners/{home_code}"
    ):
        return RECEIPT_MISMATCH
    return None


def refused(status_name: str) -> str:
    """The stable reason of an attempt the partner's gateway answered with ``status_name``."""
    return "partner." + status_name.lower()
