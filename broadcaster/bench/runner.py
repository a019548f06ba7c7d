"""One bench run: choose the server, run the steps asked for in a scratch directory, and
return the report. Whatever happens, the server is stopped and the directory removed.

Usage errors (a bad URL, nginx asked for and missing, no credentials for the user's
endpoint) are found here, before anything runs: a bench can take an hour.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from yarl import URL

from broadcaster.bench.largest import dryrun, halfway, resume, validate, walk
from broadcaster.bench.machine import event_loop, this_machine, versions
from broadcaster.bench.memory import memory
from broadcaster.bench.nginx import find_nginx, nginx_version
from broadcaster.bench.options import BenchOptions
from broadcaster.bench.paced import pacing
from broadcaster.bench.results import About, BenchReport, StepResult
from broadcaster.bench.startup import help_time
from broadcaster.bench.throughput import throughput
from broadcaster.bench.workspace import Bench, ServerChoice
from broadcaster.credentials import credentials_from
from broadcaster.endpoint import check_base_url
from broadcaster.errors import UsageError

STEPS: dict[str, Callable[[Bench], StepResult]] = {
    "throughput": throughput,
    "pacing": pacing,
    "memory": memory,
    "validate": validate,
    "dryrun": dryrun,
    "resume": resume,
    "walk": walk,
    "halfway": halfway,
    "help": help_time,
}
_REACH_TIMEOUT = 10.0


def run_bench(
    options: BenchOptions,
    environ: Mapping[str, str],
    say: Callable[[str], None],
    command: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BenchReport:
    server = choose_server(options, environ)
    if options.server == "auto" and server.kind == "sandbox":
        say("nginx is not installed: the sandbox answers instead, on the cores it measures")
    about = About(
        date=now(),
        machine=this_machine(),
        versions=versions(server.version),
        server=server.label,
        command=command,
        options=dataclasses.asdict(options),
    )
    with (
        tempfile.TemporaryDirectory(prefix="broadcaster-bench-") as scratch,
        Bench(options, server, Path(scratch), environ, say) as bench,  # stopped first
    ):
        steps = tuple(STEPS[name](bench) for name in options.steps)
    return BenchReport(dataclasses.replace(about, event_loop=event_loop(bench.env)), steps)


def choose_server(options: BenchOptions, environ: Mapping[str, str]) -> ServerChoice:
    if options.base_url is not None:
        return endpoint(options, environ)
    binary = find_nginx(environ.get("PATH", os.defpath))
    if binary is None and options.server == "nginx":
        raise UsageError(
            "--server nginx: nginx is not installed (not on PATH, nor in /usr/sbin): install "
            "it (make bench does, where it can), or use --server sandbox"
        )
    if binary is None or options.server == "sandbox":
        return ServerChoice("sandbox")
    return ServerChoice("nginx", binary=binary, version=nginx_version(binary))


def endpoint(options: BenchOptions, environ: Mapping[str, str]) -> ServerChoice:
    """The user's own endpoint: a URL, reachable, with ids and credentials for it."""
    url = options.base_url or ""
    check_base_url(url, allow_insecure_http=options.allow_insecure_http)
    if options.inbox_id is None or options.creator_id is None:
        raise UsageError(
            "--base-url needs --inbox-id and --creator-id: the sandbox's 101 and 55 are not "
            "your account's"
        )
    credentials_from(environ, instead="broadcaster bench without --base-url")
    reach(url)
    return ServerChoice("endpoint", url=url.rstrip("/"))


def reach(url: str) -> None:
    """A TCP connection to the URL's host and port, or a UsageError saying why not."""
    parsed = URL(url)
    host, port = parsed.host or "", parsed.port or 0
    try:
        with socket.create_connection((host, port), timeout=_REACH_TIMEOUT):
            pass
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else str(exc) or "timed out"
        raise UsageError(f"cannot reach {url} ({host}:{port}): {reason}") from None
