"""A bench run's results as data: each step's table, figures and verdicts, and what it ran on.

The text on stdout (``text``), the results page (``page``) and ``--json`` (``as_json``) are
three views of this one value, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from broadcaster.bench.verdicts import Verdict

JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class StepResult:
    name: str
    title: str  # one line: what ran, and how often
    table: Table
    figures: Mapping[str, object]  # the same, as numbers, for --json
    verdicts: tuple[Verdict, ...] = ()
    notes: tuple[str, ...] = ()  # lines under the table: a ratio, how a figure is read


@dataclass(frozen=True, slots=True)
class About:
    """Where and how the figures were taken: they mean little without it."""

    date: datetime
    machine: Mapping[str, object]  # cpu, cores, os
    versions: Mapping[str, str]  # python, broadcaster, aiohttp, and nginx when it served
    server: str  # what answered the requests, said for a person
    command: str
    event_loop: str = "asyncio"  # the measured commands', with its version
    options: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BenchReport:
    about: About
    steps: tuple[StepResult, ...]

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return tuple(verdict for step in self.steps for verdict in step.verdicts)


def runs(count: int) -> str:
    """How a figure was taken: ``one run``, or ``median of 3 runs``."""
    return "one run" if count == 1 else f"median of {count} runs"


def as_json(report: BenchReport) -> dict[str, object]:
    about = report.about
    return {
        "bench_version": JSON_VERSION,
        "date": about.date.isoformat(timespec="seconds"),
        "machine": dict(about.machine),
        "versions": dict(about.versions),
        "event_loop": about.event_loop,
        "server": about.server,
        "command": about.command,
        "options": dict(about.options),
        "steps": {step.name: dict(step.figures) for step in report.steps},
        "verdicts": [
            {
                "status": v.status,
                "subject": v.subject,
                "figure": v.figure,
                "target": v.target,
                "beside": v.beside,
            }
            for v in report.verdicts
        ],
    }
