"""Use cases of partner onboarding: onboard, configure, test, activate, retire; and the gate
every status message and outbound delivery passes (only an active partner exchanges).

Suspension and resumption stay SetProgrammeState (issue 8): an active partner whose programme
is suspended shows as suspended here, and only an active partner's programme may be changed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.app.directory import PartnerDirectory, ReloadPartners
from gateway.app.programme import ProgrammeStates
from gateway.app.submit import verify
from gateway.domain.directory import Directory
from gateway.domain.errors import (
    GatewayError,
    PartnerExists,
    PartnerNotActive,
    PartnerNotFound,
    PartnerNotInTesting,
    shown,
)
from gateway.domain.exchange import Limits
from gateway.domain.lifecycle import (
    Action,
    Direction,
    Lifecycle,
    LifecycleEvent,
    LifecycleState,
    PartnerDefinition,
    derive,
    no_trust_anchor,
    onboarded,
    readiness,
    refuse,
    result_of_test,
    transition,
)
from gateway.domain.messages import (
    InboundMessage,
    OutboundBatch,
    Receipt,
    SealedEnvelope,
    SealedReceipt,
)
from gateway.domain.outbound import PeerReceipt
from gateway.domain.partners import OutboundEndpoint
from gateway.domain.ports import Clock, ReceiptSealer, Signer, WireCodec
from gateway.domain.programme import ProgrammeState
from gateway.domain.records import BatchKind
from gateway.domain.signing import pinned

log = logging.getLogger(__name__)


class LifecycleStore(Protocol):
    def record(self, event: LifecycleEvent) -> None:
        """Stores the event; durable on return, and read back by this process at once."""
        ...

    def events(self, partner: str) -> tuple[LifecycleEvent, ...]:
        """The partner's events in the order recorded."""
        ...

    def partners(self) -> tuple[str, ...]:
        """Every partner with at least one event."""
        ...

    def add_definition(
        self, definition: PartnerDefinition, actor: str, first: LifecycleEvent
    ) -> bool:
        """Stores a definition with its first event, in one transaction; False when one of
        that code is stored already."""
        ...


class TestTransport(Protocol):
    def send_test(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        """Submits ``sealed`` to the partner gateway's SubmitTestMessage; raises DeliveryFailed
        (gateway.app.deliver) with the reason when it is refused or unreachable."""
        ...


#: Checks a candidate definition against everything in force (DefinitionInvalid otherwise).
CheckDefinition = Callable[[PartnerDefinition], None]


class Lifecycles:
    """Each partner's lifecycle now, from its events, its definition and its programme."""

    def __init__(
        self,
        store: LifecycleStore,
        directory: PartnerDirectory,
        programmes: ProgrammeStates,
        clock: Clock,
    ) -> None:
        self.store = store
        self._directory = directory
        self._programmes = programmes
        self._clock = clock

    def of(self, code: str, directory: Directory | None = None) -> Lifecycle:
        snapshot = directory or self._directory.current()
        partner = snapshot.partners.get(code)
        initial = LifecycleState(partner.lifecycle) if partner is not None else LifecycleState.DRAFT
        events = self.store.events(code)
        suspended = self._programmes.paused(code, self._clock.now())
        return derive(code, events, initial, suspended)

    def paused(self, code: str, at: datetime) -> bool:
        """Whether delivery to ``code`` waits: its programme is suspended or it is not active
        (draft, configured, testing, retired). Waiting messages do not age."""
        if self._programmes.paused(code, at):
            return True
        return not self.of(code).active

    def require_active(self, code: str, directory: Directory) -> None:
        """Only an active partner's status messages are applied."""
        found = self.of(code, directory)
        if not found.active:
            raise PartnerNotActive(
                f"partner {code} is {found.state.value}: its status messages are not accepted "
                + (
                    "(send test messages with SubmitTestMessage)"
                    if found.recorded is LifecycleState.TESTING
                    else "until it is active"
                ),
                partner=code,
                state=found.state.value,
            )

    def exchanges_keys(self, code: str, directory: Directory | None = None) -> bool:
        """Whether signing keys are exchanged with the partner: it is in testing or active
        (suspended included), not draft, configured or retired."""
        return self.of(code, directory).accepts_tests()

    def require_exchanging_keys(self, code: str, directory: Directory) -> None:
        """Only a partner in testing or active (suspended included) may announce its keys."""
        found = self.of(code, directory)
        if not found.accepts_tests():
            raise PartnerNotActive(
                f"partner {code} is {found.state.value}: its key announcements are accepted "
                "in testing or active",
                partner=code,
                state=found.state.value,
            )

    def guard_programme(self, directory: Directory, code: str, state: ProgrammeState) -> None:
        """Only an active partner's programme may be given notice, suspended or resumed."""
        if code not in directory.partners:
            return  # SetProgrammeState answers partner.not_found
        found = self.of(code, directory)
        if not found.active:
            resume = state is ProgrammeState.ACTIVE
            target = LifecycleState.ACTIVE if resume else LifecycleState.SUSPENDED
            verb = "partners " + _PROGRAMME_VERBS[state]
            raise refuse(found, target, verb, "active (or active and suspended)")

    def retired(self, code: str) -> bool:
        """Whether ``code`` is retired: it is queued no operator changes any more."""
        return self.of(code).recorded is LifecycleState.RETIRED

    def retired_at(self, code: str) -> datetime | None:
        return self.of(code).retired_at


_PROGRAMME_VERBS = {
    ProgrammeState.ACTIVE: "resume",
    ProgrammeState.NOTICE_OF_SUSPENSION: "notice",
    ProgrammeState.SUSPENDED: "suspend",
}


@dataclass(frozen=True, slots=True)
class TestOutcome:
    lifecycle: Lifecycle
    passed: bool
    detail: str


class Onboarding:
    """The Admin steps. Each refuses what the rules refuse and records who and when."""

    def __init__(
        self,
        lifecycles: Lifecycles,
        directory: PartnerDirectory,
        reload: ReloadPartners,
        check: CheckDefinition,
        clock: Clock,
        formats: Mapping[str, WireCodec],
        signer: Signer,
        transport: TestTransport | None,
    ) -> None:
        self._lifecycles = lifecycles
        self._store = lifecycles.store
        self._directory = directory
        self._reload = reload
        self._check = check
        self._clock = clock
        self._formats = formats
        self._signer = signer
        self._transport = transport

    def _known(self, code: str) -> Directory:
        directory = self._directory.current()
        if code not in directory.partners:
            raise PartnerNotFound(f"no partner {shown(code)} is registered")
        return directory

    def onboard(
        self, code: str, definition: PartnerDefinition | None, actor: str, reason: str = ""
    ) -> Lifecycle:
        """Draft: a new partner from ``definition`` (stored for every replica, and put in force
        here), or a partner whose file says ``lifecycle = "draft"`` and has no events."""
        now = self._clock.now()
        directory = self._directory.current()
        first = onboarded(code, actor, now, reason)
        if definition is None:
            if code not in directory.partners:
                raise PartnerNotFound(
                    f"no partner {shown(code)} is defined; give its definition to onboard it"
                )
            if self._store.events(code) or directory.partners[code].lifecycle != "draft":
                found = self._lifecycles.of(code, directory)
                raise PartnerExists(
                    f"partner {code} exists already and is {found.state.value}",
                    partner=code,
                )
            self._store.record(first)
            return self._lifecycles.of(code)
        if code in directory.partners or self._store.events(code):
            raise PartnerExists(f"partner {code} exists already", partner=code)
        self._check(definition)
        if not self._store.add_definition(definition, actor, first):
            raise PartnerExists(f"partner {code} exists already", partner=code)
        self._reload()
        return self._lifecycles.of(code)

    def configure(self, code: str, actor: str) -> Lifecycle:
        directory = self._known(code)
        current = self._lifecycles.of(code, directory)
        event = transition(current, Action.CONFIGURE, actor, self._clock.now())
        problems = readiness(directory, code, self._clock.now())
        if problems:
            first = problems[0]
            if len(problems) > 1:
                also = "; ".join(p.message for p in problems[1:])
                raise type(first)(f"{first.message}; also: {also}", **first.metadata)
            raise first
        assert event is not None
        self._store.record(event)
        return self._lifecycles.of(code)

    def activate(self, code: str, actor: str) -> Lifecycle:
        directory = self._known(code)
        anchor = no_trust_anchor(directory, code)
        if anchor is not None:
            raise anchor
        current = self._lifecycles.of(code, directory)
        event = transition(current, Action.ACTIVATE, actor, self._clock.now())
        assert event is not None
        self._store.record(event)
        return self._lifecycles.of(code)

    def retire(self, code: str, actor: str, reason: str) -> Lifecycle:
        directory = self._known(code)
        current = self._lifecycles.of(code, directory)
        event = transition(current, Action.RETIRE, actor, self._clock.now(), reason)
        assert event is not None
        self._store.record(event)
        return self._lifecycles.of(code)

    def test(self, code: str, actor: str) -> TestOutcome:
        """Testing (from configured), then a signed test message to the partner's gateway,
        whose signed receipt is verified; the result is recorded either way."""
        directory = self._known(code)
        current = self._lifecycles.of(code, directory)
        event = transition(current, Action.TEST, actor, self._clock.now())
        if event is not None:
            self._store.record(event)
            current = self._lifecycles.of(code, directory)
        passed, detail = self._send_test(directory, code)
        self._store.record(
            result_of_test(current, Direction.OUTBOUND, passed, actor, self._clock.now(), detail)
        )
        log.info("outbound test message to %s: %s (%s)", code, "passed" if passed else "failed",
                 detail)  # fmt: skip
        return TestOutcome(self._lifecycles.of(code), passed, detail)

    def _send_test(self, directory: Directory, code: str) -> tuple[bool, str]:
        partner = directory.partners[code]
        endpoint = partner.outbound
        if endpoint is None or code not in directory.server_cas or self._transport is None:
            return False, "no outbound endpoint to send to (or outbound delivery is disabled)"
        now = self._clock.now()
        batch = OutboundBatch(directory.home.code, 1, now, BatchKind.DELTA, ())
        # One key for the whole seal: a rotation meanwhile cannot name one key and sign with
        # another.
        sealed = self._formats[endpoint.wire_format].seal(batch, pinned(self._signer))
        digest = hashlib.sha256(sealed.payload).digest()
        try:
            answer = self._transport.send_test(code, endpoint, directory.server_cas[code], sealed)
        except Exception as exc:  # DeliveryFailed, or anything the transport did not expect
            return False, f"not accepted: {exc}"
        try:
            key = directory.keys_for(code, self._clock.now()).resolve(
                answer.key_id, answer.algorithm
            )
        except GatewayError as exc:
            return False, f"receipt refused: {exc.message}"
        if not key.verify(answer.receipt, answer.signature):
            return False, f"receipt refused: its signature does not verify with {answer.key_id}"
        if answer.payload_sha256 != digest or answer.partner != f"partners/{directory.home.code}":
            return False, "receipt refused: it is not for this test message"
        return (
            True,
            f"{endpoint.wire_format} test message verified by {code}, receipt signed "
            f"with {answer.key_id} verified",
        )


class SubmitTestMessage:
    """A partner's test message: verified as a status message is (signature against its keys,
    format, issue-time window, identifiers), nothing applied, a signed receipt returned."""

    def __init__(
        self,
        lifecycles: Lifecycles,
        codecs: Mapping[str, WireCodec],
        sealer: ReceiptSealer,
        limits: Limits,
        clock: Clock,
    ) -> None:
        self._lifecycles = lifecycles
        self._codecs = codecs
        self._sealer = sealer
        self._limits = limits
        self._clock = clock

    def __call__(self, message: InboundMessage, directory: Directory, actor: str) -> SealedReceipt:
        partner = directory.partner(message.partner)
        current = self._lifecycles.of(partner.code, directory)
        if not current.accepts_tests():
            raise PartnerNotInTesting(
                f"partner {partner.code} is {current.state.value}: test messages are accepted "
                "in testing or active",
                partner=partner.code,
                state=current.state.value,
            )
        verified = verify(message, partner, directory, self._codecs, self._limits)
        wire_format = message.wire_format or partner.wire_formats[0]  # verify checked it
        if verified.refusal is not None:
            raise verified.refusal
        receipt = Receipt(
            message_id=f"test-{verified.message_id}",
            partner=partner.code,
            sequence=verified.sequence,
            digest=verified.digest,
            received_at=message.received_at,
            received=len(verified.records) + len(verified.rejected),
            applied=0,
            ignored=verified.rejected,
            gaps_detected=(),
            open_gaps=(),
            open_gaps_total=0,
            needs_snapshot=False,
        )
        sealed = self._sealer.seal(receipt)
        if current.recorded is LifecycleState.TESTING:
            # Only onboarding needs the result (activation asks for it). An active partner's
            # test messages are not recorded here (the audit log has each call): it may send
            # them at any rate, and every replica reads these events.
            detail = (
                f"{wire_format} test message with {receipt.received} records verified (key "
                f"{verified.key_id}); nothing applied"
            )
            self._lifecycles.store.record(
                result_of_test(current, Direction.INBOUND, True, actor, self._clock.now(), detail)
            )
        return sealed
