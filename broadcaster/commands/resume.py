"""``broadcaster resume RESULTS``: the run a journal recorded, with the options given laid over."""

from __future__ import annotations

import argparse
from pathlib import Path

from broadcaster.commands.send import send
from broadcaster.errors import UsageError
from broadcaster.inputs import STDIN
from broadcaster.options import Subparsers, add_campaign_options, given
from broadcaster.settings import Settings


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "resume",
        help="continue the run recorded in a results journal",
        description="Continue the campaign recorded in RESULTS with its recorded input and "
        "settings; options given here override them.",
    )
    parser.add_argument("results", metavar="RESULTS", help="the results journal of a run")
    parser.add_argument(
        "--input",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="the campaign file, when it has moved since the journal's last run",
    )
    add_campaign_options(parser, resuming=True)


def run(args: argparse.Namespace) -> int:
    return send(resumed(args))


def resumed(args: argparse.Namespace) -> Settings:
    """The settings of the last run recorded in the journal, replaced by the options given."""
    # Imported to resume, not with the parser: reading journals loads orjson, slow for --help.
    from broadcaster.header import read_last_run  # noqa: PLC0415

    if not Path(args.results).is_file():
        raise UsageError(f"{args.results}: no such results journal")
    last = read_last_run(args.results)
    if last is None:
        raise UsageError(f"{args.results}: no run is recorded in it (is it a results journal?)")
    if last.input in (None, STDIN):
        raise UsageError(
            f"the run recorded in {args.results} read stdin: pipe the input again, with "
            f"broadcaster send - --results {args.results}"
        )
    settings = Settings.from_record(last.settings, given(args))  # RESULTS given: the journal
    if not Path(settings.input).exists():
        raise UsageError(
            f"{settings.input}, the input the journal's last run read, is not there any more: "
            f"if it moved, run broadcaster resume {args.results} --input NEWPATH"
        )
    return settings
