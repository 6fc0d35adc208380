"""The lifecycle's pure rules: transitions allowed and refused, the state derived from events,
the programme's suspension shown as the lifecycle's, and readiness to be configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.errors import (
    InvalidLifecycleReason,
    LifecycleTransitionInvalid,
    OnboardingTestIncomplete,
)
from gateway.domain.lifecycle import (
    Action,
    Direction,
    EventKind,
    Lifecycle,
    LifecycleEvent,
    LifecycleState,
    derive,
    onboarded,
    result_of_test,
    suspension_allowed,
    transition,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
S = LifecycleState


def walk(*actions: Action, initial: S = S.ACTIVE) -> Lifecycle:
    """A partner onboarded at T0 then taken through ``actions`` a minute apart."""
    events = [onboarded("CL", "admin", T0)]
    for i, action in enumerate(actions, 1):
        current = derive("CL", events, initial)
        event = transition(current, action, "admin", T0 + timedelta(minutes=i), "why")
        if event is not None:
            events.append(event)
    return derive("CL", events, initial)


def with_tests(current: Lifecycle, *directions: Direction, passed: bool = True) -> Lifecycle:
    events = list(current.events)
    for d in directions:
        events.append(result_of_test(current, d, passed, "peer", T0 + timedelta(hours=1), "ok"))
    return derive("CL", events)


def test_a_file_partner_without_events_is_active_unless_its_file_says_draft() -> None:
    """No events. Result: active by default (the shipped partners), draft when the file says
    so; neither has a since."""
    assert derive("SG", ()).state is S.ACTIVE
    assert derive("SG", (), S.DRAFT).state is S.DRAFT
    assert derive("SG", ()).since is None


def test_the_onboarding_walk_ends_active_once_both_directions_verified() -> None:
    """draft -> configured -> testing, tests both ways, activate. Result: active since the
    activation, both directions verified."""
    testing = walk(Action.CONFIGURE, Action.TEST)
    assert testing.state is S.TESTING
    ready = with_tests(testing, Direction.OUTBOUND, Direction.INBOUND)
    event = transition(ready, Action.ACTIVATE, "admin", T0 + timedelta(hours=2))
    assert event is not None
    active = derive("CL", (*ready.events, event))
    assert active.state is S.ACTIVE
    assert active.since == T0 + timedelta(hours=2)
    assert active.verified == {Direction.OUTBOUND, Direction.INBOUND}


def test_activation_names_the_direction_not_yet_verified() -> None:
    """Testing with only the outbound test passed (and a failed inbound one). Result:
    OnboardingTestIncomplete with missing=inbound."""
    current = with_tests(walk(Action.CONFIGURE, Action.TEST), Direction.OUTBOUND)
    current = with_tests(current, Direction.INBOUND, passed=False)
    with pytest.raises(OnboardingTestIncomplete) as refused:
        transition(current, Action.ACTIVATE, "admin", T0)
    assert refused.value.metadata["missing"] == "inbound"


def test_a_later_failed_test_cancels_an_earlier_pass_in_that_direction() -> None:
    """Outbound passed, then outbound failed. Result: outbound no longer verified."""
    current = with_tests(walk(Action.CONFIGURE, Action.TEST), Direction.OUTBOUND)
    assert with_tests(current, Direction.OUTBOUND, passed=False).verified == frozenset()


@pytest.mark.parametrize(
    ("actions", "action", "from_state", "to_state"),
    [
        ((), Action.TEST, "draft", "testing"),
        ((), Action.ACTIVATE, "draft", "active"),
        ((Action.CONFIGURE,), Action.ACTIVATE, "configured", "active"),
        ((Action.RETIRE,), Action.CONFIGURE, "retired", "configured"),
        ((Action.RETIRE,), Action.RETIRE, "retired", "retired"),
        ((Action.RETIRE,), Action.TEST, "retired", "testing"),
    ],
)
def test_illegal_transitions_are_refused_naming_from_and_to(
    actions: tuple[Action, ...], action: Action, from_state: str, to_state: str
) -> None:
    """A step the state does not allow. Result: LifecycleTransitionInvalid with from/to."""
    with pytest.raises(LifecycleTransitionInvalid) as refused:
        transition(walk(*actions), action, "admin", T0, "why")
    assert refused.value.metadata["from_state"] == from_state
    assert refused.value.metadata["to_state"] == to_state


def test_testing_again_in_testing_or_on_an_active_partner_records_no_transition() -> None:
    """TEST in testing, and on an active file partner. Result: no transition event."""
    assert transition(walk(Action.CONFIGURE, Action.TEST), Action.TEST, "a", T0) is None
    assert transition(derive("SG", ()), Action.TEST, "a", T0) is None


def test_entering_testing_again_forgets_earlier_test_results() -> None:
    """Verified both ways, then (a second time through configure) back in testing. Result:
    nothing verified."""
    ready = with_tests(walk(Action.CONFIGURE, Action.TEST), Direction.OUTBOUND, Direction.INBOUND)
    events = [
        *ready.events,
        LifecycleEvent("CL", EventKind.TRANSITION, S.CONFIGURED, "a", "", T0),
        LifecycleEvent("CL", EventKind.TRANSITION, S.TESTING, "a", "", T0),
    ]
    assert derive("CL", events).verified == frozenset()


def test_a_suspended_programme_shows_an_active_partner_as_suspended_only() -> None:
    """Programme suspended for an active and for a draft partner. Result: the active one shows
    suspended (recorded still active; it may be retired); the draft stays draft and may not be
    suspended."""
    active = derive("SG", (), programme_suspended=True)
    assert (active.state, active.recorded) == (S.SUSPENDED, S.ACTIVE)
    assert suspension_allowed(active)
    assert transition(active, Action.RETIRE, "a", T0, "ended") is not None
    draft = derive("CL", (onboarded("CL", "a", T0),), programme_suspended=True)
    assert draft.state is S.DRAFT
    assert not suspension_allowed(draft)


def test_retirement_needs_a_reason_and_records_when() -> None:
    """Retire without a reason; with one. Result: InvalidLifecycleReason; then retired_at."""
    with pytest.raises(InvalidLifecycleReason):
        transition(derive("SG", ()), Action.RETIRE, "a", T0, "  ")
    event = transition(derive("SG", ()), Action.RETIRE, "a", T0, "MRA terminated")
    assert event is not None
    assert derive("SG", (event,)).retired_at == T0
