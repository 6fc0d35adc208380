"""Programme-level states of a mutual recognition: an administrator may give a partner's
programme notice of suspension (the MRA's 60 days), suspend it, or resume it.

States are history, never overwritten: each decision is an entry effective from when it was
taken, so a declaration is judged by the state in force at its own time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from gateway.domain.errors import InvalidProgrammeState, ProgrammeAlreadySuspended

#: The notice an EU-style MRA requires before one party suspends recognition of the other's
#: programme.
DEFAULT_NOTICE = timedelta(days=60)
#: The longest reason recorded, in characters: a sentence or a paragraph for the record, small
#: enough that change-log pages and PartnerState stay small.
MAX_REASON = 1000
#: Control characters (C0, DEL, C1) and lone surrogates: never part of a reason.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The longest notice recorded (five years): far beyond any MRA's, and far enough from the
#: calendar's end that the date it takes effect can always be computed.
MAX_NOTICE = timedelta(days=1826)


class ProgrammeState(Enum):
    ACTIVE = "active"
    NOTICE_OF_SUSPENSION = "notice_of_suspension"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class ProgrammeEntry:
    """One decision about a partner's programme, as recorded."""

    partner: str
    state: ProgrammeState
    effective_from: datetime
    reason: str
    actor: str
    recorded_at: datetime
    #: For a notice: when the suspension takes effect by itself.
    suspends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProgrammeAt:
    """The state of a programme at one instant. ``since`` is None for a programme never given
    a decision (active since the MRA itself)."""

    state: ProgrammeState
    since: datetime | None = None
    suspends_at: datetime | None = None
    reason: str = ""

    @property
    def suspended(self) -> bool:
        return self.state is ProgrammeState.SUSPENDED


ACTIVE = ProgrammeAt(ProgrammeState.ACTIVE)


def state_at(entries: Sequence[ProgrammeEntry], at: datetime) -> ProgrammeAt:
    """The latest entry effective at ``at`` (entries in the order they were recorded; of two
    effective at once, the later recorded wins). A notice whose suspension date has come is a
    suspension from that date."""
    latest: ProgrammeEntry | None = None
    for entry in entries:
        if entry.effective_from <= at and (
            latest is None or entry.effective_from >= latest.effective_from
        ):
            latest = entry
    if latest is None:
        return ACTIVE
    if latest.state is ProgrammeState.NOTICE_OF_SUSPENSION:
        assert latest.suspends_at is not None
        if latest.suspends_at <= at:
            return ProgrammeAt(ProgrammeState.SUSPENDED, latest.suspends_at, None, latest.reason)
        return ProgrammeAt(latest.state, latest.effective_from, latest.suspends_at, latest.reason)
    return ProgrammeAt(latest.state, latest.effective_from, None, latest.reason)


def decide(
    partner: str,
    current: ProgrammeAt,
    state: ProgrammeState,
    reason: str,
    actor: str,
    now: datetime,
    notice: timedelta | None = None,
) -> ProgrammeEntry:
    """An administrator's decision as an entry effective now, given the programme's
    ``current`` state. InvalidProgrammeState for an empty reason, one over MAX_REASON or with
    control characters, or a notice period that is not positive, longer than MAX_NOTICE, or
    given for another state; ProgrammeAlreadySuspended for a notice to a suspended programme
    (it would lift the suspension until the notice ran out)."""
    reason = reason.strip()
    if not reason:
        raise InvalidProgrammeState("reason is required: say why, for the record")
    if len(reason) > MAX_REASON:
        raise InvalidProgrammeState(f"reason is {len(reason)} characters; at most {MAX_REASON}")
    if _CONTROL.search(reason):
        raise InvalidProgrammeState("reason contains control characters; write it on one line")
    if state is ProgrammeState.NOTICE_OF_SUSPENSION and current.suspended:
        raise ProgrammeAlreadySuspended(
            f"{partner}'s programme is suspended; resume it before giving notice"
        )
    if state is not ProgrammeState.NOTICE_OF_SUSPENSION:
        if notice is not None:
            raise InvalidProgrammeState("notice_period applies to a notice of suspension only")
        return ProgrammeEntry(partner, state, now, reason, actor, now)
    period = DEFAULT_NOTICE if notice is None else notice
    if period <= timedelta(0):
        raise InvalidProgrammeState("notice_period must be positive")
    if period > MAX_NOTICE:
        raise InvalidProgrammeState(f"notice_period is at most {MAX_NOTICE.days} days")
    return ProgrammeEntry(partner, state, now, reason, actor, now, suspends_at=now + period)
