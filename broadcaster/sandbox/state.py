"""What a sandbox remembers: committed messages by ``local_id``, counters, rate windows."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broadcaster.rate import Rate


@dataclass(frozen=True, slots=True)
class Committed:
    """One message the sandbox accepted, and the response it gave."""

    id: int
    body: Mapping[str, Any]
    response: Mapping[str, Any]
    at: float


class RollingWindow:
    """At most ``limit`` admissions in any window of ``period`` seconds (a sliding log)."""

    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        self._limit = max(1, math.floor(rate.count))
        self._period = rate.period
        self._clock = clock
        self._admitted: deque[float] = deque()

    def admit(self) -> float | None:
        """Admit a request now, or return the seconds until one would be admitted."""
        now = self._clock()
        while self._admitted and self._admitted[0] <= now - self._period:
            self._admitted.popleft()
        if len(self._admitted) >= self._limit:
            return self._admitted[0] + self._period - now
        self._admitted.append(now)
        return None


@dataclass(slots=True)
class SandboxState:
    """Counters and the messages committed, readable in-process and at ``/_sandbox/stats``."""

    requests: int = 0
    committed: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    bad_requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    messages: dict[str, Committed] = field(default_factory=dict)
    unkeyed: list[Committed] = field(default_factory=list)
    windows: dict[str, RollingWindow] = field(default_factory=dict)
    arrivals: list[float] = field(default_factory=list)
    next_id: int = 1

    def commit(self, body: Mapping[str, Any], response: Mapping[str, Any], at: float) -> None:
        record = Committed(self.next_id, body, response, at)
        self.next_id += 1
        self.committed += 1
        local_id = body.get("local_id")
        if isinstance(local_id, str) and local_id:
            self.messages[local_id] = record
        else:
            self.unkeyed.append(record)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "committed": self.committed,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rate_limited": self.rate_limited,
            "unauthorized": self.unauthorized,
            "bad_requests": self.bad_requests,
            "faults": dict(self.faults),
            "peak_per_second": peak_per_second(self.arrivals),
            "mean_rate": mean_rate(self.arrivals),
        }


def peak_per_second(arrivals: list[float]) -> int:
    """The most requests that arrived within any one second (a closed window)."""
    peak, start = 0, 0
    for end, arrived in enumerate(arrivals):
        while arrived - arrivals[start] > 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def mean_rate(arrivals: list[float]) -> float | None:
    """Requests a second between the first arrival and the last."""
    if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:  # noqa: PLR2004
        return None
    return round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 3)
