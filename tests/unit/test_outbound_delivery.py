"""DeliverPartner on fakes: sealing in order, settling only by a receipt that holds, failures
recorded with their reason, dead letters, partners not sent to."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from gateway.app.deliver import DeliverPartner, DeliveryFailed, DeliveryLimits, NewMessage
from gateway.domain.directory import Directory
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    OutboundBatch,
    SealedEnvelope,
)
from gateway.domain.outbound import (
    PEER_TOO_OLD,
    OutboundMessage,
    OutboundState,
    OutboundSummary,
    PeerReceipt,
    QueuedChange,
    SettledReceipt,
)
from gateway.domain.partners import OutboundEndpoint
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import AeoRecord
from tests.factories import NOW, directory, record, singapore

ENDPOINT = OutboundEndpoint("sg.example:443", "native")
DAY = timedelta(days=1)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def now(self) -> datetime:
        return self.at


class ReprCodec:
    name = "native"

    def __init__(self) -> None:
        self.batches: list[OutboundBatch] = []

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        raise NotImplementedError("delivery only seals")

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        self.batches.append(batch)
        payload = repr(batch).encode()
        return SealedEnvelope("native", payload, DetachedSignature("CN-GW-2", "ed25519", b"s"))


class MemoryOutbound:
    """The part of the OutboundStore port delivery uses, in memory."""

    def __init__(self) -> None:
        self.queued: list[tuple[QueuedChange, int | None]] = []
        self.sealed: dict[int, OutboundMessage] = {}
        self.records_by_key: dict[tuple[str, int], AeoRecord] = {}

    def queue(self, r: AeoRecord) -> None:
        self.records_by_key[(r.identifier, r.version)] = r
        change = QueuedChange(len(self.queued) + 1, r.identifier, r.version, NOW)
        self.queued.append((change, None))

    def head(self, partner: str) -> OutboundMessage | None:
        sending = [m for m in self.sealed.values() if m.state is OutboundState.SENDING]
        return min(sending, key=lambda m: m.sequence, default=None)

    def unsealed(self, partner: str, limit: int) -> list[QueuedChange]:
        return [c for c, sealed in self.queued if sealed is None][:limit]

    def records(self, administration: str, changes: Sequence[QueuedChange]) -> list[AeoRecord]:
        return [self.records_by_key[(c.identifier, c.version)] for c in changes]

    def last_sequence(self, partner: str) -> int:
        return max(self.sealed, default=0)

    def seal(self, m: NewMessage) -> OutboundMessage | None:
        if self.head(m.partner) is not None or m.sequence != self.last_sequence(m.partner) + 1:
            return None
        self.queued = [(c, m.sequence if c.id in m.outbox_ids else s) for c, s in self.queued]
        stored = OutboundMessage(
            m.partner, m.sequence, OutboundState.SENDING, m.wire_format, m.payload, m.digest,
            m.key_id, m.algorithm, m.signature, len(m.outbox_ids), m.queued_at, m.sealed_at, 0,
            m.sealed_at, age_from=m.sealed_at,
        )  # fmt: skip
        self.sealed[m.sequence] = stored
        return stored

    def sealed_changes(self, partner: str, sequence: int) -> list[QueuedChange]:
        return [c for c, sealed in self.queued if sealed == sequence]

    def reseal(self, m: NewMessage, replacing: bytes) -> OutboundMessage | None:
        if self.sealed[m.sequence].digest != replacing:
            return None
        self._update(
            m.sequence, payload=m.payload, digest=m.digest, signature=m.signature,
            sealed_at=m.sealed_at, records=len(m.outbox_ids), reseal_due=False,
        )  # fmt: skip
        return self.sealed[m.sequence]

    def _update(self, sequence: int, **changes: object) -> None:
        self.sealed[sequence] = dataclasses.replace(self.sealed[sequence], **changes)  # type: ignore[arg-type]

    def hold_age(self, partner: str, floor: datetime) -> None:
        for m in list(self.sealed.values()):
            if m.state is OutboundState.SENDING and (m.age_from or m.queued_at) < floor:
                self._update(m.sequence, age_from=floor)

    def _in_flight(self, sequence: int, digest: bytes) -> bool:
        m = self.sealed[sequence]
        return m.state is OutboundState.SENDING and m.digest == digest

    def failed(
        self, partner: str, sequence: int, digest: bytes, error: str, next_attempt_at: datetime
    ) -> bool:
        if not self._in_flight(sequence, digest):
            return False
        attempts = self.sealed[sequence].attempts + 1
        self._update(sequence, attempts=attempts, last_error=error, next_attempt_at=next_attempt_at)
        return True

    def settle(
        self, partner: str, sequence: int, digest: bytes, receipt: SettledReceipt, at: datetime
    ) -> bool:
        if not self._in_flight(sequence, digest):
            return False
        self._update(sequence, state=OutboundState.SETTLED, receipt=receipt, settled_at=at)
        return True

    def dead_letter(self, partner: str, sequence: int, at: datetime) -> None:
        self._update(sequence, state=OutboundState.DEAD, dead_at=at)

    # Not used by delivery.
    def messages(
        self,
        partner: str | None,
        state: OutboundState | None,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[OutboundMessage]:
        return list(self.sealed.values())

    def partners_with_work(
        self, partners: Collection[str], now: datetime, max_age: timedelta
    ) -> list[str]:
        return []

    def redrive(
        self, partner: str | None, sequences: Collection[int], at: datetime
    ) -> list[tuple[str, int]]:
        return []

    def summary(self, partner: str) -> OutboundSummary:
        return OutboundSummary(0, None, 0, 0)


class Transport:
    """Answers each send with what the test set: a receipt built from the message, or a
    failure."""

    def __init__(self) -> None:
        self.sent: list[SealedEnvelope] = []
        self.failure: str | None = None
        self.signature = b"good"
        self.sequence_offset = 0
        #: Refusals as issued too long ago still to answer.
        self.too_old = 0

    def send(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        self.sent.append(sealed)
        if self.too_old:
            self.too_old -= 1
            raise DeliveryFailed("partner.invalid_argument", "", PEER_TOO_OLD)
        if self.failure:
            raise DeliveryFailed(self.failure)
        digest = hashlib.sha256(sealed.payload).digest()
        sequence = len({s.payload for s in self.sent}) + self.sequence_offset
        return PeerReceipt(b"receipt", self.signature, "SG-2026-1", "ed25519", "SG-1",
                           "partners/CN", sequence, digest)  # fmt: skip


class NoSigner:
    key_id = "CN-GW-2"
    algorithm = "ed25519"

    def sign(self, data: bytes) -> bytes:
        return b"s"


def setup(
    paused: bool = False, **partner: object
) -> tuple[DeliverPartner, MemoryOutbound, Transport, ReprCodec, Clock, Directory]:
    store, transport, codec, clock = MemoryOutbound(), Transport(), ReprCodec(), Clock()
    snapshot = directory(singapore(**{"outbound": ENDPOINT, **partner}))
    snapshot = dataclasses.replace(snapshot, server_cas={"SG": b"ca"})
    deliver = DeliverPartner(
        store, transport, {"native": codec}, NoSigner(), clock, DeliveryLimits(2, DAY),
        paused=lambda code, at: paused, jitter=lambda: 1.0,
    )  # fmt: skip
    return deliver, store, transport, codec, clock, snapshot


def test_queued_changes_are_sealed_as_the_next_message_sent_and_settled() -> None:
    """Three changes queued, two per message. Result: message 1 carries the first two, with
    the home code as sender; it is settled with the receipt kept; then message 2."""
    deliver, store, _, codec, _, snapshot = setup()
    for v in (1, 2, 3):
        store.queue(record("AEOCN0123456781", version=v))
    assert deliver(snapshot, "SG")
    assert [(b.partner, b.sequence, len(b.records)) for b in codec.batches] == [("CN", 1, 2)]
    first = store.sealed[1]
    assert first.state is OutboundState.SETTLED
    assert first.receipt == SettledReceipt(b"receipt", b"good", "SG-2026-1", "ed25519", "SG-1")
    assert deliver(snapshot, "SG")
    assert store.sealed[2].state is OutboundState.SETTLED
    assert not deliver(snapshot, "SG")  # nothing left


def test_a_receipt_that_does_not_verify_leaves_the_message_unsettled_and_waits() -> None:
    """The receipt's signature does not verify. Result: SENDING, receipt.signature_invalid,
    the next attempt a second later; no second message is sealed meanwhile."""
    deliver, store, transport, _, clock, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.signature = b"forged"
    assert not deliver(snapshot, "SG")
    m = store.sealed[1]
    assert (m.state, m.last_error, m.attempts) == (
        OutboundState.SENDING,
        "receipt.signature_invalid",
        1,
    )
    assert m.next_attempt_at == NOW + timedelta(seconds=1)
    store.queue(record("AEOCN0123456781", version=2))
    assert not deliver(snapshot, "SG")  # not due yet, and nothing sealed behind it
    assert list(store.sealed) == [1]
    transport.signature = b"good"
    clock.at = NOW + timedelta(seconds=1)
    assert deliver(snapshot, "SG")
    assert store.sealed[1].state is OutboundState.SETTLED
    first, again = transport.sent
    assert first.payload == again.payload  # the stored bytes, resent


def test_a_receipt_for_another_sequence_is_a_mismatch() -> None:
    deliver, store, transport, _, _, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.sequence_offset = 1
    assert not deliver(snapshot, "SG")
    assert store.sealed[1].last_error == "receipt.mismatch"


def test_a_failure_is_recorded_with_its_reason() -> None:
    deliver, store, transport, _, _, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.failure = "partner.unavailable"
    assert not deliver(snapshot, "SG")
    assert store.sealed[1].last_error == "partner.unavailable"


def test_a_message_past_the_age_limit_is_dead_lettered_and_the_next_goes_on() -> None:
    """The partner is down for more than a day. Result: message 1 dead, the next change is
    sealed as message 2."""
    deliver, store, transport, _, clock, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.failure = "partner.unavailable"
    deliver(snapshot, "SG")
    clock.at = NOW + DAY + timedelta(seconds=1)
    assert deliver(snapshot, "SG")
    assert store.sealed[1].state is OutboundState.DEAD
    store.queue(record("AEOCN0123456781", version=2))
    transport.failure = None
    assert deliver(snapshot, "SG")
    assert store.sealed[2].state is OutboundState.SETTLED


def test_nothing_is_sent_to_a_paused_partner_or_one_without_an_endpoint() -> None:
    for deliver, store, transport, _, _, snapshot in (
        setup(paused=True),
        setup(outbound=None),
    ):
        store.queue(record("AEOCN0123456781"))
        assert not deliver(snapshot, "SG")
        assert transport.sent == []
        assert store.sealed == {}


def test_a_message_the_partner_finds_too_old_is_sealed_again_with_its_sequence() -> None:
    """The partner refuses the stored bytes as issued too long ago (twice). Result: the same
    sequence and changes sealed again, issued now, sent at once and settled; a second refusal
    of the new bytes is recorded, not resealed again in the same attempt."""
    deliver, store, transport, codec, clock, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.failure = "partner.unavailable"
    assert not deliver(snapshot, "SG")  # sealed at NOW, partner down
    transport.failure = None
    transport.too_old = 1
    transport.sequence_offset = -1  # two payloads for one sequence
    clock.at = NOW + timedelta(minutes=10)
    assert deliver(snapshot, "SG")
    first, stale, again = transport.sent
    assert first.payload == stale.payload != again.payload
    assert [(b.sequence, b.issued_at) for b in codec.batches] == [
        (1, NOW),
        (1, NOW + timedelta(minutes=10)),
    ]
    m = store.sealed[1]
    assert (m.state, m.sealed_at, m.digest) == (
        OutboundState.SETTLED,
        NOW + timedelta(minutes=10),
        hashlib.sha256(again.payload).digest(),
    )

    store.queue(record("AEOCN0123456781", version=2))
    transport.too_old = 2
    assert not deliver(snapshot, "SG")
    assert len(transport.sent) == 5  # sent, resealed and sent once more, then left to retry
    assert store.sealed[2].last_error == "partner.invalid_argument"


class BrokenTransport(Transport):
    def send(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        self.sent.append(sealed)
        raise ValueError("status details that do not parse")


def test_a_message_a_withdrawal_emptied_is_resealed_as_an_empty_delta_with_its_sequence() -> None:
    """Message 1 carries one change and fails; a consent withdrawal then takes the change out
    of it (as SqlOutbox.withhold_unsent does: the row gone, the message marked). Result: the
    next attempt sends message 1 resealed with no record, new bytes, and it is settled."""
    deliver, store, transport, codec, clock, snapshot = setup()
    store.queue(record("AEOCN0123456781"))
    transport.failure = "partner.unavailable"
    assert not deliver(snapshot, "SG")
    store.queued = [(c, s) for c, s in store.queued if s != 1]
    store._update(1, reseal_due=True, records=0)
    transport.failure = None
    transport.sequence_offset = -1  # this fake numbers distinct payloads: two, one message
    clock.at = NOW + timedelta(seconds=1)
    assert deliver(snapshot, "SG")
    assert [(b.sequence, len(b.records)) for b in codec.batches] == [(1, 1), (1, 0)]
    first, again = transport.sent
    assert first.payload != again.payload
    settled = store.sealed[1]
    assert (settled.state, settled.records, settled.reseal_due) == (
        OutboundState.SETTLED, 0, False,
    )  # fmt: skip


def test_an_unexpected_error_of_the_transport_is_a_failed_attempt_with_backoff() -> None:
    """The transport raises something that is not DeliveryFailed (a bug, a broken answer).
    Result: the attempt is recorded as partner.error with the normal backoff, not retried at
    once."""
    deliver, store, _, _, _clock, snapshot = setup()
    deliver._transport = BrokenTransport()
    store.queue(record("AEOCN0123456781"))
    assert not deliver(snapshot, "SG")
    m = store.sealed[1]
    assert (m.state, m.last_error, m.attempts) == (OutboundState.SENDING, "partner.error", 1)
    assert m.next_attempt_at == NOW + timedelta(seconds=1)
    assert not deliver(snapshot, "SG")  # not due: no second attempt
    assert store.sealed[1].attempts == 1


def test_a_suspension_longer_than_the_age_limit_does_not_kill_messages_on_resume() -> None:
    """A message fails once, then SG's programme is suspended for two days (the age limit is
    one); steps run meanwhile. Result: on resume it is sent again and settled, not
    dead-lettered."""
    deliver, store, transport, _, clock, snapshot = setup()
    paused = {"on": False}
    deliver.paused = lambda code, at: paused["on"]
    store.queue(record("AEOCN0123456781"))
    transport.failure = "partner.unavailable"
    assert not deliver(snapshot, "SG")
    paused["on"] = True
    for hours in (12, 36, 48):
        clock.at = NOW + timedelta(hours=hours)
        assert not deliver(snapshot, "SG")
    paused["on"] = False
    transport.failure = None
    assert deliver(snapshot, "SG")
    assert store.sealed[1].state is OutboundState.SETTLED


def test_changes_queued_before_a_long_suspension_get_a_full_age_window_on_resume() -> None:
    """A change is queued, then SG is suspended for two days before it is sealed. Result: on
    resume it is sealed and, the partner failing once, retried rather than dead-lettered."""
    deliver, store, transport, _, clock, snapshot = setup(paused=True)
    store.queue(record("AEOCN0123456781"))
    assert not deliver(snapshot, "SG")
    clock.at = NOW + 2 * DAY
    deliver.paused = lambda code, at: False
    transport.failure = "partner.unavailable"
    assert not deliver(snapshot, "SG")
    transport.failure = None
    clock.at += timedelta(seconds=2)
    assert deliver(snapshot, "SG")
    assert store.sealed[1].state is OutboundState.SETTLED
