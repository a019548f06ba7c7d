"""The results page (``--markdown PATH``, ``benchmarks/RESULTS.md``): the same tables and
verdicts, with when, where and how they were taken, so a figure can be checked by running the
same command on a like machine."""

from __future__ import annotations

from broadcaster.bench.results import BenchReport, StepResult, Table


def render_page(report: BenchReport) -> str:
    about = report.about
    machine = about.machine
    facts = [
        ("date", f"{about.date:%Y-%m-%d %H:%M} UTC"),
        ("machine", f"{machine['cpu']}, {machine['cores']} cores, {machine['os']}"),
        *((name, number) for name, number in about.versions.items()),
        ("event loop", about.event_loop),
        ("server", about.server),
        ("command", f"`{about.command}`"),
    ]
    parts = [
        "# Benchmark results",
        (
            "Written by `broadcaster bench --markdown` (`make bench`): run it again rather "
            "than edit this page. How each step is measured: `benchmarks/README.md`."
        ),
        "\n".join(f"- {name}: {value}" for name, value in facts),
        *(_step(step) for step in report.steps),
        "## Verdicts\n\n```\n" + "\n".join(v.line() for v in report.verdicts) + "\n```",
    ]
    return "\n\n".join(parts) + "\n"


def _step(step: StepResult) -> str:
    lines = [f"## {step.name}", "", step.title + ".", "", *table(step.table)]
    return "\n".join(lines + (["", *(f"- {note}" for note in step.notes)] if step.notes else []))


def table(data: Table) -> list[str]:
    """A Markdown table: the figures right-aligned, ``|`` in a cell escaped."""

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    rule = ["---"] + ["---:"] * (len(data.columns) - 1)
    return [line(data.columns), "|" + "|".join(rule) + "|", *map(line, data.rows)]
