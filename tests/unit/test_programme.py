"""Programme states: the state at a time, an administrator's decision, and what recognition
makes of them (on fakes)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gateway.app.programme import ProgrammeStates, SetProgrammeState
from gateway.app.recognise import Recognise
from gateway.domain.errors import (
    InvalidProgrammeState,
    PartnerNotFound,
    ProgrammeAlreadySuspended,
)
from gateway.domain.partners import TradeDirection
from gateway.domain.programme import (
    ACTIVE,
    DEFAULT_NOTICE,
    MAX_NOTICE,
    MAX_REASON,
    ProgrammeAt,
    ProgrammeEntry,
    ProgrammeState,
    decide,
    state_at,
)
from gateway.domain.recognition import Outcome
from tests.factories import NOW, directory, record, singapore
from tests.unit.test_recognition import FakeReader, FixedClock

DAY = timedelta(days=1)


def entry(
    state: ProgrammeState, at: datetime, suspends_at: datetime | None = None
) -> ProgrammeEntry:
    return ProgrammeEntry("SG", state, at, f"{state.value} then", "CN=admin", at, suspends_at)


def test_a_programme_never_given_a_decision_is_active_since_its_mra() -> None:
    found = state_at((), NOW)
    assert (found.state, found.since, found.suspends_at) == (ProgrammeState.ACTIVE, None, None)


def test_the_latest_entry_effective_at_the_time_decides() -> None:
    """Suspended on day 10, resumed on day 20. Result: active before 10, suspended from 10 to
    20, active from 20; an entry after the time asked is not yet in force."""
    entries = (
        entry(ProgrammeState.SUSPENDED, NOW + 10 * DAY),
        entry(ProgrammeState.ACTIVE, NOW + 20 * DAY),
    )
    assert state_at(entries, NOW + 9 * DAY).state is ProgrammeState.ACTIVE
    assert state_at(entries, NOW + 9 * DAY).since is None
    assert state_at(entries, NOW + 10 * DAY).state is ProgrammeState.SUSPENDED
    assert state_at(entries, NOW + 19 * DAY).since == NOW + 10 * DAY
    assert state_at(entries, NOW + 20 * DAY).state is ProgrammeState.ACTIVE
    assert state_at(entries, NOW + 20 * DAY).since == NOW + 20 * DAY


def test_a_notice_whose_date_has_come_is_a_suspension_from_that_date() -> None:
    notice = entry(ProgrammeState.NOTICE_OF_SUSPENSION, NOW, suspends_at=NOW + 60 * DAY)
    before = state_at((notice,), NOW + 59 * DAY)
    assert (before.state, before.suspends_at) == (
        ProgrammeState.NOTICE_OF_SUSPENSION,
        NOW + 60 * DAY,
    )
    after = state_at((notice,), NOW + 60 * DAY)
    assert (after.state, after.since, after.suspends_at) == (
        ProgrammeState.SUSPENDED,
        NOW + 60 * DAY,
        None,
    )


def test_a_resumption_during_the_notice_withdraws_it() -> None:
    entries = (
        entry(ProgrammeState.NOTICE_OF_SUSPENSION, NOW, suspends_at=NOW + 60 * DAY),
        entry(ProgrammeState.ACTIVE, NOW + 5 * DAY),
    )
    assert state_at(entries, NOW + 61 * DAY).state is ProgrammeState.ACTIVE


def test_of_two_entries_effective_at_once_the_later_recorded_wins() -> None:
    entries = (entry(ProgrammeState.SUSPENDED, NOW), entry(ProgrammeState.ACTIVE, NOW))
    assert state_at(entries, NOW).state is ProgrammeState.ACTIVE


def test_a_notice_defaults_to_the_mras_sixty_days() -> None:
    found = decide("SG", ACTIVE, ProgrammeState.NOTICE_OF_SUSPENSION, " audit ", "CN=admin", NOW)
    assert (found.suspends_at, found.reason, found.effective_from) == (
        NOW + DEFAULT_NOTICE,
        "audit",
        NOW,
    )
    assert DEFAULT_NOTICE == 60 * DAY


def test_a_reason_of_the_longest_length_is_recorded() -> None:
    found = decide("SG", ACTIVE, ProgrammeState.SUSPENDED, "r" * MAX_REASON, "CN=admin", NOW)
    assert len(found.reason) == MAX_REASON == 1000


@pytest.mark.parametrize(
    ("state", "reason", "notice"),
    [
        (ProgrammeState.SUSPENDED, "  ", None),
        (ProgrammeState.NOTICE_OF_SUSPENSION, "audit", timedelta(0)),
        (ProgrammeState.NOTICE_OF_SUSPENSION, "audit", -DAY),
        (ProgrammeState.ACTIVE, "audit", DAY),
        (ProgrammeState.NOTICE_OF_SUSPENSION, "audit", MAX_NOTICE + DAY),
        (ProgrammeState.NOTICE_OF_SUSPENSION, "audit", timedelta.max),
        (ProgrammeState.SUSPENDED, "r" * (MAX_REASON + 1), None),
        (ProgrammeState.SUSPENDED, "audit\nfindings", None),
        (ProgrammeState.SUSPENDED, "audit\x85findings", None),
    ],
    ids=[
        "blank reason",
        "zero notice",
        "negative notice",
        "notice period for a resumption",
        "notice over five years",
        "notice past the calendar",
        "reason too long",
        "reason with a line break",
        "reason with a C1 control",
    ],
)
def test_a_decision_that_cannot_be_recorded_is_refused(
    state: ProgrammeState, reason: str, notice: timedelta | None
) -> None:
    with pytest.raises(InvalidProgrammeState):
        decide("SG", ACTIVE, state, reason, "CN=admin", NOW, notice)


@pytest.mark.parametrize(
    "current",
    [
        ProgrammeAt(ProgrammeState.SUSPENDED, NOW - DAY),
        state_at((entry(ProgrammeState.NOTICE_OF_SUSPENSION, NOW - 9 * DAY, NOW - DAY),), NOW),
    ],
    ids=["suspended", "notice run out"],
)
def test_a_notice_to_a_suspended_programme_is_refused(current: ProgrammeAt) -> None:
    """A notice would lift the suspension until it ran out: the programme must be resumed
    first. A suspension or a resumption of a suspended programme is still recorded."""
    with pytest.raises(ProgrammeAlreadySuspended):
        decide("SG", current, ProgrammeState.NOTICE_OF_SUSPENSION, "audit", "CN=admin", NOW)
    for state in (ProgrammeState.SUSPENDED, ProgrammeState.ACTIVE):
        assert decide("SG", current, state, "why", "CN=admin", NOW).state is state


class FakeProgrammeStore:
    def __init__(self) -> None:
        self.recorded: list[ProgrammeEntry] = []

    def record(self, entry: ProgrammeEntry) -> None:
        self.recorded.append(entry)

    def entries(self, partner: str) -> tuple[ProgrammeEntry, ...]:
        return tuple(e for e in self.recorded if e.partner == partner)


def test_a_decision_about_an_unknown_partner_is_refused_and_nothing_recorded() -> None:
    store = FakeProgrammeStore()
    with pytest.raises(PartnerNotFound):
        SetProgrammeState(store, FixedClock())(
            directory(singapore()), "XX", ProgrammeState.SUSPENDED, "why", "CN=admin"
        )
    assert store.recorded == []


def recognise(store: FakeProgrammeStore, as_of: datetime) -> tuple[Outcome, str, object]:
    service = Recognise(
        FakeReader(("SG", record(effective_at=NOW - 30 * DAY))),
        FixedClock(),
        100,
        ProgrammeStates(store),
    )
    answer = service.one(directory(singapore()), "SG000000000001", TradeDirection.IMPORT, as_of)
    assert answer.programme_state is not None
    return answer.outcome, answer.reason, answer.programme_state.state


def test_recognition_follows_the_programme_state_at_the_declarations_time() -> None:
    """SG's programme is given notice (10 days) at NOW. Result: recognised under notice,
    NOT_RECOGNISED mra.suspended once the notice has run, recognised again as of a time before
    the notice; after a resumption recognised again."""
    store = FakeProgrammeStore()
    set_state = SetProgrammeState(store, FixedClock())
    assert recognise(store, NOW)[:2] == (Outcome.RECOGNISED, "recognised")
    set_state(
        directory(singapore()), "SG", ProgrammeState.NOTICE_OF_SUSPENSION, "audit", "CN=admin",
        10 * DAY,
    )  # fmt: skip
    assert recognise(store, NOW + DAY) == (
        Outcome.RECOGNISED,
        "recognised",
        ProgrammeState.NOTICE_OF_SUSPENSION,
    )
    assert recognise(store, NOW + 10 * DAY) == (
        Outcome.NOT_RECOGNISED,
        "mra.suspended",
        ProgrammeState.SUSPENDED,
    )
    assert recognise(store, NOW - DAY)[2] is ProgrammeState.ACTIVE
    store.recorded.append(entry(ProgrammeState.ACTIVE, NOW + 11 * DAY))
    assert recognise(store, NOW + 12 * DAY) == (
        Outcome.RECOGNISED,
        "recognised",
        ProgrammeState.ACTIVE,
    )
