"""Step ``throughput``: the whole engine against a bare aiohttp loop, side by side.

Both post the same bodies, unpaced, with the same concurrency, to the same server, as
processes of their own, in alternating runs (so a machine that slows down mid-bench slows
both alike). ``bare time / send time`` is the share of the engine's time that the HTTP calls
alone would take: 1.00x means reading, planning, keys, the journal and the bookkeeping cost
nothing on top.

When uvloop is installed (``broadcaster[fast]``), both run on it, and the engine also runs on
asyncio's own loop (``BROADCASTER_LOOP=asyncio``): what the optional extra is worth.
"""

from __future__ import annotations

from broadcaster.bench import units
from broadcaster.bench.process import Usage, median_usage
from broadcaster.bench.results import StepResult, Table, runs
from broadcaster.bench.verdicts import at_least
from broadcaster.bench.workspace import Bench
from broadcaster.eventloop import LOOP_VARIABLE, loop_name

TARGET = 0.90  # bare time / send time, at least


def throughput(bench: Bench) -> StepResult:
    rows, repeat = bench.options.rows, bench.options.repeat
    uvloop = loop_name(bench.env) == "uvloop"
    engine: list[Usage] = []
    bare: list[Usage] = []
    plain: list[Usage] = []  # the engine on asyncio's loop, when uvloop is the default
    for run in range(1, repeat + 1):
        engine.append(_engine_run(bench, run))
        bare.append(_bare_run(bench, run))
        if uvloop:
            plain.append(_engine_run(bench, run, loop="asyncio"))
    send, base = median_usage(engine), median_usage(bare)
    ratio = base.wall / send.wall
    rows_shown = [_row("broadcaster send", send, rows), _row("bare aiohttp", base, rows)]
    notes = [f"bare time / send time: {ratio:.2f}x (1.00x: the engine adds nothing)"]
    figures = _step_figures(bench, send, base)
    if plain:
        asyncio_send = median_usage(plain)
        rows_shown.append(_row("broadcaster send, asyncio loop", asyncio_send, rows))
        gain = asyncio_send.wall / send.wall
        notes.append(f"uvloop: the send takes {1 / gain:.2f}x the time it takes on asyncio's loop")
        figures["asyncio_send"] = _figures(asyncio_send, rows)
        figures["uvloop_speedup"] = gain
    return StepResult(
        name="throughput",
        title=f"broadcaster send against a bare aiohttp loop: {rows:,} rows unpaced, "
        f"{bench.options.concurrency} in flight, to {bench.server.label}; {runs(repeat)} each, "
        "alternating",
        table=Table(
            ("process", "requests/s", "wall time", "CPU per 1,000 messages", "peak RSS"),
            tuple(rows_shown),
        ),
        figures=figures,
        verdicts=(at_least("send vs bare aiohttp", ratio, TARGET, units.RATIO),),
        notes=tuple(notes),
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


def _engine_run(bench: Bench, run: int, loop: str | None = None) -> Usage:
    rows, repeat = bench.options.rows, bench.options.repeat
    journal = bench.workdir / f"throughput-{run}.results.jsonl"
    argv = bench.send_argv(bench.campaign(rows), journal, campaign=f"throughput-{run}")
    on = "" if loop is None else f" on {loop}'s loop"
    bench.say(
        f"throughput {run}/{repeat}: sending {rows:,} rows unpaced{on} to {bench.server.label}"
    )
    usage = bench.measure(argv, env=None if loop is None else {LOOP_VARIABLE: loop})
    journal.unlink()
    return usage


def _bare_run(bench: Bench, run: int) -> Usage:
    rows, repeat = bench.options.rows, bench.options.repeat
    argv = bench.bare_argv(rows, run)
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
        **units.usage_figures(usage),
        "cpu_seconds_per_1000": units.per_thousand(usage.cpu, rows),
    }
