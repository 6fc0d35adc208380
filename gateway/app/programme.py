"""Use cases: an administrator sets a partner's programme state; recognition and outbound
delivery ask what it is at a given time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from gateway.domain.directory import Directory
from gateway.domain.errors import PartnerNotFound, shown
from gateway.domain.ports import Clock
from gateway.domain.programme import ProgrammeAt, ProgrammeEntry, ProgrammeState, decide, state_at


class ProgrammeStore(Protocol):
    def record(self, entry: ProgrammeEntry) -> None:
        """Stores the entry with its ProgrammeStateChanged event in the change log, in one
        transaction; durable on return, and read back by this process at once."""
        ...

    def entries(self, partner: str) -> tuple[ProgrammeEntry, ...]:
        """The partner's entries in the order recorded (another replica's may show a second
        late)."""
        ...


class ProgrammeStates:
    """The state of each partner's programme at a time, from the store's entries."""

    def __init__(self, store: ProgrammeStore) -> None:
        self.store = store

    def at(self, partner: str, at: datetime) -> ProgrammeAt:
        return state_at(self.store.entries(partner), at)

    def paused(self, partner: str, at: datetime) -> bool:
        """Whether delivery to ``partner`` waits at ``at``: its programme is suspended then."""
        return self.at(partner, at).suspended


class SetProgrammeState:
    def __init__(
        self,
        store: ProgrammeStore,
        clock: Clock,
        guard: Callable[[Directory, str, ProgrammeState], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        #: Refuses a decision the partner's lifecycle does not allow (issue 10: only an active
        #: partner's programme may be suspended or resumed).
        self._guard = guard

    def __call__(
        self,
        directory: Directory,
        partner: str,
        state: ProgrammeState,
        reason: str,
        actor: str,
        notice: timedelta | None = None,
    ) -> ProgrammeAt:
        """Records the decision, effective now; returns the programme's state as recorded."""
        if partner not in directory.partners:
            raise PartnerNotFound(f"no partner {shown(partner)} is registered")
        if self._guard is not None:
            self._guard(directory, partner, state)
        now = self._clock.now()
        current = state_at(self._store.entries(partner), now)
        entry = decide(partner, current, state, reason, actor, now, notice)
        self._store.record(entry)
        return state_at((entry,), now)
