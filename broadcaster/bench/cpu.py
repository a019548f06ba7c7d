"""A running process's CPU time, read from ``/proc/PID/stat`` while it runs.

``wait4`` gives a child's CPU for its whole life, start-up and teardown included; a paced
run's cost while it paces (the figure that matters for a campaign of hours) needs samples
taken during the run. Where there is no ``/proc``, there are no samples, and the figure is
"not measured".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

Sample = tuple[float, int]  # (clock, CPU ticks: user + system)
# The part of a run read as steady: after start-up (imports, reading the file's first rows)
# and before teardown (the last fsync, the summary, the interpreter's exit).
STEADY = (0.25, 0.9)
_UTIME = 11  # the fields after the command's closing parenthesis, counted from 0 (state)
_STIME = 12


def ticks_per_second() -> int:
    return os.sysconf("SC_CLK_TCK")


def stat_ticks(stat: str) -> int:
    """User + system CPU in clock ticks, from a ``/proc/PID/stat`` line.

    The command name (field 2) is in parentheses and may hold spaces or parentheses itself:
    the fields are counted after the last ``)``.
    """
    fields = stat.rpartition(")")[2].split()
    return int(fields[_UTIME]) + int(fields[_STIME])


def read_ticks(pid: int) -> int | None:
    try:
        return stat_ticks(Path(f"/proc/{pid}/stat").read_text(encoding="ascii"))
    except (OSError, IndexError, ValueError):
        return None  # gone, or no /proc here


def steady_percent(
    samples: Sequence[Sample], start: float, end: float, per_second: float
) -> float | None:
    """CPU as a % of one core between the first sample ``STEADY[0]`` into the run and the last
    sample before ``STEADY[1]`` of it; None with fewer than two samples there."""
    span = end - start
    inside = [s for s in samples if STEADY[0] * span <= s[0] - start <= STEADY[1] * span]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:  # noqa: PLR2004 - two ends of a span
        return None
    (first_at, first), (last_at, last) = inside[0], inside[-1]
    return (last - first) / per_second / (last_at - first_at) * 100


class Sampler:
    """Samples a process's CPU ticks every ``every`` seconds on a thread, until stopped."""

    def __init__(self, pid: int, clock: Callable[[], float], every: float) -> None:
        self.samples: list[Sample] = []
        self._pid = pid
        self._clock = clock
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cpu-sampler-{pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            ticks = read_ticks(self._pid)
            if ticks is None:
                return
            self.samples.append((self._clock(), ticks))
