"""Per-partner message sequence numbers: gaps are detected, filled, bounded and reported."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from operator import itemgetter

from gateway.domain.errors import SequenceReused

Gap = tuple[int, int]

#: How many open gaps a partner's state keeps by default (the ``max_open_gaps`` setting).
MAX_OPEN_GAPS = 1_000


@dataclass(frozen=True, slots=True)
class SequenceState:
    """A partner's highest sequence number seen and the gaps still open below it.

    ``gaps`` are inclusive ranges, lowest first, disjoint and never adjacent (a received number
    separates any two), so each is a maximal run of missing numbers. At most a cap of them is
    kept: when a new one would exceed it the oldest are written off, ``written_off`` counts the
    numbers they held and ``needs_snapshot`` says only a snapshot can make the data whole again.
    """

    last: int = 0
    gaps: tuple[Gap, ...] = ()
    needs_snapshot: bool = False
    written_off: int = 0

    def newest_gaps(self, limit: int) -> tuple[Gap, ...]:
        """The ``limit`` highest open gaps, lowest first."""
        return self.gaps[-limit:] if limit > 0 else ()


def advance(
    state: SequenceState, sequence: int, *, snapshot: bool = False, max_open: int = MAX_OPEN_GAPS
) -> tuple[SequenceState, Gap | None]:
    """The state after ``sequence`` arrives, and the gap it revealed (if any).

    Sequences start at 1. A number above the last opens a gap for the numbers skipped; a number
    inside an open gap fills it; any other number was used by another message, or closed by a
    snapshot or a write-off. A snapshot supersedes every message before it: it opens no gap,
    closes every gap below it and clears ``needs_snapshot``. O(len(gaps)), at most ``max_open``.
    """
    if sequence < 1:
        raise SequenceReused(f"sequence numbers start at 1, got {sequence}")
    if sequence > state.last:
        if snapshot:
            return SequenceState(sequence), None
        gap = (state.last + 1, sequence - 1) if sequence > state.last + 1 else None
        gaps = (*state.gaps, gap) if gap else state.gaps
        return _capped(state, sequence, gaps, max_open), gap
    i = bisect_right(state.gaps, sequence, key=itemgetter(0)) - 1
    if i < 0 or state.gaps[i][1] < sequence:
        raise SequenceReused(
            f"sequence {sequence} is neither above the last ({state.last}) nor in an open gap: "
            "another message used it, or a snapshot or a write-off closed it",
            sequence=str(sequence),
        )
    first, last = state.gaps[i]
    above = ((sequence + 1, last),) if sequence < last else ()
    if snapshot:
        return SequenceState(state.last, (*above, *state.gaps[i + 1 :])), None
    below = ((first, sequence - 1),) if first < sequence else ()
    gaps = (*state.gaps[:i], *below, *above, *state.gaps[i + 1 :])
    return _capped(state, state.last, gaps, max_open), None


def snapshot_requested(state: SequenceState) -> SequenceState:
    """The state once an administrator asks the partner for a snapshot: ``needs_snapshot`` is
    set, as after a write-off, so every receipt says so until a snapshot message clears it."""
    return replace(state, needs_snapshot=True)


def _capped(state: SequenceState, last: int, gaps: tuple[Gap, ...], max_open: int) -> SequenceState:
    """``gaps`` cut to the newest ``max_open``. The oldest go: the partner is the least likely
    to still hold those messages, and a snapshot covers them all anyway."""
    excess = len(gaps) - max_open
    if excess <= 0:
        return SequenceState(last, gaps, state.needs_snapshot, state.written_off)
    dropped = sum(b - a + 1 for a, b in gaps[:excess])
    return SequenceState(last, gaps[excess:], True, state.written_off + dropped)
