"""The command line: ``main_parser()`` builds it, ``main(argv)`` runs it and returns the exit code.

This is the one place that turns the package's exceptions into ``error: ...`` and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from broadcaster import __version__
from broadcaster.errors import BroadcasterError
from broadcaster.options import add_campaign_options, settings_from
from broadcaster.sandbox.command import add_sandbox_options, serve_from
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
        return validate(settings_from(args, dict(os.environ)), sys.stdout)
    return serve_from(args)


def run() -> NoReturn:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): quiet, as a Unix tool is, with SIGPIPE's status.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    sys.exit(code)
