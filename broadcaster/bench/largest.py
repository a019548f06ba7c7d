"""Steps ``validate``, ``dryrun`` and ``resume``: what a user runs on the whole campaign
before and after sending it, at the largest size.

Their targets are set for a million rows; at another size the figure is shown, and the
verdict says the target was not tried (SKIP), rather than judging a smaller run by it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from broadcaster.bench import units
from broadcaster.bench.process import Usage, median_usage
from broadcaster.bench.results import StepResult, Table, runs
from broadcaster.bench.verdicts import Verdict, at_most, only_at
from broadcaster.bench.workspace import BROADCASTER, Bench

TARGET_ROWS = 1_000_000
# step: (wall seconds at most, peak MB at most), at TARGET_ROWS
TARGETS = {"validate": (15.0, 60.0), "dryrun": (15.0, 60.0), "resume": (3.0, 100.0)}


def validate(bench: Bench) -> StepResult:
    def argv(csv: Path) -> list[str]:
        return [*BROADCASTER, "validate", str(csv), *bench.campaign_options()]

    return _at_largest(bench, "validate", "broadcaster validate", argv)


def dryrun(bench: Bench) -> StepResult:
    def argv(csv: Path) -> list[str]:
        return [*bench.send_argv(csv, bench.workdir / "dryrun.results.jsonl"), "--dry-run"]

    return _at_largest(bench, "dryrun", "broadcaster send --dry-run", argv)


def resume(bench: Bench) -> StepResult:
    """``resume`` of a campaign with nothing left: what it costs to read the journal and the
    input back, and find every row settled."""
    journal = bench.finished_journal(bench.options.largest)

    def argv(_: Path) -> list[str]:
        return [*BROADCASTER, "resume", str(journal), "--quiet"]

    return _at_largest(bench, "resume", "broadcaster resume (nothing left to send)", argv)


def _at_largest(
    bench: Bench, name: str, what: str, argv: Callable[[Path], list[str]]
) -> StepResult:
    rows, repeat = bench.options.largest, bench.options.repeat
    csv = bench.campaign(rows)
    measured = []
    for run in range(1, repeat + 1):
        command = argv(csv)
        bench.say(f"{name} {run}/{repeat}: {what} of {rows:,} rows")
        measured.append(bench.measure(command))
    usage = median_usage(measured)
    return StepResult(
        name=name,
        title=f"{what}, {rows:,} rows; {runs(repeat)}",
        table=Table(("rows", "wall time", "rows/s", "peak RSS"), (units.sized_row(rows, usage),)),
        figures={"rows": rows, "runs": repeat, **units.usage_figures(usage)},
        verdicts=_verdicts(name, rows, usage),
    )


def _verdicts(name: str, rows: int, usage: Usage) -> tuple[Verdict, ...]:
    wall_limit, mb_limit = TARGETS[name]
    peak = units.megabytes(usage.peak_rss_kib)
    wall = at_most(f"{name} wall time at {rows:,} rows", usage.wall, wall_limit, units.SECONDS)
    rss = at_most(f"{name} peak RSS at {rows:,} rows", peak, mb_limit, units.MEGABYTES)
    return only_at(rows, TARGET_ROWS, wall), only_at(rows, TARGET_ROWS, rss)
