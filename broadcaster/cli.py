"""The command line: ``main_parser()`` builds it, ``main(argv)`` runs it and returns the exit code.

Each command is a module of ``broadcaster.commands``. This is the one place that turns the
package's exceptions into ``error: ...`` and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from broadcaster.commands import COMMANDS
from broadcaster.errors import BroadcasterError, NotConfirmed
from broadcaster.exits import Exit


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="broadcaster",
        description="Send large SMS/MMS campaigns through the Heymarket API.",
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


class _Version(argparse.Action):
    """``--version``, reading the version only when asked (argparse's would on every run)."""

    def __init__(self, option_strings: Sequence[str], dest: str) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from broadcaster import __version__  # noqa: PLC0415 - costly, see broadcaster/__init__

        print(f"broadcaster {__version__}")
        parser.exit()


def _fill_standard_descriptors() -> None:
    """Started with stdin, stdout or stderr closed (``>&-``), hold their numbers with the null
    device, so that no file or socket the run opens takes one: a journal on descriptor 1
    would receive whatever is printed, and uvloop aborts when a socket does."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:  # pragma: no cover - the lowest free number is the one just found
                os.dup2(null, fd)
                os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = main_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else Exit.USAGE
    try:
        return COMMANDS[args.command].run(args)
    except BroadcasterError as exc:
        print(f"{'' if isinstance(exc, NotConfirmed) else 'error: '}{exc}", file=sys.stderr)
        return Exit.USAGE


def run() -> NoReturn:
    _fill_standard_descriptors()
    try:
        code = main()
        if sys.stdout is not None:
            sys.stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C outside a run's own signal handling
        code = Exit.SIGINT
    except BrokenPipeError:
        # The reader went away (``| head``): quiet, as a Unix tool is, with SIGPIPE's status.
        _silence_stdout()
        code = Exit.BROKEN_PIPE
    except OSError as exc:  # stdout cannot be written (a full disk): one line, not a traceback
        _silence_stdout()
        print(f"error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        code = Exit.USAGE
    sys.exit(code)


def _silence_stdout() -> None:
    """What is left in stdout's buffer would fail again at exit: send it nowhere."""
    if sys.stdout is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
