"""The results as stdout shows them: a heading, each step's aligned table, then one verdict
line per target (``PASS  send vs bare aiohttp: 0.93x (target >= 0.90x)``)."""

from __future__ import annotations

from broadcaster.bench.results import About, BenchReport, StepResult, Table

_INDENT = "  "


def render_text(report: BenchReport) -> str:
    parts = [heading(report.about)]
    parts += [_step(step) for step in report.steps]
    parts.append("\n".join(["verdicts", *(v.line() for v in report.verdicts)]))
    return "\n\n".join(parts) + "\n"


def heading(about: About) -> str:
    machine = about.machine
    versions = ", ".join(f"{name} {number}" for name, number in about.versions.items())
    return (
        f"broadcaster bench, {about.date:%Y-%m-%d %H:%M} UTC, against {about.server}\n"
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['os']}\n"
        f"versions: {versions}; event loop: {about.event_loop}"
    )


def _step(step: StepResult) -> str:
    lines = [f"{step.name}: {step.title}", *aligned(step.table)]
    return "\n".join(lines + [_INDENT + note for note in step.notes])


def aligned(table: Table) -> list[str]:
    """The table's lines: the first column left-aligned, the figures right-aligned."""
    widths = [max(map(len, column)) for column in zip(table.columns, *table.rows, strict=True)]
    return [
        _INDENT
        + "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in (table.columns, *table.rows)
    ]
