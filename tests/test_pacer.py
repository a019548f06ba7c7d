from __future__ import annotations

import asyncio
import bisect
import itertools
import random

import pytest

from broadcaster.pacer import Pacer
from broadcaster.rate import Rate
from broadcaster.testing import VirtualTime


def most_in_any_second(times: list[float]) -> int:
    """The largest number of departures inside any closed one-second window."""
    ordered = sorted(times)
    return max(bisect.bisect_right(ordered, t + 1.0) - i for i, t in enumerate(ordered))


def mean_rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


async def departures(
    pacer: Pacer, clock: VirtualTime, count: int, workers: int = 16
) -> list[float]:
    times: list[float] = []

    async def worker() -> None:
        while len(times) < count:
            leaving = await pacer.wait()
            if len(times) < count:
                times.append(leaving)

    async def all_workers() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    await clock.run(all_workers())
    return times


class TestRate:
    @pytest.mark.parametrize(
        ("rate", "count"), [(Rate(480, 60), 960), (Rate(8), 800), (Rate(1000), 20_000)]
    )
    async def test_the_mean_rate_is_within_one_percent_of_the_asked_rate(
        self, rate: Rate, count: int
    ) -> None:
        clock = VirtualTime()
        times = await departures(Pacer(rate, clock=clock.clock, sleep=clock.sleep), clock, count)
        assert mean_rate(times) == pytest.approx(rate.per_second, rel=0.01)

    @pytest.mark.parametrize("overshoot", [0.0005, 0.002, 0.004])
    async def test_late_wake_ups_at_1000_per_second_keep_the_mean_and_spacing(
        self, overshoot: float
    ) -> None:
        """Wake-ups late by up to 4 slots neither lower the mean nor bunch requests."""
        rng = random.Random(5)
        clock = VirtualTime(overshoot=lambda: rng.uniform(0, overshoot))
        pacer = Pacer(Rate(1000), clock=clock.clock, sleep=clock.sleep)
        times = await departures(pacer, clock, 20_000)
        assert mean_rate(times) == pytest.approx(1000, rel=0.01)
        assert most_in_any_second(times) <= 1001

    @pytest.mark.parametrize("rate", [Rate(8), Rate(480, 60), Rate(2.5), Rate(1000)])
    async def test_never_more_than_rate_plus_one_in_any_second(self, rate: Rate) -> None:
        rng = random.Random(9)
        clock = VirtualTime(overshoot=lambda: rng.uniform(0, 0.003))
        pacer = Pacer(rate, clock=clock.clock, sleep=clock.sleep)
        times = await departures(pacer, clock, int(rate.per_second * 30) + 2)
        assert most_in_any_second(times) <= rate.per_second + 1

    async def test_first_requests_are_not_bunched(self) -> None:
        clock = VirtualTime()
        times = await departures(Pacer(Rate(4), clock=clock.clock, sleep=clock.sleep), clock, 4)
        assert times == [0.0, 0.25, 0.5, 0.75]

    async def test_unpaced_never_waits(self) -> None:
        clock = VirtualTime()
        times = await departures(Pacer(Rate(0), clock=clock.clock, sleep=clock.sleep), clock, 500)
        assert times == [0.0] * 500


class TestPause:
    async def test_a_pause_holds_everyone_then_goes_on_at_the_rate(self) -> None:
        clock = VirtualTime()
        pacer = Pacer(Rate(10), clock=clock.clock, sleep=clock.sleep)
        times: list[float] = []

        async def scenario() -> None:
            async def worker() -> None:
                while len(times) < 40:
                    times.append(await pacer.wait())
                    if len(times) == 10:
                        pacer.pause(5.0)  # a 429 met by the tenth request, at 0.9 s

            await asyncio.gather(*(worker() for _ in range(8)))

        await clock.run(scenario())
        before, after = times[:10], times[10:]
        assert before[-1] == pytest.approx(0.9)
        assert after[0] == pytest.approx(5.9)  # nobody left during the pause
        gaps = [b - a for a, b in itertools.pairwise(after)]
        assert min(gaps) == pytest.approx(0.1)  # no catch-up burst after it
        assert mean_rate(after) == pytest.approx(10, rel=0.01)

    async def test_a_shorter_pause_does_not_cut_a_longer_one(self) -> None:
        clock = VirtualTime()
        pacer = Pacer(Rate(10), clock=clock.clock, sleep=clock.sleep)
        pacer.pause(5.0)
        pacer.pause(1.0)
        assert await clock.run(pacer.wait()) == 5.0


class TestStall:
    async def test_no_catch_up_burst_after_a_stall(self) -> None:
        """Nobody asks for 10 s (all workers busy); then requests go at the rate, not at once."""
        clock = VirtualTime()
        pacer = Pacer(Rate(10), clock=clock.clock, sleep=clock.sleep)

        async def scenario() -> list[float]:
            times = [await pacer.wait() for _ in range(5)]
            await clock.sleep(10.0)
            return times + [await pacer.wait() for _ in range(20)]

        times = await clock.run(scenario())
        resumed = times[5:]
        assert resumed[0] == pytest.approx(10.4)
        within_first_slot = [t for t in resumed if t < resumed[0] + 0.1 - 1e-9]
        assert len(within_first_slot) <= 2
        assert most_in_any_second(times) <= 11
        assert mean_rate(resumed) == pytest.approx(10, rel=0.06)


class TestSetRate:
    async def test_a_lowered_rate_spaces_the_requests_after_it_anew(self) -> None:
        clock = VirtualTime()
        pacer = Pacer(Rate(10), clock=clock.clock, sleep=clock.sleep)
        first = await departures(pacer, clock, 50, workers=1)
        pacer.set_rate(5.0)
        after = await departures(pacer, clock, 50, workers=1)
        assert mean_rate(first) == pytest.approx(10, rel=0.01)
        assert mean_rate(after) == pytest.approx(5, rel=0.01)
        assert after[0] - first[-1] <= 0.2 + 1e-9  # no gap, no burst at the change

    async def test_an_unpaced_pacer_stays_unpaced(self) -> None:
        clock = VirtualTime()
        pacer = Pacer(Rate(0), clock=clock.clock, sleep=clock.sleep)
        pacer.set_rate(5.0)
        times = await departures(pacer, clock, 20)
        assert times[-1] == times[0]


async def test_an_unpaced_schedule_paced_during_a_pause_lets_no_burst_out() -> None:
    """An unpaced run that meets a 429: the requests held by the pause take slots after it."""
    clock = VirtualTime()
    pacer = Pacer(Rate(0), clock=clock.clock, sleep=clock.sleep)
    pacer.pause(1.0)
    pacer.pace(Rate(2))
    times = await departures(pacer, clock, 5, workers=8)
    assert sorted(times) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert most_in_any_second(times) <= 3
