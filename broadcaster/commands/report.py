"""``broadcaster report RESULTS…``: what happened, from the journals alone; what is left.

Text for people, ``--format json`` for scripts (the README documents its fields), ``--html`` a
page to forward, ``--failed-csv`` the rows to fix. Exit 0 when every row ended sent or skipped
and nothing is left; 1 when some rows failed, are invalid or are not ended (as ``send`` says).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from broadcaster.errors import UsageError
from broadcaster.exits import Exit
from broadcaster.inputs import STDIN
from broadcaster.options import Subparsers

if TYPE_CHECKING:  # imported to report, not with the parser: see report()
    from broadcaster.failedcsv import Exported
    from broadcaster.report import JournalFigures


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "report",
        help="what a campaign's journals say: rows, failures, latency, rate, what is left",
        description="Report a campaign from its results journals (several add up): rows by "
        "final status, failures and invalid rows by reason, attempts, pauses, latency, rate, "
        "the runs recorded, and what is left with the command that sends it. Exit 0 when every "
        "row ended sent or skipped, 1 when some failed, are invalid or are not ended.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="results journals")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="on stdout (default text)"
    )
    parser.add_argument(
        "--failed-csv",
        metavar="PATH",
        help="write the failed and invalid rows, with their columns, reason and line, to fix "
        "and send again (one journal only)",
    )
    parser.add_argument(
        "--html", metavar="PATH", help="also write the report as one self-contained HTML page"
    )


def run(args: argparse.Namespace) -> int:
    from broadcaster.logs import standard_output  # noqa: PLC0415 - see report()

    return report(args.results, args.format, args.failed_csv, args.html, standard_output())


def report(
    paths: list[str], fmt: str, failed_csv: str | None, html: str | None, out: TextIO
) -> int:
    # Imported to report, not with the parser: the journals' readers would slow --help.
    from broadcaster.failedcsv import write_failed_csv  # noqa: PLC0415
    from broadcaster.remaining import what_is_left  # noqa: PLC0415
    from broadcaster.report import build_report, read_figures, report_json  # noqa: PLC0415
    from broadcaster.reporttext import format_report  # noqa: PLC0415

    journals = [read_figures(path) for path in _distinct(paths)]
    if failed_csv is not None and len(journals) != 1:
        raise UsageError("--failed-csv reads one journal's input: give one RESULTS")
    _check_outputs({"--html": html, "--failed-csv": failed_csv}, journals)
    # The export can be refused (its input changed): first, so nothing else is half done.
    exported = None if failed_csv is None else write_failed_csv(journals[0], failed_csv)
    built = build_report(journals, [what_is_left(figures) for figures in journals])
    if html is not None:
        _write_html(html, built)
    if fmt == "json":
        out.write(report_json(built).decode())
    else:
        out.write(format_report(built))
    if exported is not None:
        print(f"failed-csv {_exported(exported, journals[0].path)}", file=_aside(fmt, out))
    out.flush()
    return _exit(built)


def _exported(exported: Exported, journal: str) -> str:
    from broadcaster.summary import counted  # noqa: PLC0415 - see report()

    rows = exported.failed + exported.invalid
    said = (
        f"wrote {rows:,} rows ({exported.failed:,} failed, {exported.invalid:,} invalid) "
        f"to {exported.path}"
    )
    if rows:
        command = (
            f"broadcaster resume {shlex.quote(journal)} --input {shlex.quote(exported.path)}"
            + (" --retry-failed" if exported.failed else "")
        )
        said += f"; fix them there, then send them with: {command}"
    if exported.not_ended:
        said += (
            f". {exported.not_ended:,} rows of the input have no record yet: send them first, "
            f"with broadcaster resume {shlex.quote(journal)}"
        )
    if exported.in_doubt:
        said += (
            f". {counted(exported.in_doubt, 'failed row')} in doubt (an attempt may have been "
            f"sent) left out: a fix would send them again; broadcaster reconcile "
            f"{shlex.quote(journal)} looks them up first"
        )
    return said


def _distinct(paths: list[str]) -> list[str]:
    """Each journal once, however it is named: adding one twice would count it twice."""
    seen: dict[Path, str] = {}
    for path in paths:
        seen.setdefault(Path(path).resolve(), path)
    return list(seen.values())


def _write_html(path: str, built: dict[str, Any]) -> None:
    from broadcaster.htmlreport import render_html  # noqa: PLC0415 - only --html needs it

    try:
        Path(path).write_text(render_html(built), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--html {path}: cannot write it ({exc.strerror})") from None


def _check_outputs(outputs: dict[str, str | None], journals: list[JournalFigures]) -> None:
    """An output never replaces what the report reads (a journal, an input its runs read),
    another results journal, or the other output; and it is a file."""
    from broadcaster.journal import check_output  # noqa: PLC0415 - see report()

    kept = [figures.path for figures in journals]
    kept += [run.header.input for figures in journals for run in figures.runs if run.header.input]
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        if path == STDIN:
            raise UsageError(f"{option} takes the path of a file (the report itself is on stdout)")
        target = Path(path).resolve()
        if target in seen:
            raise UsageError(f"{option} {path} is the {seen[target]} file too")
        seen[target] = option
        reads = {s: "a file the report reads" + ("" if s == path else f" ({s})") for s in kept}
        check_output(option, path, reads)


def _aside(fmt: str, out: TextIO) -> TextIO:
    return sys.stderr if fmt == "json" and sys.stderr is not None else out


def _exit(built: dict[str, Any]) -> int:
    rows = built["rows"]
    not_ended = sum(entry["not_ended"] or 0 for entry in built["left"])
    return Exit.PROBLEMS if rows["failed"] or rows["invalid"] or not_ended else Exit.OK
