"""The servers a bench sends to: its own, started here and always stopped, never the real API.

The sandbox is started as ``broadcaster sandbox`` is by a user (rate limit off); nginx (see
``nginx``) answers faster, so the figures are broadcaster's rather than the stand-in's. Each
binds 127.0.0.1 only, in a process group of its own: a Ctrl-C meant for the bench does not
stop it behind the bench's back, and a stuck one is killed with every worker it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO

from broadcaster.bench.process import tail
from broadcaster.errors import UsageError

API_KEY = "bench"  # the sandbox accepts only this; the children send it
_STARTUP = 30.0  # seconds a server may take to listen
_STOP = 10.0  # seconds it may take to stop before it is killed
_LISTENING = re.compile(r"sandbox listening on (http://\S+)")


class ServerError(UsageError):
    """A server of the bench's own could not be started: nothing was measured."""


def own_server_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The children's environment with our server: the user's credentials (any
    ``HEYMARKET_*``) left out, so a JWT pair cannot win over the key our server accepts."""
    kept = {name: value for name, value in environ.items() if not name.startswith("HEYMARKET_")}
    return kept | {"HEYMARKET_API_KEY": API_KEY}


@contextlib.contextmanager
def serving_sandbox() -> Iterator[str]:
    """``broadcaster sandbox`` on an ephemeral port, unlimited; yields its URL."""
    argv = [sys.executable, "-m", "broadcaster", "sandbox", "--port", "0"]
    argv += ["--rate-limit", "0", "--api-key", API_KEY]
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(  # noqa: S603 - our own command
            argv, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, process_group=0
        )
        try:
            yield _listening_url(server, errors)
        finally:
            stop(server)


def _listening_url(server: subprocess.Popen[bytes], errors: IO[bytes]) -> str:
    assert server.stdout is not None  # noqa: S101 - opened as a pipe above
    ready, _, _ = select.select([server.stdout], [], [], _STARTUP)
    line = server.stdout.readline().decode("utf-8", "replace") if ready else ""
    match = _LISTENING.match(line)
    if match is None:
        server.poll()
        said = "did not start" if server.returncode is None else f"exited {server.returncode}"
        raise ServerError(f"the sandbox {said}{tail(errors)}")
    return match.group(1)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's group, then SIGKILL if it has not ended within ``_STOP``."""
    _signal_group(server.pid, signal.SIGTERM)
    try:
        server.communicate(timeout=_STOP)
    except subprocess.TimeoutExpired:
        _signal_group(server.pid, signal.SIGKILL)
        server.communicate()


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # ended, and every process of it
        os.killpg(group, signum)


def free_port() -> int:
    """A port nothing listens on now (for a server that cannot report the one it bound); it
    may be taken before the server binds it, so the caller tries again on a bind failure."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def accepts(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``host:port`` takes a TCP connection now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
