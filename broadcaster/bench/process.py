"""One command, measured from outside as a user would meet it: wall time from spawn to exit,
and from ``wait4`` that command's own CPU time and peak memory (``ru_maxrss``, a high-water
mark no sampling can miss).

The command is started by ``spawner``, a small process of its own, and not by the bench
itself: a child's ``ru_maxrss`` starts at the peak of the process it was forked from (see
``spawner``), and the bench's would be every command's floor.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from broadcaster.bench.cpu import Sample, Sampler
from broadcaster.errors import UsageError

SPAWNER = Path(__file__).with_name("spawner.py")
_TAIL_LINES = 8
_TAIL_BYTES = 16_384  # a run that warned of every row must not be read whole
_STOP = 30.0  # seconds a command may take to stop once told to (the engine's grace is 10)


class ChildFailedError(UsageError):
    """A measured command exited with an error: its figures would mean nothing."""


@dataclass(frozen=True, slots=True)
class Usage:
    wall: float  # seconds from spawn to exit
    cpu: float  # user + system seconds, of the command alone
    peak_rss_kib: int  # ru_maxrss: KiB on Linux
    start: float = 0.0  # the bench's clock when the command started, for the samples
    samples: tuple[Sample, ...] = ()  # the clock and CPU ticks while it ran (empty: none taken)


@dataclass(frozen=True, slots=True)
class Report:
    """What ``spawner`` said of the command: its exit status and its usage."""

    status: int
    usage: Usage


def parse_report(line: str) -> Report:
    """``STATUS WALL CPU MAXRSS_KIB``, the spawner's last line."""
    status, wall, cpu, peak = line.split()
    return Report(int(status), Usage(float(wall), float(cpu), int(peak)))


def measure(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    sample_every: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    ends: frozenset[int] = frozenset({0}),
) -> Usage:
    """Run ``argv`` to its end; ChildFailedError, with the end of its stderr, on an exit not
    in ``ends`` (0: a run that stops as asked with rows left ends 3)."""
    spawn = [sys.executable, "-I", "-S", str(SPAWNER), *argv]
    with tempfile.TemporaryFile() as errors:
        spawner = subprocess.Popen(  # noqa: S603 - our spawner, running our commands or nginx
            spawn, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        with spawner:
            report = _watched(spawner, sample_every, clock)
        if report is None or report.status not in ends:
            raise ChildFailedError(f"{command_text(argv)} {_ended(report)}{tail(errors)}")
    return report.usage


def _ended(report: Report | None) -> str:
    if report is None:
        return "could not be run, or ended unwatched"
    if report.status < 0:
        return f"was killed by {signal.Signals(-report.status).name}"
    return f"exited {report.status}"


def _watched(
    spawner: subprocess.Popen[bytes], every: float | None, clock: Callable[[], float]
) -> Report | None:
    """The spawner's report, with the command's CPU sampled meanwhile if ``every``; None if
    there is none (the command could not start). Interrupted (Ctrl-C), the command is stopped,
    not left."""
    assert spawner.stdout is not None  # noqa: S101 - a pipe, opened by measure()
    pid, sampler, last, start = None, None, "", 0.0
    try:
        first = spawner.stdout.readline()
        if first:
            pid, start = int(first), clock()
            sampler = Sampler(pid, clock, every) if every else None
            if sampler:
                sampler.start()
            last = spawner.stdout.readline().decode()
    except BaseException:
        _stop(spawner, pid)
        raise
    finally:
        if sampler:
            sampler.stop()
    if not last:
        return None
    samples = tuple(sampler.samples) if sampler else ()
    report = parse_report(last)
    return replace(report, usage=replace(report.usage, start=start, samples=samples))


def _stop(spawner: subprocess.Popen[bytes], pid: int | None) -> None:
    """SIGTERM through the spawner; SIGKILL to both if they have not ended in ``_STOP``."""
    spawner.terminate()
    try:
        spawner.wait(timeout=_STOP)
    except subprocess.TimeoutExpired:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # not reaped yet: the spawner still waits for it
        spawner.kill()
        spawner.wait()


def median_usage(runs: Sequence[Usage]) -> Usage:
    """Each figure's median over runs (the samples are one run's, not a median's: dropped)."""
    return Usage(
        wall=statistics.median(run.wall for run in runs),
        cpu=statistics.median(run.cpu for run in runs),
        peak_rss_kib=round(statistics.median(run.peak_rss_kib for run in runs)),
    )


def command_text(argv: Sequence[str]) -> str:
    """The command as a person would type it: this interpreter shown as ``python``."""
    shown = ["python" if arg == sys.executable else arg for arg in argv]
    return shlex.join(shown)


def tail(stream: IO[bytes]) -> str:
    """The last lines a failed command wrote, to quote in its error."""
    end = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, end - _TAIL_BYTES))
    lines = stream.read().decode("utf-8", "replace").strip().splitlines()[-_TAIL_LINES:]
    return "; its stderr ends:\n  " + "\n  ".join(lines) if lines else " (its stderr is empty)"
