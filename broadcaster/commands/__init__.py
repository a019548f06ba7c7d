"""One module per command, each with ``add_parser(commands)`` and ``run(args) -> int``.

They sit on top of the library (reader, plan, triage, engine, journal, ...), as vegeta's
commands sit on ``lib/``; ``cli`` dispatches from the table below.

Every command module is imported to build the parser, so ``broadcaster --help`` pays for what
any of them imports at its top: only what the parser needs is imported there, and what ``run()``
needs (the engine, aiohttp, libphonenumber, orjson) is imported when it runs.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from broadcaster.commands import (
    bench,
    inboxes,
    reconcile,
    report,
    resume,
    sandbox,
    send,
    validate,
)
from broadcaster.options import Subparsers


class Command(Protocol):
    """What a command module offers (a module satisfies it as it stands)."""

    def add_parser(self, commands: Subparsers) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Command] = {
    "send": send,
    "resume": resume,
    "validate": validate,
    "report": report,
    "reconcile": reconcile,
    "inboxes": inboxes,
    "sandbox": sandbox,
    "bench": bench,
}
