"""PartnerOnboardingService: the lifecycle steps of partner onboarding, one use case each."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api.auth import current
from gateway.api.convert import PARTNER_PREFIX, partner_code
from gateway.app.lifecycle import Lifecycles, Onboarding
from gateway.domain.errors import InvalidQuery, PartnerNotFound
from gateway.domain.lifecycle import (
    Direction,
    EventKind,
    Lifecycle,
    LifecycleEvent,
    LifecycleState,
    PartnerDefinition,
)
from gateway.pb import onboarding_pb2 as pb
from gateway.pb import onboarding_pb2_grpc

LIFECYCLE_SUFFIX = "/lifecycle"
#: Longest definition and attachment accepted inline, in bytes: a partner file is a few KiB,
#: a certificate or public key a few hundred bytes.
MAX_INLINE = 256 * 1024

STATE_TO_PB = {
    LifecycleState.DRAFT: pb.LIFECYCLE_STATE_DRAFT,
    LifecycleState.CONFIGURED: pb.LIFECYCLE_STATE_CONFIGURED,
    LifecycleState.TESTING: pb.LIFECYCLE_STATE_TESTING,
    LifecycleState.ACTIVE: pb.LIFECYCLE_STATE_ACTIVE,
    LifecycleState.SUSPENDED: pb.LIFECYCLE_STATE_SUSPENDED,
    LifecycleState.RETIRED: pb.LIFECYCLE_STATE_RETIRED,
}
DIRECTION_TO_PB = {
    Direction.OUTBOUND: pb.TEST_DIRECTION_OUTBOUND,
    Direction.INBOUND: pb.TEST_DIRECTION_INBOUND,
}
KIND_TO_PB = {
    EventKind.TRANSITION: pb.LIFECYCLE_EVENT_KIND_TRANSITION,
    EventKind.TEST: pb.LIFECYCLE_EVENT_KIND_TEST,
}


def _actor() -> str:
    principal = current().principal
    return principal.subject or principal.role.value


def event_to_pb(event: LifecycleEvent) -> pb.LifecycleEvent:
    msg = pb.LifecycleEvent(
        kind=KIND_TO_PB[event.kind],
        state=STATE_TO_PB[event.state],
        actor=event.actor,
        reason=event.reason,
        direction=(
            DIRECTION_TO_PB[event.direction] if event.direction else pb.TEST_DIRECTION_UNSPECIFIED
        ),
        passed=event.passed,
        detail=event.detail,
    )
    protomap.set_timestamp(msg.time, event.at)
    return msg


def lifecycle_to_pb(found: Lifecycle) -> pb.PartnerLifecycle:
    msg = pb.PartnerLifecycle(
        name=PARTNER_PREFIX + found.partner + LIFECYCLE_SUFFIX,
        state=STATE_TO_PB[found.state],
        verified_directions=[DIRECTION_TO_PB[d] for d in sorted(found.verified, key=str)],
        events=[event_to_pb(e) for e in found.events],
    )
    if found.since is not None:
        protomap.set_timestamp(msg.since, found.since)
    return msg


def _definition(code: str, request: pb.OnboardPartnerRequest) -> PartnerDefinition | None:
    if not request.definition:
        if request.attachments:
            raise InvalidQuery("attachments were given without a definition")
        return None
    if len(request.definition) > MAX_INLINE:
        raise InvalidQuery(f"the definition is over {MAX_INLINE} bytes")
    attachments: dict[str, bytes] = {}
    for a in request.attachments:
        if not a.name or a.name in attachments or len(a.content) > MAX_INLINE:
            raise InvalidQuery(
                f"attachment {a.name!r}: give each file once, by the name the definition "
                f"uses, under {MAX_INLINE} bytes"
            )
        attachments[a.name] = a.content
    return PartnerDefinition(code, request.definition, attachments)


class PartnerOnboardingServicer(onboarding_pb2_grpc.PartnerOnboardingServiceServicer):
    def __init__(self, onboarding: Onboarding, lifecycles: Lifecycles) -> None:
        self._onboarding = onboarding
        self._lifecycles = lifecycles

    def OnboardPartner(
        self, request: pb.OnboardPartnerRequest, context: grpc.ServicerContext
    ) -> pb.OnboardPartnerResponse:
        code = partner_code(request.name)
        found = self._onboarding.onboard(code, _definition(code, request), _actor(), request.reason)
        return pb.OnboardPartnerResponse(lifecycle=lifecycle_to_pb(found))

    def ConfigurePartner(
        self, request: pb.ConfigurePartnerRequest, context: grpc.ServicerContext
    ) -> pb.ConfigurePartnerResponse:
        found = self._onboarding.configure(partner_code(request.name), _actor())
        return pb.ConfigurePartnerResponse(lifecycle=lifecycle_to_pb(found))

    def TestPartner(
        self, request: pb.TestPartnerRequest, context: grpc.ServicerContext
    ) -> pb.TestPartnerResponse:
        outcome = self._onboarding.test(partner_code(request.name), _actor())
        return pb.TestPartnerResponse(
            lifecycle=lifecycle_to_pb(outcome.lifecycle),
            passed=outcome.passed,
            detail=outcome.detail,
        )

    def ActivatePartner(
        self, request: pb.ActivatePartnerRequest, context: grpc.ServicerContext
    ) -> pb.ActivatePartnerResponse:
        found = self._onboarding.activate(partner_code(request.name), _actor())
        return pb.ActivatePartnerResponse(lifecycle=lifecycle_to_pb(found))

    def RetirePartner(
        self, request: pb.RetirePartnerRequest, context: grpc.ServicerContext
    ) -> pb.RetirePartnerResponse:
        found = self._onboarding.retire(partner_code(request.name), _actor(), request.reason)
        return pb.RetirePartnerResponse(lifecycle=lifecycle_to_pb(found))

    def GetPartnerLifecycle(
        self, request: pb.GetPartnerLifecycleRequest, context: grpc.ServicerContext
    ) -> pb.GetPartnerLifecycleResponse:
        code = partner_code(request.name, LIFECYCLE_SUFFIX)
        directory = current().directory
        if code not in directory.partners and not self._lifecycles.store.events(code):
            raise PartnerNotFound(f"no partner {PARTNER_PREFIX}{code} is registered")
        found = self._lifecycles.of(code, directory)
        return pb.GetPartnerLifecycleResponse(lifecycle=lifecycle_to_pb(found))

    def ListPartnerLifecycles(
        self, request: pb.ListPartnerLifecyclesRequest, context: grpc.ServicerContext
    ) -> pb.ListPartnerLifecyclesResponse:
        directory = current().directory
        codes = sorted(set(directory.partners) | set(self._lifecycles.store.partners()))
        return pb.ListPartnerLifecyclesResponse(
            lifecycles=[lifecycle_to_pb(self._lifecycles.of(c, directory)) for c in codes]
        )
