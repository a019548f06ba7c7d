"""The command line: ``main_parser()`` builds it, ``main(argv)`` runs it and returns the exit code.

This is the one place that turns the package's exceptions into ``error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from broadcaster import __version__
from broadcaster.campaign import send_campaign
from broadcaster.errors import BroadcasterError, UsageError
from broadcaster.header import last_run
from broadcaster.journal import read_journal
from broadcaster.logs import configure_logging
from broadcaster.options import add_campaign_options, given, settings_from
from broadcaster.reader import STDIN
from broadcaster.sandbox.command import add_sandbox_options, serve_from
from broadcaster.settings import Settings
from broadcaster.validate import validate

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="broadcaster",
        description="Send large SMS/MMS campaigns through the Heymarket API.",
    )
    parser.add_argument("--version", action="version", version=f"broadcaster {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_campaign_options(
        commands.add_parser(
            "send",
            help="send every row of a campaign file, recording each outcome; again to resume",
            description="Send every row of INPUT at --rate, retrying what can be retried with "
            "the same local_id, and record each outcome in the results journal. Running the "
            "same command again resumes: rows already recorded are not sent again. Exit 0 when "
            "every row ended sent or skipped, 1 when some failed or are invalid, 2 on usage or "
            "credential errors, 130/143 when stopped by SIGINT/SIGTERM (resumable).",
        )
    )
    resume = commands.add_parser(
        "resume",
        help="continue the run recorded in a results journal",
        description="Continue the campaign recorded in RESULTS with its recorded input and "
        "settings; options given here override them.",
    )
    resume.add_argument("results", metavar="RESULTS", help="the results journal of a run")
    add_campaign_options(resume, resuming=True)
    add_campaign_options(
        commands.add_parser(
            "validate",
            help="check a campaign file without sending: bad rows, counts, segments, time",
            description="Parse, validate, render and key every row; report bad rows as "
            "PATH:LINE: field: reason. No network. Exit 0 if every row is valid, 1 if not.",
        )
    )
    add_sandbox_options(
        commands.add_parser(
            "sandbox",
            help="run the local stand-in of the Heymarket API",
            description="Serve a local stand-in of the Heymarket API: documented validation, "
            "rate limit, local_id idempotency and seeded fault injection.",
        )
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = main_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _dispatch(args)
    except BroadcasterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return validate(settings_from(args, os.environ), sys.stdout)
    if args.command == "send":
        return _send(settings_from(args, os.environ))
    if args.command == "resume":
        return _send(_resumed(args))
    return serve_from(args)


def _send(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.quiet)
    return asyncio.run(send_campaign(settings, dict(os.environ), sys.stdout))


def _resumed(args: argparse.Namespace) -> Settings:
    """The settings of the last run recorded in the journal, replaced by the options given."""
    if not Path(args.results).is_file():
        raise UsageError(f"{args.results}: no such results journal")
    last = last_run(read_journal(args.results).headers)
    if last is None:
        raise UsageError(f"{args.results}: no run is recorded in it (is it a results journal?)")
    if last.input in (None, STDIN):
        raise UsageError(
            f"the run recorded in {args.results} read stdin: pipe the input again, with "
            f"broadcaster send - --results {args.results}"
        )
    return Settings.from_record(last.settings, given(args))  # RESULTS is given: the journal read


def run() -> NoReturn:
    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C outside a run's own signal handling
        code = 130
    except BrokenPipeError:
        # The reader went away (``| head``): quiet, as a Unix tool is, with SIGPIPE's status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
