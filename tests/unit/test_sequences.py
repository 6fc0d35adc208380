from __future__ import annotations

import itertools
import random

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


def evens(count: int, max_open: int) -> SequenceState:
    """The state after a partner sent only the even numbers 2 … 2*count."""
    state = SequenceState()
    for n in range(2, 2 * count + 1, 2):
        state, _ = advance(state, n, max_open=max_open)
    return state


def test_gaps_past_the_bound_write_off_the_oldest_and_call_for_a_snapshot() -> None:
    """Bound 4; the partner sends only even numbers up to 14 (gaps 1, 3, … 13). Result: the
    four newest gaps are kept, the three oldest written off, a snapshot is needed."""
    state = evens(7, max_open=4)
    assert state == SequenceState(14, ((7, 7), (9, 9), (11, 11), (13, 13)), True, 3)


def test_written_off_count_is_the_numbers_not_the_ranges() -> None:
    """Bound 1; gaps 2-4 then 6-6 open. Result: 2-4 is written off, three numbers."""
    state, _ = advance(SequenceState(1), 5, max_open=1)
    state, _ = advance(state, 7, max_open=1)
    assert state == SequenceState(7, ((6, 6),), True, 3)


def test_late_message_in_a_written_off_gap_is_refused() -> None:
    """Gap 1 was written off; message 1 arrives late. Result: SequenceReused, whose text says
    the number may have been written off."""
    state = evens(7, max_open=4)
    with pytest.raises(SequenceReused, match="write-off"):
        advance(state, 1, max_open=4)


def test_late_message_in_a_kept_gap_still_fills_it() -> None:
    """Past the bound, message 9 (a kept gap) arrives. Result: filled; still needs a snapshot."""
    state, _ = advance(evens(7, max_open=4), 9, max_open=4)
    assert state == SequenceState(14, ((7, 7), (11, 11), (13, 13)), True, 3)


def test_filling_the_middle_of_a_gap_at_the_bound_writes_off_the_oldest() -> None:
    """Bound 2, gaps 1 and 3-5 open; message 4 splits 3-5 in two. Result: 1 is written off so
    that two gaps remain."""
    state = SequenceState(6, ((1, 1), (3, 5)))
    state, _ = advance(state, 4, max_open=2)
    assert state == SequenceState(6, ((3, 3), (5, 5)), True, 1)


def test_a_state_stored_above_the_bound_is_trimmed_by_the_next_message() -> None:
    """Five gaps stored (before the bound existed, or under a higher one); bound 2. Result: the
    next message leaves the two newest."""
    stored = SequenceState(10, ((1, 1), (3, 3), (5, 5), (7, 7), (9, 9)))
    state, _ = advance(stored, 11, max_open=2)
    assert state == SequenceState(11, ((7, 7), (9, 9)), True, 3)


def test_snapshot_above_the_last_closes_every_gap_and_clears_the_flag() -> None:
    """A partner in need of a snapshot sends one, numbered 20. Result: no gap open or revealed,
    the flag and the written-off count cleared."""
    state, gap = advance(evens(7, max_open=4), 20, snapshot=True, max_open=4)
    assert gap is None
    assert state == SequenceState(20)


def test_late_snapshot_closes_the_gaps_below_it_and_keeps_those_above() -> None:
    """Gaps 7, 9, 11-12 and 14 open; snapshot 11 arrives late. Result: 12 and 14 stay open
    (messages after the snapshot still matter), the flag is cleared."""
    state = SequenceState(15, ((7, 7), (9, 9), (11, 12), (14, 14)), True, 3)
    state, gap = advance(state, 11, snapshot=True)
    assert gap is None
    assert state == SequenceState(15, ((12, 12), (14, 14)))


def test_message_superseded_by_a_snapshot_is_refused() -> None:
    """Gap 3 was open; snapshot 5 arrives, then the late message 3. Result: SequenceReused."""
    state, _ = advance(SequenceState(2), 5, snapshot=True)
    with pytest.raises(SequenceReused):
        advance(state, 3)


def test_newest_gaps_are_the_highest_listed_lowest_first() -> None:
    """Gaps 1, 3, 5 open; two asked for. Result: 3 then 5."""
    state = SequenceState(6, ((1, 1), (3, 3), (5, 5)))
    assert state.newest_gaps(2) == ((3, 3), (5, 5))
    assert state.newest_gaps(10) == state.gaps


def test_any_arrival_order_keeps_gaps_bounded_disjoint_and_unreceived() -> None:
    """2,000 random arrivals (new numbers, late ones, reuses, snapshots) with bound 8. Result:
    after each, at most 8 gaps, sorted, disjoint, not adjacent, below the last, and no received
    number inside one."""
    rng = random.Random(6)
    state, received = SequenceState(), set()
    for _ in range(2_000):
        sequence = rng.randint(max(1, state.last - 30), state.last + 6)
        try:
            state, _ = advance(state, sequence, snapshot=rng.random() < 0.02, max_open=8)
        except SequenceReused:
            continue
        received.add(sequence)
        assert len(state.gaps) <= 8
        assert all(a <= b for a, b in state.gaps)
        assert all(b + 1 < c for (_, b), (c, _) in itertools.pairwise(state.gaps))
        assert all(b < state.last for _, b in state.gaps)
        assert not any(a <= n <= b for a, b in state.gaps for n in received)
