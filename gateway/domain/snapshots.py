"""What a full snapshot means for the operators it leaves out.

A snapshot replaces the partner's set: an operator the partner had sent before and that the
snapshot does not name is absent from the snapshot's ``issued_at`` (not recognised:
``record.absent_from_snapshot``) until a later message names it again: a later snapshot that
lists it (even with a stale version) or a delta that applies a version of it. History is kept:
absences are opened and closed, never deleted, and record versions are never touched.

Only messages in order speak about the set: a snapshot numbered below the partner's last
message (late, filling a gap) was issued before messages already received, so it opens no
absence; and a message names an operator again only for absences a snapshot numbered before
it opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.records import AeoRecord, BatchKind


@dataclass(frozen=True, slots=True)
class Presence:
    """Who one message names, as the store needs it to open and close absences."""

    #: The operators the message names again (their open absences close at ``at``).
    named: frozenset[str]
    #: The message's issued_at: its effective time.
    at: datetime
    sequence: int
    message_id: str
    #: A snapshot in order: every operator of the partner's not in ``named`` is absent from
    #: ``at`` on (unless it already is).
    replaces_set: bool


def presence(
    kind: BatchKind,
    records: tuple[AeoRecord, ...],
    refused: tuple[str, ...],
    applied: tuple[AeoRecord, ...],
    at: datetime,
    sequence: int,
    message_id: str,
    last_sequence: int,
) -> Presence | None:
    """The presence a message states, or None when it names nobody and replaces nothing.

    A snapshot names every operator it lists, including those whose record is stale (not
    applied) or refused for its content (``refused``, the receipt gives the reason): the
    partner still lists them, so they keep their last applied version rather than vanish. A
    delta names the operators whose version it applies.
    """
    if kind is BatchKind.SNAPSHOT:
        named = frozenset(r.identifier for r in records).union(refused)
        return Presence(named, at, sequence, message_id, replaces_set=sequence > last_sequence)
    if not applied:
        return None
    return Presence(
        frozenset(r.identifier for r in applied), at, sequence, message_id, replaces_set=False
    )
