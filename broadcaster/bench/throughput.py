"""Step ``throughput``: the whole engine against a bare aiohttp loop, side by side.

Both post the same bodies, unpaced, with the same concurrency, to the same server, as
processes of their own, in alternating runs (so a machine that slows down mid-bench slows
both alike). ``bare time / send time`` is the share of the engine's time that the HTTP calls
alone would take: 1.00x means reading, planning, keys, the journal and the bookkeeping cost
nothing on top.
"""

from __future__ import annotations

import sys

from broadcaster.bench import units
from broadcaster.bench.process import Usage, median_usage
from broadcaster.bench.results import StepResult, Table, runs
from broadcaster.bench.verdicts import at_least
from broadcaster.bench.workload import write_bodies
from broadcaster.bench.workspace import Bench

TARGET = 0.90  # bare time / send time, at least


def throughput(bench: Bench) -> StepResult:
    rows, repeat = bench.options.rows, bench.options.repeat
    engine: list[Usage] = []
    bare: list[Usage] = []
    for run in range(1, repeat + 1):
        engine.append(_engine_run(bench, run))
        bare.append(_bare_run(bench, run))
    send, base = median_usage(engine), median_usage(bare)
    ratio = base.wall / send.wall
    return StepResult(
        name="throughput",
        title=f"broadcaster send against a bare aiohttp loop: {rows:,} rows unpaced, "
        f"{bench.options.concurrency} in flight, to {bench.server.label}; {runs(repeat)} each, "
        "alternating",
        table=Table(
            ("process", "requests/s", "wall time", "CPU per 1,000 messages", "peak RSS"),
            (_row("broadcaster send", send, rows), _row("bare aiohttp", base, rows)),
        ),
        figures=_step_figures(bench, send, base),
        verdicts=(at_least("send vs bare aiohttp", ratio, TARGET, units.RATIO),),
        notes=(f"bare time / send time: {ratio:.2f}x (1.00x: the engine adds nothing)",),
    )


def _step_figures(bench: Bench, send: Usage, bare: Usage) -> dict[str, object]:
    rows = bench.options.rows
    return {
        "rows": rows,
        "concurrency": bench.options.concurrency,
        "runs": bench.options.repeat,
        "send": _figures(send, rows),
        "bare": _figures(bare, rows),
        "ratio": bare.wall / send.wall,
    }


def _engine_run(bench: Bench, run: int) -> Usage:
    rows, repeat = bench.options.rows, bench.options.repeat
    journal = bench.workdir / f"throughput-{run}.results.jsonl"
    argv = bench.send_argv(bench.campaign(rows), journal, campaign=f"throughput-{run}")
    bench.say(f"throughput {run}/{repeat}: sending {rows:,} rows unpaced to {bench.server.label}")
    usage = bench.measure(argv)
    journal.unlink()
    return usage


def _bare_run(bench: Bench, run: int) -> Usage:
    rows, repeat = bench.options.rows, bench.options.repeat
    bodies = write_bodies(
        bench.workdir / f"bodies-{run}.jsonl",
        rows,
        run=run,
        inbox_id=bench.inbox_id,
        creator_id=bench.creator_id,
    )
    concurrency = str(bench.options.concurrency)
    argv = [sys.executable, "-m", "broadcaster.bench.bare", bench.url(), str(bodies), concurrency]
    bench.say(f"throughput {run}/{repeat}: posting the same {rows:,} bodies from a bare loop")
    return bench.measure(argv)


def _row(label: str, usage: Usage, rows: int) -> tuple[str, ...]:
    return (
        label,
        f"{rows / usage.wall:,.0f}",
        units.SECONDS(usage.wall),
        units.SECONDS(units.per_thousand(usage.cpu, rows)),
        units.mb(usage.peak_rss_kib),
    )


def _figures(usage: Usage, rows: int) -> dict[str, float]:
    return {
        "requests_per_second": rows / usage.wall,
        "wall_seconds": usage.wall,
        "cpu_seconds": usage.cpu,
        "cpu_seconds_per_1000": units.per_thousand(usage.cpu, rows),
        "peak_rss_mb": units.megabytes(usage.peak_rss_kib),
    }
