"""The outbound onboarding test message is sealed with one key: the one of the moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from adapters import pki
from adapters.crypto.gateway_keys import RotatingSigner
from adapters.crypto.signatures import ED25519, Signer, verifier
from adapters.wire.native import NativeCodec
from gateway.app.lifecycle import Lifecycles, Onboarding
from gateway.domain.lifecycle import LifecycleEvent
from gateway.domain.messages import SealedEnvelope
from gateway.domain.outbound import PeerReceipt
from gateway.domain.partners import OutboundEndpoint
from tests.factories import directory, singapore

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


class Events:
    def __init__(self) -> None:
        self.recorded: list[LifecycleEvent] = []

    def record(self, event: LifecycleEvent) -> None:
        self.recorded.append(event)

    def events(self, partner: str) -> tuple[LifecycleEvent, ...]:
        return tuple(e for e in self.recorded if e.partner == partner)


class NoProgrammes:
    def paused(self, code: str, at: datetime) -> bool:
        return False


class Snapshot:
    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot

    def current(self) -> Any:
        return self._snapshot


class MidRotation(RotatingSigner):
    """A rotating signer whose key is swapped after an operation has read the key id and
    before it signs: the moment a concurrent rotation lands."""

    def __init__(self, old: Signer, new: Signer) -> None:
        super().__init__(old)
        self._new = new

    @property
    def key_id(self) -> str:
        named = super().key_id
        self.swap(self._new)
        return named


class Capture:
    def __init__(self) -> None:
        self.sent: list[SealedEnvelope] = []

    def send_test(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        self.sent.append(sealed)
        raise RuntimeError("not delivered: the test looks at what was sent")


def test_the_test_message_names_the_key_that_signed_it_across_a_rotation() -> None:
    """The gateway's key is rotated while the outbound test message to SG is sealed. Result:
    the signature verifies under the key the message names (the key of the moment, read
    once), never names the old key while signed by the new one."""
    old = Signer(pki.signing_key(ED25519), "CN-GW-2", ED25519)
    new = Signer(pki.signing_key(ED25519), "CN-GW-3", ED25519)
    sg = singapore(outbound=OutboundEndpoint("127.0.0.1:9", "native"))
    snapshot = Snapshot(replace(directory(sg), server_cas={"SG": b"ca"}))
    events = Events()
    lifecycles = Lifecycles(
        cast(Any, events), cast(Any, snapshot), cast(Any, NoProgrammes()), Clock()
    )
    transport = Capture()
    onboarding = Onboarding(
        lifecycles,
        cast(Any, snapshot),
        cast(Any, lambda: None),
        lambda definition: None,
        Clock(),
        {"native": NativeCodec()},
        MidRotation(old, new),
        transport,
    )
    outcome = onboarding.test("SG", "admin:CN=admin")
    assert not outcome.passed
    [sealed] = transport.sent
    assert sealed.detached is not None
    keys = {k.key_id: k for k in (old, new)}
    named = keys[sealed.detached.key_id]
    assert verifier(named.public_key(), ED25519)(sealed.payload, sealed.detached.signature)
