"""Per-partner message sequence numbers: gaps are detected, filled and reported."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.errors import SequenceReused

Gap = tuple[int, int]


@dataclass(frozen=True, slots=True)
class SequenceState:
    """A partner's highest sequence number seen and the gaps still open below it."""

    last: int = 0
    gaps: tuple[Gap, ...] = ()


def advance(state: SequenceState, sequence: int) -> tuple[SequenceState, Gap | None]:
    """The state after ``sequence`` arrives, and the gap it revealed (if any).

    Sequences start at 1. A number above the last opens a gap for the numbers skipped; a number
    inside an open gap fills it; any other number was already used by another message.
    """
    if sequence < 1:
        raise SequenceReused(f"sequence numbers start at 1, got {sequence}")
    if sequence > state.last:
        gap = (state.last + 1, sequence - 1) if sequence > state.last + 1 else None
        gaps = (*state.gaps, gap) if gap else state.gaps
        return SequenceState(sequence, gaps), gap
    for first, last in state.gaps:
        if first <= sequence <= last:
            rest = [g for g in state.gaps if g != (first, last)]
            if first < sequence:
                rest.append((first, sequence - 1))
            if sequence < last:
                rest.append((sequence + 1, last))
            return SequenceState(state.last, tuple(sorted(rest))), None
    raise SequenceReused(
        f"sequence {sequence} was already used by another message", sequence=str(sequence)
    )
