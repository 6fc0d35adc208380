"""Domain events: facts a use case records in the same transaction as the change itself.

They go to the change log, whose cursor is monotonic in commit order, so a reader (outbound
delivery, a watch stream, an auditor) can resume from the last cursor it saw and miss nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from gateway.domain.programme import ProgrammeEntry
from gateway.domain.records import RecordStatus, StatusEvent


class RecordVersionApplied(NamedTuple):
    """A new version of an operator's record was stored. A tuple, not a frozen dataclass: one
    is made per applied record, on the ingest hot path, at a third of the cost."""

    administration: str
    identifier: str
    version: int
    status: RecordStatus
    event: StatusEvent
    effective_at: datetime
    message_id: str


class DefinitionChange(Enum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class PartnerDefinitionChanged:
    """A partner's definition (programme, MRA, keys, trust anchor, mapping) changed on reload."""

    partner: str
    directory_version: int
    change: DefinitionChange


@dataclass(frozen=True, slots=True)
class ProgrammeStateChanged:
    """An administrator gave a partner's programme notice of suspension, suspended or resumed
    it."""

    entry: ProgrammeEntry


DomainEvent = RecordVersionApplied | PartnerDefinitionChanged | ProgrammeStateChanged


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log."""

    cursor: int
    recorded_at: datetime
    event: DomainEvent
