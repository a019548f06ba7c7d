"""``broadcaster report RESULTS…``: what happened, from the journals alone."""

from __future__ import annotations

import argparse

from broadcaster.errors import UsageError
from broadcaster.options import Subparsers


def add_parser(commands: Subparsers) -> None:
    commands.add_parser("report", help="what a campaign's journals say: counts, failures, rate")


def run(args: argparse.Namespace) -> int:
    raise UsageError(f"report is not built yet ({args.command})")
