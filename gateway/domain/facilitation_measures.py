"""The statistics of facilitation, exact from aggregates: Wilson intervals for rates, medians
and percentiles from a histogram of release minutes with an order-statistic interval, and
ratios of a group to its baseline with their intervals. Every interval is 95 %.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate

from gateway.domain.facilitation import Comparison, Estimate

#: The standard normal quantile of 97.5 %: two-sided 95 % intervals.
Z = 1.959963984540054
#: Up to this many declarations the median's interval comes from the exact binomial
#: distribution; above it, from its normal approximation (then within one rank of exact).
EXACT_RANKS_UP_TO = 1000


def wilson(successes: int, trials: int) -> Estimate | None:
    """successes / trials with the Wilson score interval (sound at 0 and near 0, unlike the
    normal one); None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = Z * Z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 and at n the bound is exactly the point (rounding would leave a trace of 1e-18).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Estimate(p, low, high)


class Histogram:
    """Release times in whole minutes: (minute, declarations) pairs, minutes ascending."""

    def __init__(self, bins: Sequence[tuple[int, int]]) -> None:
        pairs = sorted((m, c) for m, c in bins if c > 0)
        self._minutes = [m for m, _ in pairs]
        self._cumulative = list(accumulate(c for _, c in pairs))
        self.count = self._cumulative[-1] if pairs else 0
        self.total_minutes = sum(m * c for m, c in pairs)

    def at_rank(self, rank: int) -> int:
        """The ``rank``-th smallest release minute (1-based order statistic)."""
        return self._minutes[bisect_left(self._cumulative, rank)]

    def median(self) -> float:
        n = self.count
        if n % 2:
            return float(self.at_rank((n + 1) // 2))
        return (self.at_rank(n // 2) + self.at_rank(n // 2 + 1)) / 2

    def percentile(self, p: float) -> float:
        """Nearest rank: the smallest value with at least p % of the declarations at or below."""
        return float(self.at_rank(max(1, math.ceil(p / 100 * self.count))))

    def mean(self) -> float:
        return self.total_minutes / self.count

    def median_interval(self) -> tuple[float, float]:
        """The order statistics (x_l, x_u) that hold the median with probability >= 95 %
        (distribution-free: the count below the median is binomial(n, 1/2)). Below six
        declarations no pair reaches 95 %: the whole range is given."""
        low, high = median_ranks(self.count)
        return float(self.at_rank(low)), float(self.at_rank(high))


def median_ranks(n: int) -> tuple[int, int]:
    """Ranks (l, n + 1 - l) of the median's 95 % order-statistic interval among ``n`` values."""
    if n <= EXACT_RANKS_UP_TO:
        # Largest l with P(X <= l - 1) <= 2.5 %, X ~ binomial(n, 1/2); at least 1.
        low, cumulative = 1, 0.0
        for k in range(n):
            cumulative += math.comb(n, k) / 2.0**n
            if cumulative > 0.025:
                break
            low = k + 1
        low = min(low, (n + 1) // 2)
    else:
        low = max(1, math.floor((n - Z * math.sqrt(n)) / 2))
    return low, n + 1 - low


def rate_ratio(group: tuple[int, int], baseline: tuple[int, int]) -> Comparison | None:
    """(a / n1) / (b / n2) from (events, trials) pairs, with Katz's log interval. None when
    the baseline has no trials or no events (the ratio would be infinite). A group without
    events has ratio 0; its interval then adds 0.5 to both event counts (Haldane), so the
    upper bound is finite and honest about the small count."""
    a, n1 = group
    b, n2 = baseline
    if n1 <= 0 or n2 <= 0 or b <= 0:
        return None
    value = (a / n1) / (b / n2)
    if a == 0:
        a_c, b_c, n1_c, n2_c = 0.5, b + 0.5, n1 + 0.5, n2 + 0.5
        centre = math.log((a_c / n1_c) / (b_c / n2_c))
        low, high = 0.0, math.exp(centre + Z * _katz_se(a_c, n1_c, b_c, n2_c))
    else:
        se = _katz_se(a, n1, b, n2)
        low, high = value * math.exp(-Z * se), value * math.exp(Z * se)
    return _comparison(value, low, high)


def _katz_se(a: float, n1: float, b: float, n2: float) -> float:
    return math.sqrt(max(0.0, 1 / a - 1 / n1 + 1 / b - 1 / n2))


def median_ratio(group: Estimate, baseline: Estimate) -> Comparison | None:
    """group / baseline medians; the interval conservatively from both medians' intervals
    (low = group.low / baseline.high, high = group.high / baseline.low). None when the
    baseline's median (or its interval's low end) is 0."""
    if baseline.value <= 0 or baseline.low <= 0:
        return None
    value = group.value / baseline.value
    return _comparison(value, group.low / baseline.high, group.high / baseline.low)


def _comparison(value: float, low: float, high: float) -> Comparison:
    """The ratio and 1 - ratio, whose interval is the ratio's flipped."""
    return Comparison(Estimate(value, low, high), Estimate(1 - value, 1 - high, 1 - low))
