"""Read-only questions admins ask: a partner's exchange state, and the change log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.domain.events import Change
from gateway.domain.sequences import Gap


@dataclass(frozen=True, slots=True)
class PartnerStats:
    last_sequence: int
    gaps: tuple[Gap, ...]
    messages: int
    operators: int
    last_received_at: datetime | None
    needs_snapshot: bool
    written_off: int


class ExchangeAudit(Protocol):
    def partner_stats(self, partner: str) -> PartnerStats: ...

    def changes_after(self, cursor: int, limit: int) -> list[Change]:
        """Up to ``limit`` changes with a cursor above ``cursor``, in cursor order."""
        ...
