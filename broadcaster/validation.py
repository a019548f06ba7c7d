"""What ``validate`` finds in a campaign: every row planned and triaged as a run would with an
empty journal, each invalid row reported as a compiler reports errors, the rest counted.

Apart from the command (``commands/validate``), which imports it only to run: the planning layer
would slow every ``broadcaster --help``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from broadcaster.columns import TARGET_FIELDS
from broadcaster.exits import Exit
from broadcaster.gate import Deferred
from broadcaster.inputs import STDIN
from broadcaster.isotime import aware_time
from broadcaster.journal import JournalState
from broadcaster.plan import Message
from broadcaster.preview import preview_lines
from broadcaster.rate import format_duration
from broadcaster.reader import header_of, read_rows
from broadcaster.record import Record
from broadcaster.remaining import triaged_rows
from broadcaster.schedule import window_lines
from broadcaster.segments import is_gsm7
from broadcaster.settings import Settings
from broadcaster.summary import counted
from broadcaster.template import unmatched_fields
from broadcaster.triage import Decision, Duplicate, Rejected, Settled, Withheld


@dataclass(slots=True)
class CampaignCounts:
    """What a pass over a campaign found, row by row."""

    rows: int = 0
    invalid: int = 0
    duplicates: int = 0
    withheld: Counter[str] = field(default_factory=Counter)  # by reason: suppressed
    zones: Counter[tuple[str, ...]] = field(default_factory=Counter)  # messages by zone set
    families: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    segments: int = 0
    ucs2: int = 0

    @property
    def requests(self) -> int:
        return self.rows - self.invalid - self.duplicates - self.withheld.total()

    def add(self, decision: Decision) -> None:
        self.rows += 1
        if isinstance(decision, Rejected | Settled):  # nothing is settled: no journal is read
            self.invalid += 1
            return
        if isinstance(decision, Duplicate):
            self.duplicates += 1
            return
        if isinstance(decision, Withheld):
            self.withheld[decision.reason] += 1
            return
        planned = decision
        self.families[planned.family] += 1
        self.kinds[planned.kind] += 1
        self.segments += planned.segments
        text = planned.body.get("text")
        if planned.kind == "sms" and isinstance(text, str) and not is_gsm7(text):
            self.ucs2 += 1


def unmatched(settings: Settings, first: Record | None) -> list[str]:
    """--text's merge fields that name no column of a CSV input, whose ``first`` row names
    its columns: for validate (at line 1, its header) and a run (before anything goes)."""
    columns = header_of(settings.format, settings.input, first)
    if settings.text is None or columns is None:
        return []
    return unmatched_fields(settings.text, columns)


def _unmatched(settings: Settings) -> list[str]:
    if settings.text is None or settings.input == STDIN or not Path(settings.input).is_file():
        return []  # stdin, a pipe: read once, by the rows' pass
    with read_rows(settings.input, settings.format) as rows:
        return unmatched(settings, next(rows, None))


def validate(settings: Settings, out: TextIO, now: datetime | None = None) -> int:
    """Print one line per invalid row, then the summary; 0 when every row is valid
    (``now``: when a send would start, for the send window's figures)."""
    counts = CampaignCounts()
    shown = "<stdin>" if settings.input == STDIN else settings.input
    first: list[Message] = []
    schedule = settings.schedule()
    out.write("".join(f"{shown}:1: warning: {said}\n" for said in _unmatched(settings)))
    for row in triaged_rows(settings, JournalState()):  # no journal: every row is checked
        decision = row.decision
        if isinstance(decision, Deferred):  # outside its window now: a message all the same
            assert isinstance(row.planned, Message)  # noqa: S101 - only a message waits
            decision = row.planned
        if schedule is not None and isinstance(decision, Message):
            counts.zones[schedule.zones(decision.body, row.record.fields)] += 1
        if isinstance(decision, Rejected):
            out.write(f"{shown}:{decision.line}: {decision.reason}\n")
        elif isinstance(decision, Message) and len(first) < settings.preview:
            first.append(decision)
        counts.add(decision)
    out.write("".join(line + "\n" for line in preview_lines(first)))
    out.write(format_counts(counts, settings))
    if schedule is not None:
        moment = now or datetime.now(UTC)
        deadline = aware_time(settings.not_after)
        lines = window_lines(schedule, counts.zones, settings.rate.per_second, moment, deadline)
        out.write("".join(line + "\n" for line in lines))
    return Exit.PROBLEMS if counts.invalid else Exit.OK


def format_counts(counts: CampaignCounts, settings: Settings) -> str:
    valid = counts.rows - counts.invalid
    families = ", ".join(
        f"{name} {counts.families[name]:,}" for name in TARGET_FIELDS if counts.families[name]
    )
    sms = counts.kinds["sms"]
    duplicates = (
        f", {counts.duplicates:,} duplicate (sent once, then skipped)" if counts.duplicates else ""
    )
    duplicates += "".join(
        f", {number:,} {reason} (not sent)" for reason, number in sorted(counts.withheld.items())
    )
    lines = [
        f"rows      {counts.rows:,}: {valid:,} valid, {counts.invalid:,} invalid{duplicates}",
        f"targets   {families or 'none'}",
        (
            f"messages  {sms:,} SMS in {counted(counts.segments, 'segment')} ({counts.ucs2:,} need "
            f"UCS-2), {counts.kinds['mms']:,} MMS, {counts.kinds['private']:,} private"
        ),
        *suppression_lines(settings),
        (
            f"time      {counted(counts.requests, 'request')} at {settings.rate}: "
            f"{_eta(counts, settings)}"
        ),
    ]
    return "".join(line + "\n" for line in lines)


def _eta(counts: CampaignCounts, settings: Settings) -> str:
    if settings.rate.unpaced:
        return "unpaced"
    return "about " + format_duration(settings.rate.duration(counts.requests))


def suppression_lines(settings: Settings) -> list[str]:
    """What the --suppress files hold, and the lines of them that are not numbers."""
    suppression = settings.suppression()
    if not suppression:
        return []
    files = ", ".join(suppression.files)
    lines = [f"suppress  {counted(len(suppression.numbers), 'number')} from {files}"]
    lines += [f"          {problem}" for problem in suppression.problems()]
    return lines
