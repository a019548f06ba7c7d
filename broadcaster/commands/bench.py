"""``broadcaster bench``: measure broadcaster as whole processes against baselines run side by
side, on this machine, and say of each target whether it is met.

Its parser imports only ``bench.options``; the bench itself (aiohttp, the workload, the
servers) is imported when it runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from broadcaster.bench.options import (
    SERVERS,
    STEPS,
    BenchOptions,
    parse_size,
    parse_sizes,
    parse_steps,
)
from broadcaster.errors import UsageError
from broadcaster.exits import Exit
from broadcaster.options import Subparsers, positive_float, positive_int

_DEFAULT = BenchOptions()


# (flag, type, metavar, help) of what runs; each default is BenchOptions'.
_WHAT: tuple[tuple[str, Callable[[str], object], str, str], ...] = (
    ("--steps", parse_steps, "A,B", f"steps to run (default all: {','.join(STEPS)})"),
    (
        "--sizes",
        parse_sizes,
        "N,N",
        (
            "rows of memory's runs; the largest also serves validate, "
            "dryrun and resume (default 10k,100k,1M)"
        ),
    ),
    ("--rows", parse_size, "N", f"rows of throughput's runs (default {_DEFAULT.rows:,})"),
    ("--concurrency", positive_int, "N", f"requests in flight (default {_DEFAULT.concurrency})"),
    (
        "--repeat",
        positive_int,
        "N",
        (
            "runs of each process of throughput, validate, dryrun and "
            f"resume; medians reported (default {_DEFAULT.repeat})"
        ),
    ),
    (
        "--pacing-seconds",
        positive_float,
        "SECONDS",
        f"messages at each pacing rate last this long (default {_DEFAULT.pacing_seconds:g})",
    ),
)


def add_parser(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure throughput, pacing, memory and resume against baselines, side by side",
        description="Benchmark broadcaster as whole processes on this machine, against a bare "
        "aiohttp loop and against targets, with a server of its own (never the real API). "
        "Prints a table and one PASS/FAIL/SKIP line per target; progress goes to stderr. "
        "Exit 0 when the bench ran, whatever the verdicts; 2 on a usage error.",
    )
    what = parser.add_argument_group("what runs")
    for flag, kind, metavar, text in _WHAT:
        default = getattr(_DEFAULT, flag.removeprefix("--").replace("-", "_"))
        what.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
    _add_server_options(parser.add_argument_group("where they go"))
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the results as JSON instead")
    output.add_argument("--markdown", metavar="PATH", help="also write the results page to PATH")


def _add_server_options(group: argparse._ArgumentGroup) -> None:
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--server",
        choices=SERVERS,
        default=_DEFAULT.server,
        help="the server it starts: nginx, the sandbox, or auto (nginx when installed)",
    )
    where.add_argument(
        "--base-url",
        metavar="URL",
        help="your own staging endpoint instead (credentials from the environment)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="let --base-url be plain http to another machine (credentials unencrypted)",
    )
    for flag, default in (("--inbox-id", "101"), ("--creator-id", "55")):
        group.add_argument(
            flag,
            type=positive_int,
            metavar="N",
            help=f"sent as (default the sandbox's {default}; required with --base-url)",
        )


def run(args: argparse.Namespace) -> int:
    # Imported to run, not with the parser: the bench imports aiohttp and the servers.
    import orjson  # noqa: PLC0415

    from broadcaster.bench.page import render_page  # noqa: PLC0415
    from broadcaster.bench.results import as_json  # noqa: PLC0415
    from broadcaster.bench.runner import run_bench  # noqa: PLC0415
    from broadcaster.bench.text import render_text  # noqa: PLC0415

    options = options_from(args)
    page = _page_path(args.markdown)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        report = run_bench(options, os.environ, _say, typed_command(sys.argv))
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        sys.stdout.write(orjson.dumps(as_json(report), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_text(report))
    if page is not None:
        _write(page, render_page(report))
    return Exit.OK


def options_from(args: argparse.Namespace) -> BenchOptions:
    return BenchOptions(
        steps=args.steps,
        sizes=args.sizes,
        rows=args.rows,
        concurrency=args.concurrency,
        repeat=args.repeat,
        pacing_seconds=args.pacing_seconds,
        server=args.server,
        base_url=args.base_url,
        allow_insecure_http=args.allow_insecure_http,
        inbox_id=args.inbox_id,
        creator_id=args.creator_id,
    )


def typed_command(argv: list[str]) -> str:
    """The command line as typed, for the results page; ``broadcaster bench`` when the bench
    was not started from one (called in-process)."""
    if argv[1:2] != ["bench"]:
        return "broadcaster bench"
    return shlex.join(["broadcaster", *argv[1:]])


def _terminated(signum: int, frame: object) -> NoReturn:  # noqa: ARG001 - signal's signature
    """SIGTERM as an exception, so that the way out stops the servers the bench started
    (they run in process groups of their own, which a signal to the bench does not reach)."""
    raise SystemExit(Exit.SIGTERM)


def _say(line: str) -> None:
    print(f"bench: {line}…", file=sys.stderr, flush=True)


def _page_path(markdown: str | None) -> Path | None:
    """Checked before the bench runs, which may take an hour: a page that cannot be written
    must not lose the results."""
    if markdown is None:
        return None
    path = Path(markdown)
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"--markdown {markdown}: not a file in an existing directory")
    return path


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
