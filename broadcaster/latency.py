"""Latency figures as vegeta reports them: min, mean, p50, p90, p95, p99, max; and a histogram.

Percentiles are nearest-rank over the sorted values (an observed latency, never an interpolated
one). Histogram buckets have fixed, readable edges, trimmed to the range observed.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

PERCENTILES = (50, 90, 95, 99)
FIGURES = ("min", "mean", *(f"p{percent}" for percent in PERCENTILES), "max")  # as reported
# Bucket edges in milliseconds: fine where requests usually land, coarse in the tail.
EDGES = (0, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)


def percentiles(ordered: array[float]) -> dict[str, Any]:
    """``ordered``: the latencies in ms, sorted ascending."""
    count = len(ordered)
    figures: dict[str, Any] = {"count": count}
    if not count:
        return figures | dict.fromkeys(FIGURES)
    figures["min"] = round(ordered[0], 1)
    figures["mean"] = round(math.fsum(ordered) / count, 1)
    for percent in PERCENTILES:
        rank = max(1, math.ceil(percent / 100 * count))
        figures[f"p{percent}"] = round(ordered[rank - 1], 1)
    figures["max"] = round(ordered[-1], 1)
    return figures


def histogram(ordered: array[float]) -> list[dict[str, Any]]:
    """Counts per bucket, from the first bucket with a value to the last; [] without values."""
    if not ordered:
        return []
    edges = [*EDGES, math.floor(max(ordered[-1], EDGES[-1])) + 1]
    counts = [0] * (len(edges) - 1)
    bucket = 0
    for value in ordered:
        while value >= edges[bucket + 1]:
            bucket += 1
        counts[bucket] += 1
    used = [index for index, count in enumerate(counts) if count]
    return [
        {"from_ms": float(edges[index]), "to_ms": float(edges[index + 1]), "count": counts[index]}
        for index in range(used[0], used[-1] + 1)
    ]
