"""The statistics of facilitation: Wilson intervals, order statistics from a histogram, and
ratios of a group to its baseline, including the cases that must not become 0 or infinity."""

from __future__ import annotations

import math

import pytest

from gateway.domain.facilitation import Estimate
from gateway.domain.facilitation_measures import (
    Histogram,
    median_ranks,
    median_ratio,
    rate_ratio,
    wilson,
)


def test_wilson_matches_the_textbook_values() -> None:
    """Newcombe (1998), example: 81 of 263. Result: 0.3080 (0.2553, 0.3662)."""
    e = wilson(81, 263)
    assert e is not None
    assert (round(e.value, 4), round(e.low, 4), round(e.high, 4)) == (0.308, 0.2553, 0.3662)


def test_wilson_at_zero_has_a_positive_upper_bound_and_none_without_trials() -> None:
    e = wilson(0, 100)
    assert e is not None
    assert (e.value, e.low) == (0.0, 0.0)
    assert 0.03 < e.high < 0.04  # 3.7 %: the "rule of three" neighbourhood
    assert wilson(0, 0) is None


def test_histogram_median_and_percentiles_are_the_order_statistics() -> None:
    # Values 1..10 once each: median (5 + 6) / 2, p90 by nearest rank = 9, mean 5.5.
    h = Histogram([(m, 1) for m in range(10, 0, -1)])
    assert (h.count, h.median(), h.percentile(90), h.mean()) == (10, 5.5, 9.0, 5.5)
    # Odd count, with repeats: 3 x 2 min, 1 x 7, 1 x 30 -> median 2.
    h = Histogram([(7, 1), (2, 3), (30, 1), (99, 0)])
    assert (h.count, h.median(), h.percentile(90), h.at_rank(4)) == (5, 2.0, 30.0, 7)


def test_median_ranks_are_exact_binomial_for_small_samples() -> None:
    """Known table values for the distribution-free 95 % interval of a median."""
    assert median_ranks(10) == (2, 9)
    assert median_ranks(20) == (6, 15)
    assert median_ranks(100) == (40, 61)
    # Below six no pair reaches 95 %: the whole range.
    assert median_ranks(5) == (1, 5)
    assert median_ranks(1) == (1, 1)


def test_median_ranks_for_large_samples_follow_the_normal_approximation() -> None:
    low, high = median_ranks(1_000_000)
    assert low == math.floor((1_000_000 - 1.959963984540054 * 1000) / 2)
    assert high == 1_000_001 - low
    # The exact and the approximate agree within a rank where they meet.
    exact, approx = median_ranks(1000)[0], math.floor((1000 - 1.96 * math.sqrt(1000)) / 2)
    assert abs(exact - approx) <= 1


def test_median_interval_holds_the_median() -> None:
    h = Histogram([(m, 3) for m in range(60, 600, 7)])
    low, high = h.median_interval()
    assert low <= h.median() <= high
    assert low < high


def test_rate_ratio_with_katz_interval() -> None:
    """10/1000 against 50/1000: ratio 0.2, reduction 0.8, interval by Katz's log method."""
    c = rate_ratio((10, 1000), (50, 1000))
    assert c is not None
    se = math.sqrt(1 / 10 - 1 / 1000 + 1 / 50 - 1 / 1000)
    assert c.ratio.value == pytest.approx(0.2)
    assert c.ratio.low == pytest.approx(0.2 * math.exp(-1.959963984540054 * se))
    assert c.ratio.high == pytest.approx(0.2 * math.exp(1.959963984540054 * se))
    assert c.reduction.value == pytest.approx(0.8)
    assert (c.reduction.low, c.reduction.high) == pytest.approx((1 - c.ratio.high, 1 - c.ratio.low))


def test_a_group_without_events_has_ratio_zero_and_a_finite_bound() -> None:
    c = rate_ratio((0, 200), (40, 1000))
    assert c is not None
    assert (c.ratio.value, c.ratio.low) == (0.0, 0.0)
    assert 0 < c.ratio.high < 1.5
    assert math.isfinite(c.ratio.high)
    assert c.reduction.value == 1.0


@pytest.mark.parametrize(
    ("group", "baseline"), [((3, 100), (0, 100)), ((3, 100), (0, 0)), ((0, 0), (3, 100))]
)
def test_no_baseline_events_or_no_declarations_is_not_available(
    group: tuple[int, int], baseline: tuple[int, int]
) -> None:
    """A zero baseline rate would make the ratio infinite. Result: None, never inf."""
    assert rate_ratio(group, baseline) is None


def test_median_ratio_interval_is_conservative() -> None:
    c = median_ratio(Estimate(7.0, 6.0, 8.0), Estimate(10.0, 9.0, 12.0))
    assert c is not None
    assert (c.ratio.value, c.ratio.low, c.ratio.high) == pytest.approx((0.7, 0.5, 8 / 9))
    assert c.reduction.value == pytest.approx(0.3)
    assert median_ratio(Estimate(1.0, 1.0, 1.0), Estimate(0.0, 0.0, 0.0)) is None
