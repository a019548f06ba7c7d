"""Step ``help``: how long ``broadcaster --help`` takes, start-up included, as a user waits
for it. Every command module is imported to build the parser, so this is the floor under
every command."""

from __future__ import annotations

import statistics

from broadcaster.bench.results import StepResult, Table
from broadcaster.bench.units import Unit
from broadcaster.bench.verdicts import at_most
from broadcaster.bench.workspace import BROADCASTER, Bench

RUNS = 10
TARGET = 0.15  # seconds, median
SHOWN = Unit(" s", 3)


def help_time(bench: Bench) -> StepResult:
    bench.say(f"help: timing broadcaster --help, {RUNS} runs")
    walls = sorted(bench.measure([*BROADCASTER, "--help"]).wall for _ in range(RUNS))
    median = statistics.median(walls)
    return StepResult(
        name="help",
        title=f"broadcaster --help, start-up included; median of {RUNS} runs",
        table=Table(
            ("command", "median", "fastest", "slowest"),
            (("broadcaster --help", SHOWN(median), SHOWN(walls[0]), SHOWN(walls[-1])),),
        ),
        figures={
            "runs": RUNS,
            "median_seconds": median,
            "min_seconds": walls[0],
            "max_seconds": walls[-1],
        },
        verdicts=(at_most("broadcaster --help", median, TARGET, SHOWN),),
    )
