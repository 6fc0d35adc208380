"""Partners' status messages the gateway refused, for the admin console's overview: each refusal
is kept (30 days) and summed up per partner (GetPartnerState.refused_last_24h and the last one).

Written by ObservedSubmit (gateway.app.observed), which sees every outcome of a submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gateway.domain.ports import Clock

#: The window GetPartnerState counts refusals over.
RECENT = timedelta(hours=24)
#: How long a refusal is kept: the log stays bounded, and the last one shown is recent.
KEPT = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused status message: whose, when, and the error's stable reason and status."""

    partner: str
    refused_at: datetime
    reason: str
    status: str


@dataclass(frozen=True, slots=True)
class RefusalSummary:
    """A partner's refusals since a moment, and its last one kept (None: none kept)."""

    count: int
    last: Refusal | None


class RefusalLog(Protocol):
    def record(self, refusal: Refusal) -> None:
        """Keeps ``refusal`` in a short transaction of its own, and forgets those more than
        KEPT older."""
        ...

    def summary(self, partner: str, since: datetime, kept_since: datetime) -> RefusalSummary:
        """How many of ``partner``'s refusals are at or after ``since``; its latest at or after
        ``kept_since``."""
        ...


class RecentRefusals:
    """What GetPartnerState shows of a partner's refusals: the last 24 hours', and the last."""

    def __init__(self, log: RefusalLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def of(self, partner: str) -> RefusalSummary:
        now = self._clock.now()
        return self._log.summary(partner, now - RECENT, now - KEPT)
