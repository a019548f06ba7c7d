"""Step ``memory``: ``send`` unpaced at each size, for its peak memory and its time.

Memory must stay flat in the number of rows (a bounded queue, no per-row object kept), so the
target is the same at every size. One run per size: a million rows takes minutes, and the
peak, unlike the time, hardly moves between runs. The largest campaign's journal is kept for
``resume``.
"""

from __future__ import annotations

from broadcaster.bench import units
from broadcaster.bench.process import Usage
from broadcaster.bench.results import StepResult, Table
from broadcaster.bench.verdicts import Verdict, at_most
from broadcaster.bench.workspace import Bench

TARGET_MB = 60.0  # peak RSS at every size


def memory(bench: Bench) -> StepResult:
    runs = [(size, _send(bench, size)) for size in bench.options.sizes]
    return StepResult(
        name="memory",
        title=f"broadcaster send unpaced at each size, {bench.options.concurrency} in flight, "
        f"to {bench.server.label}; one run each",
        table=Table(
            ("rows", "wall time", "rows/s", "peak RSS"),
            tuple(units.sized_row(size, usage) for size, usage in runs),
        ),
        figures={str(size): units.usage_figures(usage) for size, usage in runs},
        verdicts=tuple(_verdict(size, usage) for size, usage in runs),
        notes=("peak RSS: the process's high-water mark (wait4's ru_maxrss); 1 MB = 10^6 bytes",),
    )


def _send(bench: Bench, size: int) -> Usage:
    journal = bench.workdir / f"memory-{size}.results.jsonl"
    argv = bench.send_argv(bench.campaign(size), journal)
    bench.say(f"memory: sending {size:,} rows unpaced to {bench.server.label}")
    usage = bench.measure(argv)
    if size == bench.options.largest:
        bench.finished[size] = journal
    else:
        journal.unlink()
    return usage


def _verdict(size: int, usage: Usage) -> Verdict:
    peak = units.megabytes(usage.peak_rss_kib)
    return at_most(f"send peak RSS at {size:,} rows", peak, TARGET_MB, units.MEGABYTES)
