"""``broadcaster inboxes``: the account's inboxes and their members (to find ``creator_id``)."""

from __future__ import annotations

import argparse

from broadcaster.errors import UsageError
from broadcaster.options import Subparsers


def add_parser(commands: Subparsers) -> None:
    commands.add_parser("inboxes", help="list inboxes and their members (to find creator_id)")


def run(args: argparse.Namespace) -> int:
    raise UsageError(f"inboxes is not built yet ({args.command})")
