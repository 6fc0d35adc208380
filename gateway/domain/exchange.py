"""Receiving a partner's signed status message: the rules, as pure functions.

``accept`` turns what a codec decoded into a message the gateway will record (or refuses it);
``decide`` says, given what is stored, which records apply, what the sequence becomes and what
the receipt says. The application layer reads, calls these, and persists the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gateway.domain.codes import normalise
from gateway.domain.errors import (
    GatewayError,
    IssuedAtOutsideWindow,
    PartnerImpersonation,
    TooManyRecords,
    shown,
)
from gateway.domain.messages import DecodedBatch, InboundMessage, Receipt, Rejection
from gateway.domain.partners import Partner
from gateway.domain.records import AeoRecord, BatchKind, MessageMeta, RecordStatus
from gateway.domain.sequences import MAX_OPEN_GAPS, Gap, SequenceState, advance
from gateway.domain.validation import check_header, validate_record

#: How many open gaps a receipt lists: the newest, which the partner most likely still holds and
#: which are the last to be written off; ``open_gaps_total`` gives the count of all of them.
RECEIPT_GAPS = 32

#: A record must carry a tier of the partner's vocabulary, except one that is not valid: a
#: suspended, revoked or expired operator earns no treatment, so its tier may be left empty.
_VALID = RecordStatus.VALID


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int
    max_records: int
    clock_skew: timedelta
    max_open_gaps: int = MAX_OPEN_GAPS
    #: How long before its receipt a message may have been issued; None: ``clock_skew``. Files
    #: imported out of band (a back-fill) are older than any live message may be.
    max_age: timedelta | None = None


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A message whose signature held and whose batch passed every whole-message check."""

    inbound: InboundMessage
    partner: str
    sequence: int
    issued_at: datetime
    kind: BatchKind
    key_id: str
    algorithm: str
    records: tuple[AeoRecord, ...]
    rejected: tuple[Rejection, ...]
    digest: bytes
    #: Identifiers (declared form) of records refused for their content, not their identifier:
    #: a snapshot still names these operators (see snapshots.presence).
    refused_named: tuple[str, ...] = ()
    #: Raised by ``decide`` unless these exact bytes were accepted before: a late retry of an
    #: accepted message still gets its original receipt rather than, say, a stale-clock refusal.
    refusal: GatewayError | None = None

    @property
    def message_id(self) -> str:
        return f"{self.partner}-{self.sequence}-{self.digest[:8].hex()}"

    @property
    def meta(self) -> MessageMeta:
        return MessageMeta(
            self.message_id, self.sequence, self.inbound.received_at, self.key_id, self.algorithm
        )


def accept(
    message: InboundMessage, batch: DecodedBatch, partner: Partner, limits: Limits
) -> VerifiedMessage:
    """Whole-message checks after the signature held; records validated and normalised."""
    check_header(batch)
    if batch.partner != message.partner:
        raise PartnerImpersonation(
            f"partner {message.partner} may not submit for {shown(batch.partner)}",
            claimed=batch.partner,
        )
    if len(batch.drafts) > limits.max_records:
        raise TooManyRecords(
            f"{len(batch.drafts)} records in one message; the limit is {limits.max_records}",
            limit=str(limits.max_records),
        )
    refusal = None
    lag = message.received_at - batch.issued_at
    max_age = limits.clock_skew if limits.max_age is None else limits.max_age
    if lag > max_age or -lag > limits.clock_skew:
        refusal = IssuedAtOutsideWindow(
            f"issued_at {batch.issued_at.isoformat()} is {abs(lag)} from the gateway's clock; "
            f"the window is {max_age} before it to {limits.clock_skew} after it",
        )
    records: list[AeoRecord] = []
    rejected: list[Rejection] = []
    refused_named: list[str] = []
    for draft in batch.drafts:
        checked = validate_record(draft)
        if isinstance(checked, Rejection):
            rejected.append(checked)
            named = _canonical(partner, draft.identifier)
            if named is not None:
                refused_named.append(named)
            continue
        # The rule that reads declared codes reads partners' identifiers too: an identifier
        # is stored only in a form a declaration can name without any lossy fold.
        canonical = _canonical(partner, checked.identifier)
        if canonical is None:
            rejected.append(
                Rejection(
                    checked.identifier,
                    checked.version,
                    "record.identifier_invalid",
                    f"not a {partner.code} identifier",
                )
            )
            continue
        if checked.tier not in partner.tiers and (checked.tier or checked.status is _VALID):
            rejected.append(
                Rejection(
                    canonical,
                    checked.version,
                    "record.tier_unknown",
                    f"tier {shown(checked.tier)} is not one of {partner.code}'s: "
                    f"{', '.join(partner.tiers)}",
                )
            )
            refused_named.append(canonical)
        elif canonical == checked.identifier:
            records.append(checked)
        else:
            records.append(replace(checked, identifier=canonical))
    return VerifiedMessage(
        inbound=message,
        partner=partner.code,
        sequence=batch.sequence,
        issued_at=batch.issued_at,
        kind=batch.kind,
        key_id=batch.key_id,
        algorithm=batch.algorithm,
        records=tuple(records),
        rejected=tuple(rejected),
        digest=hashlib.sha256(message.payload).digest(),
        refused_named=tuple(refused_named),
        refusal=refusal,
    )


def _canonical(partner: Partner, identifier: str) -> str | None:
    """The identifier in declared form, or None when it is not one of the partner's."""
    code = normalise(identifier)
    return partner.identifiers.canonical(code) if code else None


@dataclass(frozen=True, slots=True)
class Decision:
    """What recording an accepted message changes, and the receipt that says so."""

    applied: tuple[AeoRecord, ...]
    sequence: SequenceState
    receipt: Receipt


def decide(
    message: VerifiedMessage,
    sequence: SequenceState,
    latest: Mapping[str, int],
    max_open_gaps: int = MAX_OPEN_GAPS,
) -> Decision:
    """Applies the version and sequence rules to a message not accepted before.

    A record whose version is not newer than the stored one is not applied and the receipt
    says so; several versions of one operator in one message apply in order. A snapshot closes
    the gaps below it. Raises the message's refusal, or SequenceReused; nothing is decided
    after a refusal.
    """
    if message.refusal is not None:
        raise message.refusal
    after, gap = advance(
        sequence,
        message.sequence,
        snapshot=message.kind is BatchKind.SNAPSHOT,
        max_open=max_open_gaps,
    )
    newest = dict(latest)
    applied: list[AeoRecord] = []
    ignored = list(message.rejected)
    for record in message.records:
        stored = newest.get(record.identifier)
        if stored is not None and record.version <= stored:
            ignored.append(
                Rejection(
                    record.identifier,
                    record.version,
                    "record.stale_version",
                    f"stored version is {stored}",
                )
            )
            continue
        applied.append(record)
        newest[record.identifier] = record.version
    gaps: tuple[Gap, ...] = (gap,) if gap else ()
    receipt = Receipt(
        message_id=message.message_id,
        partner=message.partner,
        sequence=message.sequence,
        digest=message.digest,
        received_at=message.inbound.received_at,
        received=len(message.records) + len(message.rejected),
        applied=len(applied),
        ignored=tuple(ignored),
        gaps_detected=gaps,
        open_gaps=after.newest_gaps(RECEIPT_GAPS),
        open_gaps_total=len(after.gaps),
        needs_snapshot=after.needs_snapshot,
    )
    return Decision(tuple(applied), after, receipt)
