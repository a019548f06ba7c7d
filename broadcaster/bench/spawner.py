"""Start one command and report its pid, then its exit status, wall time, CPU and peak memory.

    python -I -S spawner.py COMMAND [ARG...]

Why a process between the bench and what it measures: Linux gives a child, at its ``exec``,
the peak memory of the process it was forked from (``ru_maxrss`` keeps the high-water mark of
the address space the exec replaced). Spawned from the bench, which may have read journals of
60,000 lines, every command would report at least the bench's own peak. Spawned from this
script, run by path without ``site`` (``-S``) and importing only built-in modules, the floor
is a bare interpreter's (about 8 MB), below any command the bench measures.

Its stdout is the report, two lines: the command's pid, as soon as it runs (the bench samples
``/proc`` with it); then ``STATUS WALL CPU MAXRSS_KIB``. The command's stdout goes to
/dev/null; its stdin and stderr are this script's. A SIGTERM is passed on to the command; a
SIGINT is left to the command, which gets its own from the terminal.
"""

from __future__ import annotations  # annotations stay text: nothing is imported for them

import os
import signal
import sys
import time

NOT_STARTED = 127  # as a shell says of a command it cannot run
_child: list[int] = []  # the command's pid, once spawned: where a SIGTERM goes


def _pass_on(signum: int, frame: object) -> None:  # noqa: ARG001 - a signal handler's signature
    for pid in _child:
        os.kill(pid, signum)


def _leave_to_the_command(signum: int, frame: object) -> None:
    """SIGINT: caught (so the command starts with the default), and left to the command."""


def main(command: list[str]) -> int:
    signal.signal(signal.SIGTERM, _pass_on)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _leave_to_the_command)
    quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    start = time.perf_counter()
    try:
        pid = os.posix_spawnp(command[0], command, os.environ, file_actions=quiet)
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return NOT_STARTED
    _child.append(pid)
    print(pid, flush=True)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    _child.clear()
    cpu = usage.ru_utime + usage.ru_stime
    print(os.waitstatus_to_exitcode(status), repr(wall), repr(cpu), usage.ru_maxrss, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
