from __future__ import annotations

import pytest

from gateway.domain.errors import SequenceReused
from gateway.domain.sequences import SequenceState, advance


def test_consecutive_sequences_open_no_gap() -> None:
    """Messages 1 then 2. Result: last is 2, no gap."""
    state, gap = advance(SequenceState(), 1)
    state, gap = advance(state, 2)
    assert state == SequenceState(2, ())
    assert gap is None


def test_skipped_numbers_are_reported_as_a_gap() -> None:
    """Message 2 arrives, then 6. Result: gaps 1 (never sent) and 3-5."""
    state, first_gap = advance(SequenceState(), 2)
    state, gap = advance(state, 6)
    assert first_gap == (1, 1)
    assert gap == (3, 5)
    assert state.gaps == ((1, 1), (3, 5))


def test_late_message_fills_its_gap() -> None:
    """Gap 3-5 open; message 4 arrives late. Result: gaps 3 and 5 remain."""
    state = SequenceState(6, ((3, 5),))
    state, gap = advance(state, 4)
    assert gap is None
    assert state == SequenceState(6, ((3, 3), (5, 5)))


def test_reused_sequence_number_is_refused() -> None:
    """Message 2 was received; another message says 2. Result: SequenceReused."""
    with pytest.raises(SequenceReused):
        advance(SequenceState(3, ()), 2)


def test_sequence_zero_is_refused() -> None:
    """Sequences start at 1. Result: 0 is refused."""
    with pytest.raises(SequenceReused):
        advance(SequenceState(), 0)
