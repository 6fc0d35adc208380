"""A partner's onboarding lifecycle: draft -> configured -> testing -> active -> suspended ->
retired, as pure rules over an append-only history of events.

Every transition and every test result is an event (who, when, why); the current state is
derived from them, never stored. A partner defined by a file and never given an event is in the
state its file says (``lifecycle = "draft"``) or, by default, active: the partners shipped
before onboarding existed stay live.

Suspension is not a second notion: the programme state of issue 8 (gateway.domain.programme)
is the suspension. An active partner whose programme is suspended shows as ``suspended``;
resuming the programme makes it active again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateway.domain.directory import Directory
from gateway.domain.errors import (
    GatewayError,
    InvalidLifecycleReason,
    LifecycleTransitionInvalid,
    MappingIncomplete,
    NoOutboundEndpoint,
    NoTrustAnchor,
    NoValidSigningKey,
    OnboardingTestIncomplete,
    OutboundFormatNotAccepted,
)

#: The longest reason recorded, in characters (as programme decisions).
MAX_REASON = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class LifecycleState(Enum):
    DRAFT = "draft"
    CONFIGURED = "configured"
    TESTING = "testing"
    ACTIVE = "active"
    #: Never recorded as a transition: an active partner whose programme is suspended.
    SUSPENDED = "suspended"
    RETIRED = "retired"


class EventKind(Enum):
    #: The partner moved to ``state``.
    TRANSITION = "transition"
    #: A test message was exchanged in ``direction``; ``passed`` says whether it verified.
    TEST = "test"


class Direction(Enum):
    #: The home gateway sent a test message to the partner's gateway and verified its receipt.
    OUTBOUND = "outbound"
    #: The partner's gateway sent a test message that verified here.
    INBOUND = "inbound"


#: The states a partner file's ``lifecycle`` key may name for a partner with no events.
FILE_STATES = {"draft": LifecycleState.DRAFT, "active": LifecycleState.ACTIVE}


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One entry of a partner's history, as recorded."""

    partner: str
    kind: EventKind
    #: The state after a transition; for a test, the state the test ran in.
    state: LifecycleState
    #: Who: the caller's certificate subject (Admin, a partner's gateway) or the CLI user.
    actor: str
    reason: str
    at: datetime
    direction: Direction | None = None
    passed: bool = False
    #: For a test: what was checked, or why it failed.
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A partner's lifecycle at one instant, derived from its events."""

    partner: str
    #: As recorded: never SUSPENDED (that comes from the programme).
    recorded: LifecycleState
    #: What administrators see: SUSPENDED for an active partner whose programme is suspended.
    state: LifecycleState
    #: When the recorded state was entered; None for a file's state never given an event.
    since: datetime | None
    events: tuple[LifecycleEvent, ...]
    #: Directions verified by a passed test since the partner last entered testing.
    verified: frozenset[Direction]
    retired_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the partner's messages are applied and it is sent to (programme aside)."""
        return self.recorded is LifecycleState.ACTIVE

    def accepts_tests(self) -> bool:
        return self.recorded in (LifecycleState.TESTING, LifecycleState.ACTIVE)


def derive(
    partner: str,
    events: Sequence[LifecycleEvent],
    initial: LifecycleState = LifecycleState.ACTIVE,
    programme_suspended: bool = False,
) -> Lifecycle:
    """The lifecycle from ``events`` in the order recorded; ``initial`` is the state of a
    partner with no transition (its file's ``lifecycle``, active by default)."""
    recorded, since, retired_at = initial, None, None
    verified: set[Direction] = set()
    for event in events:
        if event.kind is EventKind.TRANSITION:
            if event.state is LifecycleState.TESTING and recorded is not LifecycleState.TESTING:
                verified.clear()  # entering testing again: both directions anew
            recorded, since = event.state, event.at
            if event.state is LifecycleState.RETIRED:
                retired_at = event.at
        elif event.passed and event.direction is not None:
            verified.add(event.direction)
        elif event.direction is not None:
            verified.discard(event.direction)  # the latest result in a direction counts
    shown = recorded
    if recorded is LifecycleState.ACTIVE and programme_suspended:
        shown = LifecycleState.SUSPENDED
    return Lifecycle(
        partner, recorded, shown, since, tuple(events), frozenset(verified), retired_at
    )


class Action(Enum):
    ONBOARD = "onboard"
    CONFIGURE = "configure"
    TEST = "test"
    ACTIVATE = "activate"
    RETIRE = "retire"


#: For each action, the recorded states it may start from and the state it leads to.
RULES: dict[Action, tuple[frozenset[LifecycleState], LifecycleState]] = {
    Action.CONFIGURE: (
        frozenset({LifecycleState.DRAFT, LifecycleState.CONFIGURED}),
        LifecycleState.CONFIGURED,
    ),
    Action.TEST: (
        frozenset({LifecycleState.CONFIGURED, LifecycleState.TESTING}),
        LifecycleState.TESTING,
    ),
    Action.ACTIVATE: (frozenset({LifecycleState.TESTING}), LifecycleState.ACTIVE),
    Action.RETIRE: (
        frozenset(s for s in LifecycleState if s is not LifecycleState.RETIRED),
        LifecycleState.RETIRED,
    ),
}


def refuse(
    current: Lifecycle, to: LifecycleState, action: str, allowed: str = ""
) -> LifecycleTransitionInvalid:
    return LifecycleTransitionInvalid(
        f"partner {current.partner} is {current.state.value}; `{action}` would move it to "
        f"{to.value}, which is allowed only from {allowed or _allowed(to)}",
        partner=current.partner,
        from_state=current.state.value,
        to_state=to.value,
    )


def _allowed(to: LifecycleState) -> str:
    for starts, target in RULES.values():
        if target is to:
            return " or ".join(sorted(s.value for s in starts))
    return "active (suspension is the programme state: `partners suspend`)"


def transition(
    current: Lifecycle, action: Action, actor: str, now: datetime, reason: str = ""
) -> LifecycleEvent | None:
    """The transition event ``action`` records on ``current``, or None when it changes
    nothing (a test re-run in testing, or on an active partner); LifecycleTransitionInvalid
    when the rules do not allow it. ActivatePartner also needs both directions verified."""
    reason = checked_reason(reason, required=action is Action.RETIRE)
    starts, to = RULES[action]
    if action is Action.TEST and current.recorded is LifecycleState.ACTIVE:
        return None  # a connectivity check of a live partner: no transition
    if current.recorded not in starts:
        raise refuse(current, to, action.value)
    if action is Action.TEST and current.recorded is LifecycleState.TESTING:
        return None
    if action is Action.ACTIVATE:
        missing = sorted(d.value for d in Direction if d not in current.verified)
        if missing:
            raise OnboardingTestIncomplete(
                f"partner {current.partner} has no passed {' or '.join(missing)} test message "
                "since it entered testing; run `aeo-gateway partners test` (outbound) and have "
                "the partner's gateway send one (inbound)",
                partner=current.partner,
                missing=",".join(missing),
            )
    return LifecycleEvent(current.partner, EventKind.TRANSITION, to, actor, reason, now)


def onboarded(partner: str, actor: str, now: datetime, reason: str = "") -> LifecycleEvent:
    """The first event of a partner being onboarded: draft."""
    return LifecycleEvent(
        partner, EventKind.TRANSITION, LifecycleState.DRAFT, actor, checked_reason(reason), now
    )


def result_of_test(
    current: Lifecycle,
    direction: Direction,
    passed: bool,
    actor: str,
    now: datetime,
    detail: str,
) -> LifecycleEvent:
    return LifecycleEvent(
        current.partner,
        EventKind.TEST,
        current.recorded,
        actor,
        "",
        now,
        direction,
        passed,
        detail[:MAX_REASON],
    )


def suspension_allowed(current: Lifecycle) -> bool:
    """Only an active partner's programme may be suspended or given notice (a draft or
    retired partner has no live recognition to suspend)."""
    return current.recorded is LifecycleState.ACTIVE


def checked_reason(reason: str, required: bool = False) -> str:
    reason = reason.strip()
    if required and not reason:
        raise InvalidLifecycleReason("reason is required: say why, for the record")
    if len(reason) > MAX_REASON:
        raise InvalidLifecycleReason(f"reason is {len(reason)} characters; at most {MAX_REASON}")
    if _CONTROL.search(reason):
        raise InvalidLifecycleReason("reason contains control characters; write it on one line")
    return reason


@dataclass(frozen=True, slots=True)
class PartnerDefinition:
    """A partner created through Admin: the TOML text of a partner file, and the trust material
    it names (``ca``, ``public_key``) by those names."""

    partner: str
    text: bytes
    attachments: Mapping[str, bytes]


def no_trust_anchor(directory: Directory, code: str) -> NoTrustAnchor | None:
    if code in directory.trust_anchors:
        return None
    return NoTrustAnchor(
        f"partner {code} has no trust anchor (the CA of its TLS client certificates): add "
        "[trust] ca to its definition",
        partner=code,
    )


def readiness(directory: Directory, code: str, now: datetime) -> list[GatewayError]:
    """What keeps ``code`` from being configured, one error per missing piece (empty: ready):
    a trust anchor, a signing key valid now, an outbound endpoint with its server CA in a wire
    format the partner accepts, and a mapping of its tiers to home grades that exist."""
    partner = directory.partner(code)
    problems: list[GatewayError] = []
    anchor = no_trust_anchor(directory, code)
    if anchor is not None:
        problems.append(anchor)
    if not any(
        k.valid_at(now) and (code, k.key_id) in directory.keys for k in partner.signing_keys
    ):
        problems.append(
            NoValidSigningKey(
                f"partner {code} has no signing key valid at {now.isoformat()}", partner=code
            )
        )
    endpoint = partner.outbound
    if endpoint is None or code not in directory.server_cas:
        problems.append(
            NoOutboundEndpoint(
                f"partner {code} has no [outbound] endpoint with a server CA", partner=code
            )
        )
    elif endpoint.wire_format not in partner.wire_formats:
        problems.append(
            OutboundFormatNotAccepted(
                f"partner {code} is sent {endpoint.wire_format!r} but accepts "
                f"{', '.join(partner.wire_formats)}",
                partner=code,
            )
        )
    grades = {(s.name, g) for s in directory.home.grade_schemes for g in s.grades}
    names = {g for _, g in grades}
    bad = [
        f"{r.tier} -> {r.grade}"
        for r in partner.mapping
        if r.tier not in partner.tiers
        or (r.grade not in names if r.scheme is None else (r.scheme, r.grade) not in grades)
    ]
    if not partner.mapping or bad:
        problems.append(
            MappingIncomplete(
                f"partner {code}'s mapping "
                + (f"names unknown tiers or grades: {', '.join(bad)}" if bad else "is empty"),
                partner=code,
            )
        )
    return problems
