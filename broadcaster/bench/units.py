"""Figures as the tables and verdicts show them, and the conversions behind them, in one place.

A megabyte is 10^6 bytes (the targets are in MB); ``ru_maxrss`` is in KiB on Linux.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcaster.bench.process import Usage

BYTES_PER_MB = 1_000_000


@dataclass(frozen=True, slots=True)
class Unit:
    """How a figure of one kind is written: its suffix and its decimals."""

    suffix: str
    digits: int

    def __call__(self, value: float) -> str:
        return f"{value:,.{self.digits}f}{self.suffix}"


RATIO = Unit("x", 2)
SECONDS = Unit(" s", 2)
MEGABYTES = Unit(" MB", 1)
PER_SECOND = Unit("/s", 2)
MILLISECONDS = Unit(" ms", 1)
COUNT = Unit("", 0)
CORE_PERCENT = Unit("% of a core", 2)
PERCENT = Unit("%", 2)


def megabytes(kib: int) -> float:
    return kib * 1024 / BYTES_PER_MB


def per_thousand(cpu_seconds: float, messages: int) -> float:
    """CPU seconds per 1,000 messages: what a campaign of any size costs in CPU."""
    return cpu_seconds / messages * 1000


def mb(kib: int) -> str:
    return MEGABYTES(megabytes(kib))


def shown(unit: Unit, value: float | None, missing: str = "-") -> str:
    """``value`` in ``unit``, or ``missing`` when there is no figure."""
    return missing if value is None else unit(value)


def sized_row(rows: int, usage: Usage) -> tuple[str, ...]:
    """One run over ``rows`` rows, as the tables show it: rows, wall time, rows/s, peak RSS."""
    return (f"{rows:,}", SECONDS(usage.wall), f"{rows / usage.wall:,.0f}", mb(usage.peak_rss_kib))


def usage_figures(usage: Usage) -> dict[str, float]:
    return {
        "wall_seconds": usage.wall,
        "cpu_seconds": usage.cpu,
        "peak_rss_mb": megabytes(usage.peak_rss_kib),
    }
