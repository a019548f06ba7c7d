"""How a paced run actually paced, from its results journal alone.

Each outcome records ``at`` (its completion, UTC, to the millisecond) and ``latency_ms`` (its
last attempt's): ``at - latency`` is when that request left. Times are whole microseconds, so
a window's edge is exact: a request one second after another is in the next second, not
this one, whatever floating point would make of two large timestamps.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from broadcaster.latency import percentiles

SECOND_US = 1_000_000
# How far a send time read from the journal can be from the real one: ``at`` is cut to the
# millisecond and ``latency_ms`` rounded to a tenth of one. Two requests measured less than a
# second minus twice this apart surely left less than a second apart, so the busiest second is
# counted over that window: a count above the pacer's limit there is the pacer's, not the
# rounding's.
RESOLUTION_US = 1_100
WINDOW_US = SECOND_US - 2 * RESOLUTION_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Pacing:
    requests: int
    mean_rate: float | None  # per second: n - 1 gaps over the span (n over it would claim more)
    busiest_second: int  # the most requests in any rolling window [t, t + WINDOW_US)
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    gap_max_ms: float | None


def send_times(lines: Iterable[bytes]) -> list[int]:
    """Each outcome's send time in microseconds since the epoch, ascending.

    Run headers and markers (no ``status``) are not requests; nor is an outcome with no
    latency (an invalid or skipped row never left).
    """
    times = []
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a torn last line
        if not isinstance(record, dict) or "status" not in record:
            continue
        at, latency = record.get("at"), record.get("latency_ms")
        if isinstance(at, str) and isinstance(latency, int | float):
            done = (datetime.fromisoformat(at) - _EPOCH) // _MICROSECOND
            times.append(done - round(latency * 1000))
    return sorted(times)


def busiest_second(times: Sequence[int], window: int = WINDOW_US) -> int:
    """The most of ``times`` (sorted, µs) in any window ``[t, t + window)``: the longest run of
    requests less than ``window`` from first to last (two pointers, one pass)."""
    most, first = 0, 0
    for last, time in enumerate(times):
        while time - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def pacing_of(times: Sequence[int]) -> Pacing:
    """The figures of one paced run, from its sorted send times (µs)."""
    gaps = array("d", sorted((b - a) / 1000 for a, b in itertools.pairwise(times)))
    figures = percentiles(gaps)
    span = (times[-1] - times[0]) / SECOND_US if times else 0.0
    return Pacing(
        requests=len(times),
        mean_rate=(len(times) - 1) / span if span > 0 else None,
        busiest_second=busiest_second(times),
        gap_p50_ms=figures["p50"],
        gap_p99_ms=figures["p99"],
        gap_max_ms=figures["max"],
    )
