"""The adaptive rate's steps: down by a factor on a 429, once an overload; up by a step a while."""

from __future__ import annotations

import pytest

from broadcaster.adaptive import CLIMB_EVERY, DECREASE, FLOOR, SETTLE, STEP, AdaptiveRate


def test_a_429_lowers_it_once_an_overload() -> None:
    rate = AdaptiveRate(8.0)
    assert rate.lower(100.0) == pytest.approx(8.0 * DECREASE)
    assert rate.lower(100.0 + SETTLE / 2) is None  # the same overload
    assert rate.lower(100.0 + SETTLE) == pytest.approx(8.0 * DECREASE**2)
    assert rate.lowered == 2


def test_never_below_the_floor() -> None:
    rate = AdaptiveRate(8.0)
    for n in range(40):
        rate.lower(n * SETTLE)
    assert rate.per_second == pytest.approx(8.0 * FLOOR)
    assert rate.lower(1000.0) is None


def test_it_climbs_a_step_each_while_and_never_above_the_asked_rate() -> None:
    rate = AdaptiveRate(8.0)
    assert rate.climb(0.0) is None  # at the asked rate: nothing to climb
    rate.lower(0.0)
    assert rate.climb(CLIMB_EVERY / 2) is None
    assert rate.climb(CLIMB_EVERY) == pytest.approx(8.0 * DECREASE + 8.0 * STEP)
    now = CLIMB_EVERY
    while rate.reduced:
        now += CLIMB_EVERY
        rate.climb(now)
    assert rate.per_second == 8.0


def test_a_decrease_restarts_the_climb_clock() -> None:
    rate = AdaptiveRate(8.0)
    rate.lower(0.0)
    rate.lower(SETTLE)
    assert rate.climb(SETTLE + CLIMB_EVERY - 1) is None
    assert rate.climb(SETTLE + CLIMB_EVERY) is not None


def test_a_429_of_the_same_overload_restarts_the_climb_clock_too() -> None:
    rate = AdaptiveRate(8.0)
    rate.lower(0.0)
    assert rate.lower(SETTLE - 1) is None  # the same overload: no second decrease
    assert rate.climb(CLIMB_EVERY + 1) is None  # but 20 s without a 429 are counted anew
    assert rate.climb(SETTLE - 1 + CLIMB_EVERY) is not None
