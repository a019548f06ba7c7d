"""``broadcaster validate``: a dry run of the plan, reported as a compiler reports errors."""

from __future__ import annotations

import argparse
import os

from broadcaster.options import Subparsers, add_campaign_options, settings_from


def add_parser(commands: Subparsers) -> None:
    add_campaign_options(
        commands.add_parser(
            "validate",
            help="check a campaign file without sending: bad rows, counts, segments, time",
            description="Parse, validate, render and key every row; report bad rows as "
            "PATH:LINE: field: reason. No network. Exit 0 if every row is valid, 1 if not, 2 when "
            "the file (or an option) cannot be used. "
            "It also accepts, and ignores, the options only sending reads, so a send command "
            "line checks with its first word changed.",
        ),
        checking=True,
    )


def run(args: argparse.Namespace) -> int:
    # Imported to validate, not with the parser: the planning layer would slow --help.
    from broadcaster.logs import standard_output  # noqa: PLC0415
    from broadcaster.validation import validate  # noqa: PLC0415

    return validate(settings_from(args, os.environ), standard_output())
