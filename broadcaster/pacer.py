"""The pacer: one global schedule for every request of a run.

Request n is due at ``t0 + n/rate`` on the event loop's clock, so slow responses never lower the
rate (vegeta's model). Three properties define it, and the tests hold it to them:

- the mean rate is within 1% of the asked rate, also at 1000/s where timers are coarser than a
  slot: workers reserve slots ahead, so a late wake-up does not move the schedule;
- never more than rate+1 requests leave in any rolling second: a log of the last ⌊rate⌋+1
  departures holds a request back until the oldest is more than a second old, whatever the
  timers do (aiolimiter's bucket lets ``max_rate`` out at once, so it cannot promise this);
- after a pause or a stall it goes on at the rate without a catch-up burst: the schedule may lag
  the clock by one slot at most, and a pause moves it past the pause. Unpaced (rate 0), a pause
  still holds every request.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable

from broadcaster.rate import Rate

WINDOW = 1.0
_EPSILON = 1e-6


class Pacer:
    """``await pacer.wait()`` before each request; ``pacer.pause(seconds)`` on a 429."""

    def __init__(
        self,
        rate: Rate,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._unpaced = rate.unpaced
        self._interval = 0.0 if rate.unpaced else 1.0 / rate.per_second
        self._next: float | None = None
        self._resume_at = -math.inf
        self._epoch = 0
        limit = 1 if rate.unpaced else math.floor(rate.per_second * WINDOW) + 1
        self._recent: deque[float] = deque(maxlen=limit)

    async def wait(self) -> float:
        """Wait for this request's turn; return the clock reading it leaves at."""
        if self._unpaced:
            await self._sleep(0)
            while (left := self._resume_at - self._clock()) > 0:  # a pause holds everyone
                await self._sleep(left)
            if self._unpaced:  # else paced meanwhile (pace): this request takes a slot too
                return self._clock()
        while True:
            epoch = self._epoch
            await self._sleep_until(self._reserve())
            if epoch == self._epoch and await self._clear_window(epoch):
                now = self._clock()
                self._recent.append(now)
                return now

    def pace(self, rate: Rate) -> None:
        """An unpaced schedule paced from now on (an unpaced run that meets 429s)."""
        if not self._unpaced or rate.unpaced:
            return
        self._unpaced = False
        self._interval = 1.0 / rate.per_second
        self._next = max(self._resume_at, self._clock())
        self._recent = deque(maxlen=math.floor(rate.per_second * WINDOW) + 1)

    def set_rate(self, per_second: float) -> None:
        """Go on at another rate (the adaptive rate's): the next slot keeps its time, those
        after it are spaced anew. Never above the asked rate: the rolling-second log stays
        sized for that."""
        if not self._unpaced and per_second > 0:
            self._interval = 1.0 / per_second

    def pause(self, seconds: float) -> float:
        """Hold every request for ``seconds`` from now, then go on at the rate (also unpaced).

        The seconds the hold was lengthened by: 0.0 when a pause in force lasts longer.
        """
        now = self._clock()
        until = now + seconds
        if until <= self._resume_at:
            return 0.0
        added = until - max(now, self._resume_at)
        self._resume_at = until
        self._next = until
        self._epoch += 1  # requests waiting for a slot take a new one after the pause
        return added

    def _reserve(self) -> float:
        # The schedule may lag the clock by one slot (absorbing late wake-ups), never more: a
        # stall must not be made up for with a burst.
        now = self._clock()
        if self._next is None:
            self._next = max(self._resume_at, now)
        earliest = max(self._resume_at, now - self._interval)
        self._next = max(self._next, earliest)
        slot = self._next
        self._next += self._interval
        return slot

    async def _clear_window(self, epoch: int) -> bool:
        """Wait while ⌊rate⌋+1 requests left within the last second; False if paused meanwhile."""
        while len(self._recent) == self._recent.maxlen:
            free_at = self._recent[0] + WINDOW + _EPSILON
            if self._clock() >= free_at:
                return True
            await self._sleep_until(free_at)
            if epoch != self._epoch:
                return False
        return True

    async def _sleep_until(self, when: float) -> None:
        delay = when - self._clock()
        if delay > 0:
            await self._sleep(delay)
