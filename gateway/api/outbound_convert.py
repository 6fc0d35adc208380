"""Outbound delivery: domain values <-> AdminService messages (ListOutboundMessages,
RedriveOutboundMessages, PartnerState.outbound)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway import protomap
from gateway.api import pages
from gateway.api.convert import PARTNER_PREFIX, partner_code
from gateway.domain.errors import InvalidPageToken, InvalidQuery
from gateway.domain.outbound import OutboundMessage, OutboundState, OutboundSummary
from gateway.domain.partners import Partner
from gateway.pb import admin_pb2, common_pb2, exchange_pb2
from gateway.times import to_us

STATE_TO_PB = {
    OutboundState.SENDING: admin_pb2.OUTBOUND_MESSAGE_STATE_SENDING,
    OutboundState.SETTLED: admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED,
    OutboundState.DEAD: admin_pb2.OUTBOUND_MESSAGE_STATE_DEAD_LETTERED,
}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}
EVERY_PARTNER = "-"
#: The highest number the store keeps (a signed 64-bit integer).
MAX_STORED = 2**63 - 1
MAX_REDRIVE_SEQUENCES = 1000
_DIGITS = re.compile(r"[0-9]{1,19}")
_PARTNER = re.compile(r"[A-Z]{2,3}")
PAGE_KIND = "outbound"


def parent_partner(parent: str) -> str | None:
    """ "partners/KR" -> "KR"; "partners/-" -> None (every partner)."""
    code = partner_code(parent)
    return None if code == EVERY_PARTNER else code


def state_filter(state: admin_pb2.OutboundMessageState.ValueType) -> OutboundState | None:
    if state == admin_pb2.OUTBOUND_MESSAGE_STATE_UNSPECIFIED:
        return None
    found = STATE_FROM_PB.get(state)
    if found is None:
        raise InvalidQuery(f"state {state} is not an outbound message state")
    return found


def message_name(partner: str, sequence: int) -> str:
    return f"{PARTNER_PREFIX}{partner}/outbound/{sequence}"


def page_token(last: OutboundMessage) -> str:
    first = last.first_sealed_at or last.sealed_at
    return pages.token(PAGE_KIND, f"{to_us(first)}:{last.partner}:{last.sequence}")


def page_after(token: str) -> tuple[int, str, int] | None:
    """The (first_sealed_at, partner, sequence) a page token names, or None for the first page."""
    value = pages.position(PAGE_KIND, token)
    if value is None:
        return None
    parts = value.split(":")
    if (
        len(parts) != 3
        or not all(_DIGITS.fullmatch(p) for p in (parts[0], parts[2]))
        or not _PARTNER.fullmatch(parts[1])
    ):
        raise InvalidPageToken("page_token is not one this gateway issued")
    sealed, sequence = int(parts[0]), int(parts[2])
    if sealed > MAX_STORED or sequence > MAX_STORED:  # past any stored number
        raise InvalidPageToken("page_token is not one this gateway issued")
    return sealed, parts[1], sequence


def redrive_sequences(partner: str | None, sequences: Sequence[int]) -> list[int]:
    """The sequences a re-drive names, refused before the store sees them when they cannot
    name a message or are too many for one call."""
    if not sequences:
        return []
    if partner is None:
        raise InvalidQuery("sequences number one partner's messages: name the partner")
    if len(sequences) > MAX_REDRIVE_SEQUENCES:
        raise InvalidQuery(f"{len(sequences)} sequences; at most {MAX_REDRIVE_SEQUENCES} per call")
    for sequence in sequences:
        if not 1 <= sequence <= MAX_STORED:
            raise InvalidQuery(f"sequence {sequence} is not a message sequence (1 to 2^63-1)")
    return list(sequences)


def message_to_pb(m: OutboundMessage) -> admin_pb2.OutboundMessage:
    msg = admin_pb2.OutboundMessage(
        name=message_name(m.partner, m.sequence),
        sequence=m.sequence,
        state=STATE_TO_PB[m.state],
        records=m.records,
        wire_format=protomap.FORMAT_TO_PB.get(m.wire_format, common_pb2.WIRE_FORMAT_UNSPECIFIED),
        payload_sha256=m.digest,
        attempts=m.attempts,
        last_error=m.last_error,
    )
    protomap.set_timestamp(msg.queued_at, m.queued_at)
    protomap.set_timestamp(msg.sealed_at, m.sealed_at)
    if m.state is OutboundState.SENDING:
        protomap.set_timestamp(msg.next_attempt_at, m.next_attempt_at)
    if m.settled_at is not None:
        protomap.set_timestamp(msg.settled_at, m.settled_at)
    if m.dead_at is not None:
        protomap.set_timestamp(msg.dead_lettered_at, m.dead_at)
    if m.receipt is not None:
        msg.receipt.CopyFrom(
            exchange_pb2.SignedReceipt(
                receipt=m.receipt.receipt,
                signature=common_pb2.DetachedSignature(
                    key_id=m.receipt.key_id,
                    algorithm=protomap.ALGORITHM_TO_PB.get(
                        m.receipt.algorithm, common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED
                    ),
                    signature=m.receipt.signature,
                ),
            )
        )
    return msg


def outbound_state_to_pb(
    partner: Partner, summary: OutboundSummary, paused: bool
) -> admin_pb2.OutboundState:
    msg = admin_pb2.OutboundState(
        endpoint=partner.outbound.address if partner.outbound else "",
        backlog=summary.backlog,
        last_settled_sequence=summary.last_settled_sequence,
        dead_letters=summary.dead_letters,
        paused=paused,
    )
    if summary.oldest_queued_at is not None:
        protomap.set_timestamp(msg.oldest_queued_at, summary.oldest_queued_at)
    return msg
