"""What a sandbox remembers: committed messages by ``local_id`` and by conversation, counters,
rate windows.

A single send (``phone_number``) is filed, as it commits, in the conversation of its inbox and
phone, so ``GET /v1/messages`` reads one conversation's list and never scans every message (a
test run commits 100k and more). Group (``targets``), ``chat_id`` and ``list_id`` sends are in no
conversation here: nothing looks them up.
"""

from __future__ import annotations

import bisect
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
    unix: int
    """The whole unix second its ``date`` shows: what ``timestamp`` paging compares."""


def _unix(record: Committed) -> int:
    return record.unix


@dataclass(slots=True)
class Conversation:
    """The single sends committed to one phone from one inbox, oldest first."""

    id: int
    inbox: int
    target: str
    messages: list[Committed] = field(default_factory=list)

    def add(self, record: Committed) -> None:
        # An append, unless the wall clock stepped back: the list stays in date order.
        bisect.insort_right(self.messages, record, key=_unix)

    def page(self, before: int | None, limit: int) -> list[Committed]:
        """The newest ``limit`` messages dated strictly before ``before`` (unix), newest first."""
        end = len(self.messages)
        if before is not None:
            end = bisect.bisect_left(self.messages, before, key=_unix)
        return self.messages[max(0, end - limit) : end][::-1]


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
    resent: int = 0
    """Messages committed although their ``local_id`` had been (``dedupe="lists"``)."""
    history_requests: int = 0
    rate_limited: int = 0
    unauthorized: int = 0
    bad_requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    messages: dict[str, Committed] = field(default_factory=dict)
    unkeyed: list[Committed] = field(default_factory=list)
    conversations: dict[tuple[int, str], Conversation] = field(default_factory=dict)
    windows: dict[str, RollingWindow] = field(default_factory=dict)
    arrivals: list[float] = field(default_factory=list)
    next_id: int = 1

    def commit(
        self, body: Mapping[str, Any], response: Mapping[str, Any], at: float, unix: int
    ) -> None:
        """Keep a new message; ``messages`` keeps the first one of each ``local_id``."""
        record = Committed(self.next_id, body, response, at, unix)
        self.next_id += 1
        self.committed += 1
        local_id = body.get("local_id")
        if not (isinstance(local_id, str) and local_id):
            self.unkeyed.append(record)
        elif local_id in self.messages:
            self.resent += 1
        else:
            self.messages[local_id] = record
        self._file(record)

    def _file(self, record: Committed) -> None:
        inbox, phone = record.body.get("inbox_id"), record.body.get("phone_number")
        if not isinstance(inbox, int) or not isinstance(phone, str) or not phone:
            return
        conversation = self.conversations.get((inbox, phone))
        if conversation is None:
            conversation = Conversation(len(self.conversations) + 1, inbox, phone)
            self.conversations[inbox, phone] = conversation
        conversation.add(record)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "committed": self.committed,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "resent": self.resent,
            "history_requests": self.history_requests,
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
