"""Steps ``validate``, ``dryrun``, ``resume``, ``walk`` and ``halfway``: what a user runs on
the whole campaign before and after sending it, or after a crash, at the largest size.

Their targets are set for a million rows; at another size the figure is shown, and the
verdict says the target was not tried (SKIP), rather than judging a smaller run by it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson

from broadcaster.bench import units
from broadcaster.bench.process import Usage, median_usage
from broadcaster.bench.results import StepResult, Table, runs
from broadcaster.bench.verdicts import Verdict, at_most, only_at
from broadcaster.bench.workspace import BROADCASTER, Bench
from broadcaster.errors import UsageError
from broadcaster.exits import Exit
from broadcaster.finished import ENDED
from broadcaster.journal import READ

TARGET_ROWS = 1_000_000
_LAST_LINE_BYTES = 1 << 16
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
    input back, and find every row settled. Each run resumes the journal as the send left it
    (a resume appends its own run, which the next would find at the end)."""
    sent = bench.finished_journal(bench.options.largest)
    journal = bench.workdir / "resume.results.jsonl"

    def argv(_: Path) -> list[str]:
        shutil.copyfile(sent, journal)
        return [*BROADCASTER, "resume", str(journal), "--quiet"]

    return _at_largest(bench, "resume", "broadcaster resume (nothing left to send)", argv)


def walk(bench: Bench) -> StepResult:
    """``resume`` of the finished campaign with its journal's last ``read`` marker as a run
    before ``"ended"`` wrote it: the journal walked, a byte a row (a journal from before the
    marker, or one a run wrote to since without ending every row). No target: ``resume``'s
    is the path a finished campaign takes."""
    sent = bench.finished_journal(bench.options.largest)
    journal = bench.workdir / "walk.results.jsonl"

    def argv(_: Path) -> list[str]:
        _without_ended(sent, journal)
        return [*BROADCASTER, "resume", str(journal), "--quiet"]

    what = "broadcaster resume (nothing left to send; its journal walked)"
    return _at_largest(bench, "walk", what, argv)


def _without_ended(journal: Path, to: Path) -> None:
    """A copy of the journal whose last line, its read marker, says nothing of how the rows
    ended."""
    shutil.copyfile(journal, to)
    with to.open("r+b") as copy:
        size = copy.seek(0, os.SEEK_END)
        copy.seek(max(0, size - _LAST_LINE_BYTES))
        tail = copy.read()
        start = size - len(tail) + tail.rstrip(b"\n").rfind(b"\n") + 1
        copy.seek(start)
        marker = orjson.loads(copy.read())
        if marker.get("type") != READ:
            raise UsageError(f"{journal}: its last line is not a read marker")
        if marker.pop(ENDED, None) is None:
            return  # a send that did not end every row (another endpoint's refusals): walked
        copy.seek(start)
        copy.truncate()
        copy.write(orjson.dumps(marker) + b"\n")


def halfway(bench: Bench) -> StepResult:
    """``resume`` of a campaign stopped halfway (its journal cut after half the rows' records,
    as a stop leaves it), with ``--limit 1``: start-up, the journal, the rows settled by their
    line, the first message, and the end (the input hashed again and the rows left counted;
    exit 3). No target: about what a stopped campaign costs before it goes on."""
    rows = bench.options.largest
    stopped = _cut(bench.finished_journal(rows), bench.workdir / "halfway.jsonl", rows // 2)
    resumed = bench.workdir / "halfway.results.jsonl"

    def argv(_: Path) -> list[str]:
        shutil.copyfile(stopped, resumed)  # every run resumes the same stop
        return [*BROADCASTER, "resume", str(resumed), "--limit", "1", "--quiet"]

    what = "broadcaster resume --limit 1 (stopped halfway: start to exit, one message sent)"
    return _at_largest(bench, "halfway", what, argv, ends=frozenset({Exit.INCOMPLETE}))


def _cut(journal: Path, to: Path, outcomes: int) -> Path:
    """The journal as a stop after its first ``outcomes`` outcome records leaves it: the
    attempts of the messages still in flight then are left out, as a Ctrl-C's wait for them
    would leave them (in doubt after a crash, each would be looked up in a history the
    bench's server does not keep)."""
    in_flight: set[str] = set()
    with journal.open("rb") as source:
        end = 0
        for line in iter(source.readline, b""):
            outcome = line.startswith(b'{"status":')
            if outcome and not outcomes:
                break
            if outcome or line.startswith(b'{"type":"attempt"'):
                key = orjson.loads(line)["key"]
                (in_flight.discard if outcome else in_flight.add)(key)
                outcomes -= outcome
            end = source.tell()
        source.seek(0)
        with to.open("wb") as out:
            while source.tell() < end:
                line = source.readline()
                attempt = line.startswith(b'{"type":"attempt"')
                if not attempt or orjson.loads(line)["key"] not in in_flight:
                    out.write(line)
    return to


def _at_largest(
    bench: Bench,
    name: str,
    what: str,
    argv: Callable[[Path], list[str]],
    *,
    ends: frozenset[int] = frozenset({0}),
) -> StepResult:
    rows, repeat = bench.options.largest, bench.options.repeat
    csv = bench.campaign(rows)
    measured = []
    for run in range(1, repeat + 1):
        command = argv(csv)
        bench.say(f"{name} {run}/{repeat}: {what} of {rows:,} rows")
        measured.append(bench.measure(command, ends=ends))
    usage = median_usage(measured)
    return StepResult(
        name=name,
        title=f"{what}, {rows:,} rows; {runs(repeat)}",
        table=Table(("rows", "wall time", "rows/s", "peak RSS"), (units.sized_row(rows, usage),)),
        figures={"rows": rows, "runs": repeat, **units.usage_figures(usage)},
        verdicts=_verdicts(name, rows, usage) if name in TARGETS else (),
    )


def _verdicts(name: str, rows: int, usage: Usage) -> tuple[Verdict, ...]:
    wall_limit, mb_limit = TARGETS[name]
    peak = units.megabytes(usage.peak_rss_kib)
    wall = at_most(f"{name} wall time at {rows:,} rows", usage.wall, wall_limit, units.SECONDS)
    rss = at_most(f"{name} peak RSS at {rows:,} rows", peak, mb_limit, units.MEGABYTES)
    return only_at(rows, TARGET_ROWS, wall), only_at(rows, TARGET_ROWS, rss)
