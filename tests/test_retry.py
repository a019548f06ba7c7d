from __future__ import annotations

import random

import pytest

from broadcaster.retry import RetryPolicy


class TestRetryPolicy:
    def test_delays_spread_evenly_below_a_doubling_ceiling_up_to_the_cap(self) -> None:
        """Full jitter: uniform between 0 and min(cap, base * 2 ** (attempt - 1))."""
        policy = RetryPolicy(8, base=0.5, cap=30.0, rng=random.Random(1))
        for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)]:
            delays = [policy.delay(attempt) for _ in range(2000)]
            assert policy.ceiling(attempt) == ceiling
            assert 0.0 <= min(delays) < ceiling * 0.05
            assert ceiling * 0.95 < max(delays) <= ceiling
            assert sum(delays) / len(delays) == pytest.approx(ceiling / 2, rel=0.08)

    def test_retry_after_is_a_floor(self) -> None:
        policy = RetryPolicy(8, base=0.5, cap=30.0, rng=random.Random(2))
        assert all(policy.delay(1, retry_after=7.0) == 7.0 for _ in range(100))
        assert policy.delay(9, retry_after=120.0) == 120.0  # honoured beyond the cap

    def test_gives_up_after_max_attempts(self) -> None:
        policy = RetryPolicy(3)
        assert [policy.gives_up_after(n) for n in (1, 2, 3, 4)] == [False, False, True, True]

    def test_huge_attempt_numbers_do_not_overflow(self) -> None:
        assert RetryPolicy(10_000, base=1.0, cap=5.0).ceiling(5000) == 5.0
