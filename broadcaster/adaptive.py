"""The adaptive rate: lower it when 429s keep coming, climb back while answers are clean (AIMD).

The API's limit may be lower than documented, or another process may spend the same key. A
fixed rate above what is left meets a 429 every few requests; the throttle pauses everyone for
each, but the run would go on bumping into the limit. So, as TCP does with its window, a 429
that puts a new pause in force (not an echo of one in force) lowers the rate multiplicatively,
at most once per ``SETTLE`` seconds (the 429s of one overload are one event); and each
``CLIMB_EVERY`` seconds without a 429 raises it by a step of the asked rate, never above it. A
limit of 300/m under the default 480/m settles the run just under 300/m with a 429 every few
minutes, not one every few requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DECREASE = 0.8  # the rate kept on a 429
STEP = 0.02  # of the asked rate, added each CLIMB_EVERY seconds without a 429
CLIMB_EVERY = 20.0
SETTLE = 10.0  # seconds after a decrease in which 429s are the same overload
FLOOR = 0.1  # of the asked rate: never lower


@dataclass(slots=True)
class AdaptiveRate:
    """The rate in force, per second, between ``FLOOR`` and the asked rate (``ceiling``)."""

    ceiling: float
    per_second: float = math.nan
    lowered: int = 0  # decreases so far
    _changed_at: float = -math.inf
    _lowered_at: float = -math.inf

    def __post_init__(self) -> None:
        if math.isnan(self.per_second):
            self.per_second = self.ceiling

    @property
    def reduced(self) -> bool:
        return self.per_second < self.ceiling

    def lower(self, now: float) -> float | None:
        """A 429 put a new pause in force: the new rate, or None when unchanged (the same
        overload as the last decrease, or at the floor)."""
        if now - self._lowered_at < SETTLE:
            self._changed_at = now  # the same overload: no climb until CLIMB_EVERY after it
            return None
        new = max(self.ceiling * FLOOR, self.per_second * DECREASE)
        self._lowered_at = self._changed_at = now
        if new >= self.per_second:
            return None
        self.per_second = new
        self.lowered += 1
        return new

    def climb(self, now: float) -> float | None:
        """A clean answer: the new rate when a step is due, else None."""
        if not self.reduced or now - self._changed_at < CLIMB_EVERY:
            return None
        self.per_second = min(self.ceiling, self.per_second + self.ceiling * STEP)
        self._changed_at = now
        return self.per_second
