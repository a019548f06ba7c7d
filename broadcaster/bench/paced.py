"""Step ``pacing``: the engine at the rates users ask for, read back from its own journal.

Each rate runs for ``--pacing-seconds`` worth of messages. The figures are the journal's
(``pacing``), the CPU is the process's (``wait4`` for the whole run, ``/proc`` samples for
the steady part: a campaign of hours costs what the steady part costs).

At the default rate, the one with a CPU target, the bare aiohttp loop (``bare``) then posts
the same bodies at the same rate on a fixed schedule, with the same concurrency, to the same
server, for as many seconds, and its CPU is measured alike: what the HTTP calls and the event
loop alone cost at that rate on this machine, for the engine's figure to be read against. It
keeps no journal, so only its CPU is shown; the target is still held to the engine's figure
alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from broadcaster.bench import units
from broadcaster.bench.cpu import STEADY, steady_percent, ticks_per_second
from broadcaster.bench.pacing import Pacing, pacing_of, send_times
from broadcaster.bench.process import Usage
from broadcaster.bench.results import StepResult, Table
from broadcaster.bench.verdicts import NOT_MEASURED, Verdict, at_most, within
from broadcaster.bench.workspace import Bench
from broadcaster.rate import parse_rate

RATES = ("480/m", "100/s", "1000/s")
TOLERANCE = 0.02  # of the asked rate, for the mean
CPU_RATE = "480/m"  # the default rate, where a campaign spends its hours
CPU_TARGET = 0.5  # % of one core, steady
BARE_RUN = 0  # the bare loop's local_ids here: throughput's runs are 1 and up
BARE_LABEL = "bare aiohttp"
COLUMNS = (
    "rate", "messages", "mean rate", "vs asked", "busiest second", "gap p50", "gap p99",
    "gap max", "CPU per 1,000 messages", "steady CPU",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BareRun:
    """The bare loop paced alike: its CPU only (it keeps no journal to read its pacing from)."""

    messages: int
    usage: Usage
    steady: float | None  # % of a core

    @property
    def cpu_per_thousand(self) -> float:
        return units.per_thousand(self.usage.cpu, max(1, self.messages))


@dataclass(frozen=True, slots=True)
class PacedRun:
    asked: str
    pacing: Pacing
    usage: Usage
    steady: float | None  # % of a core
    bare: BareRun | None = None  # at CPU_RATE only

    @property
    def per_second(self) -> float:
        return parse_rate(self.asked).per_second

    @property
    def limit(self) -> int:
        """The most requests a rolling second may hold: the rate + 1."""
        return math.floor(self.per_second + 1)

    @property
    def cpu_per_thousand(self) -> float:
        return units.per_thousand(self.usage.cpu, max(1, self.pacing.requests))

    @property
    def steady_vs_bare(self) -> float | None:
        """The engine's steady CPU over the bare loop's; None unless both were measured and
        the bare loop's is above 0."""
        if self.bare is None or not self.bare.steady or self.steady is None:
            return None
        return self.steady / self.bare.steady


def pacing(bench: Bench) -> StepResult:
    runs = [_paced_run(bench, index, asked) for index, asked in enumerate(RATES, 1)]
    low, high = (f"{part:.0%}" for part in STEADY)
    return StepResult(
        name="pacing",
        title=f"broadcaster send paced, {bench.options.pacing_seconds:g} s of messages at each "
        f"rate, to {bench.server.label}; one run each, and at {CPU_RATE} a {BARE_LABEL} loop "
        f"paced alike. PASS: the mean within {TOLERANCE:.0%} of the rate, and no rolling second "
        "above the rate + 1",
        table=Table(COLUMNS, tuple(row for run in runs for row in _rows(run))),
        figures={run.asked: _figures(run) for run in runs},
        verdicts=tuple(verdict for run in runs for verdict in _verdicts(run)),
        notes=(
            "send times: each outcome's at - latency_ms, from the results journal (to the ms)",
            (
                "busiest second: the most requests in any rolling window of 1 s less twice the "
                "journal's resolution (1.1 ms), so the rounding of its times adds none"
            ),
            f"steady CPU: % of one core, from /proc samples {low} to {high} into the run",
            (
                f"{CPU_RATE} {BARE_LABEL}: python -m broadcaster.bench.bare, the same bodies, "
                "concurrency and server, request n sent at t0 + n/rate and nothing else; what "
                "aiohttp and the event loop alone cost at that rate (no journal: its CPU only)"
            ),
        ),
    )


def _paced_run(bench: Bench, index: int, asked: str) -> PacedRun:
    messages = max(2, round(parse_rate(asked).per_second * bench.options.pacing_seconds))
    journal = bench.workdir / f"pacing-{index}.results.jsonl"
    argv = bench.send_argv(bench.campaign(messages), journal, rate=asked)
    bench.say(f"pacing: sending {messages:,} messages at {asked} to {bench.server.label}")
    usage = bench.measure(argv, sampled=True)
    result = pacing_of(send_times(journal.read_bytes().splitlines()))
    journal.unlink()
    bare = _bare_run(bench, asked, messages) if asked == CPU_RATE else None
    return PacedRun(asked, result, usage, _steady(usage), bare)


def _bare_run(bench: Bench, asked: str, messages: int) -> BareRun:
    """The bare loop posting the same ``messages`` bodies at ``asked``, sampled alike."""
    argv = bench.bare_argv(messages, BARE_RUN, rate=asked)
    bench.say(f"pacing: posting the same {messages:,} bodies at {asked} from a bare loop")
    usage = bench.measure(argv, sampled=True)
    return BareRun(messages, usage, _steady(usage))


def _steady(usage: Usage) -> float | None:
    end = usage.start + usage.wall
    return steady_percent(usage.samples, usage.start, end, ticks_per_second())


def _rows(run: PacedRun) -> tuple[tuple[str, ...], ...]:
    """The engine's row, and the bare loop's under it when it ran."""
    if run.bare is None:
        return (_row(run),)
    return _row(run), _bare_row(run.asked, run.bare)


def _row(run: PacedRun) -> tuple[str, ...]:
    mean = run.pacing.mean_rate
    return (
        run.asked,
        f"{run.pacing.requests:,}",
        units.shown(units.PER_SECOND, mean),
        "-" if mean is None else f"{round(mean / run.per_second - 1, 4) or 0.0:+.2%}",  # no -0
        f"{run.pacing.busiest_second:,} (max {run.limit:,})",
        units.shown(units.MILLISECONDS, run.pacing.gap_p50_ms),
        units.shown(units.MILLISECONDS, run.pacing.gap_p99_ms),
        units.shown(units.MILLISECONDS, run.pacing.gap_max_ms),
        units.SECONDS(run.cpu_per_thousand),
        units.shown(units.PERCENT, run.steady, NOT_MEASURED),
    )


def _bare_row(asked: str, bare: BareRun) -> tuple[str, ...]:
    """Its CPU; the journal's figures, which it has not, are ``-``."""
    cpu = (
        units.SECONDS(bare.cpu_per_thousand),
        units.shown(units.PERCENT, bare.steady, NOT_MEASURED),
    )
    return (f"{asked} {BARE_LABEL}", f"{bare.messages:,}", *("-",) * (len(COLUMNS) - 4), *cpu)


def _verdicts(run: PacedRun) -> tuple[Verdict, ...]:
    subject = f"pacing {run.asked}"
    found = (
        within(f"{subject} mean rate", run.pacing.mean_rate, run.per_second, TOLERANCE,
               units.PER_SECOND),
        at_most(f"{subject} busiest second", run.pacing.busiest_second, run.limit, units.COUNT),
    )  # fmt: skip
    if run.asked != CPU_RATE:
        return found
    cpu = at_most(f"{subject} steady CPU", run.steady, CPU_TARGET, units.CORE_PERCENT)
    return (*found, dataclasses.replace(cpu, beside=_beside(run)))


def _beside(run: PacedRun) -> str:
    """The bare loop's steady CPU and the engine's over it: ``bare aiohttp paced alike:
    0.60%, engine/bare 2.13x``; empty when the bare loop did not run."""
    if run.bare is None:
        return ""
    said = f"{BARE_LABEL} paced alike: {units.shown(units.PERCENT, run.bare.steady, NOT_MEASURED)}"
    ratio = run.steady_vs_bare
    return said if ratio is None else f"{said}, engine/bare {units.RATIO(ratio)}"


def _figures(run: PacedRun) -> dict[str, object]:
    result = run.pacing
    figures: dict[str, object] = {
        "asked_per_second": run.per_second,
        "requests": result.requests,
        "mean_rate": result.mean_rate,
        "busiest_second": result.busiest_second,
        "busiest_second_limit": run.limit,
        "gap_ms": {"p50": result.gap_p50_ms, "p99": result.gap_p99_ms, "max": result.gap_max_ms},
        "wall_seconds": run.usage.wall,
        "cpu_seconds": run.usage.cpu,
        "cpu_seconds_per_1000": run.cpu_per_thousand,
        "steady_cpu_percent": run.steady,
    }
    if run.bare is not None:
        figures["bare"] = _bare_figures(run.bare)
        figures["steady_cpu_vs_bare"] = run.steady_vs_bare
    return figures


def _bare_figures(bare: BareRun) -> dict[str, object]:
    return {
        "requests": bare.messages,
        **units.usage_figures(bare.usage),
        "cpu_seconds_per_1000": bare.cpu_per_thousand,
        "steady_cpu_percent": bare.steady,
    }
