"""Use case: deliver a partner's queued home AEO changes, one message at a time.

Sealed bytes are stored before the first send, so a resend after a crash is byte for byte the
same message, which the partner's gateway answers with the receipt it already gave. The caller
(the dispatcher) holds the partner's delivery lock: one replica, one thread per partner.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn, Protocol

from gateway.domain import outbound
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.messages import DetachedSignature, OutboundBatch, SealedEnvelope
from gateway.domain.outbound import (
    OutboundMessage,
    OutboundState,
    OutboundSummary,
    PeerReceipt,
    QueuedChange,
    SettledReceipt,
    Step,
)
from gateway.domain.partners import OutboundEndpoint
from gateway.domain.ports import Clock, Signer, WireCodec
from gateway.domain.records import AeoRecord, BatchKind
from gateway.domain.signing import key_sha256, pinned

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """An attempt that did not settle its message, with the stable reason recorded for it."""

    def __init__(self, reason: str, detail: str = "", peer_reason: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        #: The stable reason the partner's gateway gave for refusing, when it gave one.
        self.peer_reason = peer_reason


class PartnerTransport(Protocol):
    def send(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        """Submits ``sealed`` to the partner's gateway (retrying transient failures a few
        times); raises DeliveryFailed with the reason once it gives up."""
        ...


@dataclass(frozen=True, slots=True)
class NewMessage:
    partner: str
    sequence: int
    wire_format: str
    payload: bytes
    digest: bytes
    key_id: str
    algorithm: str
    signature: bytes
    queued_at: datetime
    sealed_at: datetime
    outbox_ids: tuple[int, ...]
    #: SHA-256 of the signing key's DER SubjectPublicKeyInfo, for the audit log.
    signer_key_sha256: str = ""


class OutboundStore(Protocol):
    def partners_with_work(
        self, partners: Collection[str], now: datetime, max_age: timedelta
    ) -> list[str]: ...
    def head(self, partner: str) -> OutboundMessage | None: ...
    def unsealed(self, partner: str, limit: int) -> list[QueuedChange]: ...
    def records(self, administration: str, changes: Sequence[QueuedChange]) -> list[AeoRecord]: ...
    def last_sequence(self, partner: str) -> int: ...
    # The writes of a step are fenced: they change nothing (None, False) when another
    # deliverer wrote first, which happens only when a delivery lock was lost mid-step.
    def seal(self, message: NewMessage) -> OutboundMessage | None: ...
    def sealed_changes(self, partner: str, sequence: int) -> list[QueuedChange]: ...
    def reseal(self, message: NewMessage, replacing: bytes) -> OutboundMessage | None: ...
    def failed(
        self, partner: str, sequence: int, digest: bytes, error: str, next_attempt_at: datetime
    ) -> bool: ...
    def settle(
        self, partner: str, sequence: int, digest: bytes, receipt: SettledReceipt, at: datetime
    ) -> bool: ...
    def dead_letter(self, partner: str, sequence: int, at: datetime) -> None: ...
    def hold_age(self, partner: str, floor: datetime) -> None: ...
    def redrive(
        self, partner: str | None, sequences: Collection[int], at: datetime
    ) -> list[tuple[str, int]]: ...
    def messages(
        self,
        partner: str | None,
        state: OutboundState | None,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[OutboundMessage]: ...
    def summary(self, partner: str) -> OutboundSummary: ...


def _never_paused(partner: str, at: datetime) -> bool:
    return False


def envelope(message: OutboundMessage) -> SealedEnvelope:
    """The stored message as it goes on the wire, every time the same."""
    detached = (
        DetachedSignature(message.key_id, message.algorithm, message.signature)
        if message.signature
        else None
    )
    return SealedEnvelope(message.wire_format, message.payload, detached)


@dataclass(frozen=True)
class DeliveryLimits:
    max_records: int
    max_age: timedelta


class DeliverPartner:
    """One step of delivery for one partner: dead-letter, seal, or send its head message."""

    def __init__(
        self,
        store: OutboundStore,
        transport: PartnerTransport,
        formats: dict[str, WireCodec],
        signer: Signer,
        clock: Clock,
        limits: DeliveryLimits,
        paused: Callable[[str, datetime], bool] = _never_paused,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._transport = transport
        self._formats = formats
        self._signer = signer
        self._clock = clock
        self._limits = limits
        self.paused = paused
        self._jitter = jitter

    def deliverable(self, directory: Directory, code: str, now: datetime) -> bool:
        """Whether ``code`` is sent to now: an endpoint, an MRA in force, not suspended, its
        data protection adequate."""
        partner = directory.partners.get(code)
        return (
            partner is not None
            and partner.outbound is not None
            and partner.data_protection.adequate  # not adequate: no operator data at all
            and code in directory.server_cas
            and partner.in_force_on(directory.home.day_of(now))
            and not self.paused(code, now)
        )

    def undeliverable(self, code: str, now: datetime) -> None:
        """``code`` is not deliverable now: its messages do not age meanwhile. Idempotent and
        monotonic, so any replica may call it without the partner's lock."""
        self._store.hold_age(code, outbound.age_floor(now, self._limits.max_age))

    def __call__(self, directory: Directory, code: str) -> bool:
        """Does the next thing for ``code``; True when it did something that may leave more to
        do at once (a message settled or dead-lettered), False when there is nothing due."""
        now = self._clock.now()
        if not self.deliverable(directory, code, now):
            self.undeliverable(code, now)
            return False
        head = self._store.head(code)
        unsealed = [] if head else self._store.unsealed(code, self._limits.max_records)
        step = outbound.next_step(head, bool(unsealed), now, self._limits.max_age)
        if step is Step.DEAD_LETTER and head is not None:
            self._store.dead_letter(code, head.sequence, now)
            log.warning(
                "outbound message dead-lettered: partner %s sequence %d, last error %s",
                code,
                head.sequence,
                head.last_error or "none",
            )
            return True
        if step is Step.SEAL:
            sequence = self._store.last_sequence(code) + 1
            head = self._store.seal(self._sealed(directory, code, sequence, unsealed, now))
            if head is None:
                return self._overtaken(code, sequence, "sealing")
        elif step is not Step.SEND or head is None:
            return False
        elif head.reseal_due:
            # A consent withdrawal took changes out of it: the same sequence, issued with what
            # it still carries (an empty delta if nothing: the partner sees no gap).
            changes = self._store.sealed_changes(code, head.sequence)
            again = self._sealed(directory, code, head.sequence, changes, now)
            resealed = self._store.reseal(again, head.digest)
            if resealed is None:
                return self._overtaken(code, head.sequence, "resealing")
            log.info("outbound message to %s sequence %d resealed after a withdrawal", code,
                     head.sequence)  # fmt: skip
            head = resealed
        return self._send(directory, code, head)

    def _sealed(
        self,
        directory: Directory,
        code: str,
        sequence: int,
        changes: list[QueuedChange],
        now: datetime,
    ) -> NewMessage:
        endpoint = directory.partners[code].outbound
        assert endpoint is not None  # deliverable() checked
        home = directory.home.code
        records = self._store.records(home, changes)
        batch = OutboundBatch(home, sequence, now, BatchKind.DELTA, tuple(records))
        signer = pinned(self._signer)  # one key for the whole message, across a rotation
        sealed = self._formats[endpoint.wire_format].seal(batch, signer)
        detached = sealed.detached
        return NewMessage(
            partner=code,
            sequence=sequence,
            wire_format=sealed.wire_format,
            payload=sealed.payload,
            digest=hashlib.sha256(sealed.payload).digest(),
            key_id=detached.key_id if detached else signer.key_id,
            algorithm=detached.algorithm if detached else signer.algorithm,
            signature=detached.signature if detached else b"",
            queued_at=min((c.queued_at for c in changes), default=now),
            sealed_at=now,
            outbox_ids=tuple(c.id for c in changes),
            signer_key_sha256=key_sha256(signer),
        )

    def _send(
        self, directory: Directory, code: str, message: OutboundMessage, resealed: bool = False
    ) -> bool:
        endpoint = directory.partners[code].outbound
        assert endpoint is not None
        try:
            answer = self._transport.send(
                code, endpoint, directory.server_cas[code], envelope(message)
            )
            evidence = self._check(directory, code, message, answer)
        except DeliveryFailed as failure:
            return self._failed(directory, code, message, failure, resealed)
        except Exception as exc:  # recorded with the normal backoff, not retried at each poll
            log.warning(
                "outbound message to %s sequence %d: unexpected error", code, message.sequence,
                exc_info=True,
            )  # fmt: skip
            unexpected = DeliveryFailed(outbound.PARTNER_ERROR, repr(exc))
            return self._failed(directory, code, message, unexpected, resealed)
        if not self._store.settle(
            code, message.sequence, message.digest, evidence, self._clock.now()
        ):
            return self._overtaken(code, message.sequence, "settling")
        return True

    def _overtaken(self, code: str, sequence: int, doing: str) -> bool:
        # Another deliverer took the partner while this one held a lock it had lost: it goes on.
        log.info(
            "outbound %s to %s sequence %d: another deliverer wrote first; step ended",
            doing, code, sequence,
        )  # fmt: skip
        return False

    def _failed(
        self,
        directory: Directory,
        code: str,
        message: OutboundMessage,
        failure: DeliveryFailed,
        resealed: bool,
    ) -> bool:
        """Records a failed attempt with its backoff, or reseals a message found too old."""
        if failure.peer_reason == outbound.PEER_TOO_OLD and not resealed:
            # The partner holds no message with these bytes (it would have answered its
            # stored receipt) and now finds them too old: the same sequence and records,
            # issued now. Safe for the same reason: it never took the old bytes.
            changes = self._store.sealed_changes(code, message.sequence)
            if changes:  # always, for a message sealed by a fenced seal
                now = self._clock.now()
                again = self._sealed(directory, code, message.sequence, changes, now)
                resealed_message = self._store.reseal(again, message.digest)
                if resealed_message is None:
                    return self._overtaken(code, message.sequence, "resealing")
                log.info("outbound message to %s sequence %d resealed", code, message.sequence)
                return self._send(directory, code, resealed_message, resealed=True)
        now = self._clock.now()
        delay = outbound.retry_delay(message.attempts + 1, 0.5 + self._jitter() / 2)
        if not self._store.failed(
            code, message.sequence, message.digest, failure.reason, now + delay
        ):
            return self._overtaken(code, message.sequence, "recording a failure of")
        log.info(
            "outbound message to %s sequence %d not settled: %s", code, message.sequence,
            failure,
        )  # fmt: skip
        return False

    def _check(
        self, directory: Directory, code: str, message: OutboundMessage, answer: PeerReceipt
    ) -> SettledReceipt:
        """The receipt, once it is shown to be the partner's, for this very message."""
        try:
            key = directory.keys_for(code, self._clock.now()).resolve(
                answer.key_id, answer.algorithm
            )
        except GatewayError as exc:
            self._forged(code, message, outbound.RECEIPT_UNKNOWN_KEY, exc.message)
        if not key.verify(answer.receipt, answer.signature):
            self._forged(code, message, outbound.RECEIPT_SIGNATURE_INVALID, answer.key_id)
        problem = outbound.receipt_problem(answer, message, directory.home.code)
        if problem is not None:
            self._forged(
                code, message, problem, f"names {answer.partner} sequence {answer.sequence}"
            )
        return SettledReceipt(
            answer.receipt,
            answer.signature,
            answer.key_id,
            answer.algorithm,
            answer.message_id,
            key.key_sha256,
        )

    def _forged(self, code: str, message: OutboundMessage, reason: str, detail: str) -> NoReturn:
        # A receipt that is not the partner's, or not for this message, is a security event.
        log.warning(
            "receipt refused from %s for sequence %d: %s (%s)", code, message.sequence, reason,
            detail,
        )  # fmt: skip
        raise DeliveryFailed(reason, detail)


class OutboundAdmin:
    """What administrators see and do of delivery: the messages, re-drives, a summary."""

    def __init__(
        self,
        store: OutboundStore,
        clock: Clock,
        paused: Callable[[str, datetime], bool] = _never_paused,
        woken: Callable[[Collection[str]], None] = lambda partners: None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._paused = paused
        self._woken = woken

    def messages(
        self,
        partner: str | None,
        state: OutboundState | None,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[OutboundMessage]:
        return self._store.messages(partner, state, after, limit)

    def redrive(self, partner: str | None, sequences: Collection[int]) -> list[tuple[str, int]]:
        """Dead letters back in their partner's queue, with a new age window, due now; the
        lowest unsettled sequence still goes first."""
        found = self._store.redrive(partner, sequences, self._clock.now())
        if found:
            log.warning("outbound dead letters re-driven: %s", found)
            self._woken(sorted({p for p, _ in found}))
        return found

    def summary(self, partner: str) -> tuple[OutboundSummary, bool]:
        """The partner's delivery at a glance, and whether it is paused now."""
        return self._store.summary(partner), self._paused(partner, self._clock.now())
