"""Logging: structlog to stderr, for people (console) or machines (one JSON object a line); and,
with ``--log-file``, the same events as JSON lines appended to a file.

The level is INFO, or DEBUG with ``--verbose`` (one event per attempt); ``--quiet`` keeps only
warnings on stderr, not in the log file, which was asked for by name. Events below every
destination's level are dropped by structlog's filtering bound logger before any processor runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from broadcaster.errors import UsageError

CLEAR_LINE = "\r\x1b[2K"
_LEVELS = logging.getLevelNamesMapping()


def _json(obj: object) -> bytes:
    return orjson.dumps(obj, default=str)


def _dumps(obj: object, **_: object) -> str:
    return _json(obj).decode()


class StderrLogger:
    """Writes each line to the stream of the moment (``sys.stderr`` unless given).

    A log line that cannot be written (stderr closed, a broken pipe) is dropped: losing a log
    line must never stop a campaign, whose record is the journal.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        stream = self._stream or sys.stderr
        if stream is None:  # stderr closed at start: the line has nowhere to go
            return
        with contextlib.suppress(OSError, ValueError):
            # On a terminal a progress line may stand unfinished: clear it, it is redrawn.
            stream.write(CLEAR_LINE + message + "\n" if stream.isatty() else message + "\n")
            stream.flush()

    debug = info = warning = error = critical = msg


class LogFile:
    """A processor that appends each event to a file as one JSON line, as ``--log-format json``
    renders it, and passes the event on to stderr.

    Each line is one ``os.write`` on an ``O_APPEND`` descriptor, so runs that share a log file
    interleave whole lines. A write that fails drops its line and is warned of once on stderr:
    the journal is the campaign's record, and a full disk must not stop the campaign.
    """

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._warned = False
        self._torn = False  # a short write left part of a line: end it before the next

    @classmethod
    def open(cls, path: str) -> LogFile:
        """Open ``path`` to append to, creating it; a path that cannot be is a usage error."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise UsageError(f"--log-file {path}: cannot open it ({exc.strerror or exc})") from None
        return cls(path, fd)

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        if self._fd is not None:
            self._write(_json(event) + b"\n")  # what the json renderer writes, as bytes
        return event

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None  # events after the close are not written anywhere
            os.close(fd)

    def _write(self, line: bytes) -> None:
        assert self._fd is not None  # noqa: S101 - checked by the caller
        if self._torn:
            line = b"\n" + line
        try:
            written = os.write(self._fd, line)
        except OSError as exc:
            self._fail(exc.strerror or str(exc))
            return
        self._torn = written < len(line)
        if self._torn:
            self._fail("a short write (is the disk full?)")

    def _fail(self, reason: str) -> None:
        if self._warned:
            return
        self._warned = True
        # Through the log, so it reaches stderr in its format; this file drops it as it failed.
        structlog.get_logger("broadcaster").warning(
            "log file not written",
            path=self.path,
            reason=reason,
            note="log lines that cannot be written to it are dropped; the results journal is "
            "the campaign's record",
        )


class _AtLeast:
    """Drops the events below a level: stderr's, when the log file takes more (--quiet)."""

    def __init__(self, level: int) -> None:
        self._level = level

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        if _LEVELS.get(str(event.get("level")).upper(), self._level) < self._level:
            raise structlog.DropEvent
        return event


def configure_logging(
    log_format: str = "console",
    quiet: bool = False,
    stream: TextIO | None = None,
    *,
    verbose: bool = False,
    log_file: str | None = None,
) -> LogFile | None:
    """Configure the log; return the log file opened (the caller closes it), if any.

    Raises ``UsageError`` for ``--verbose`` with ``--quiet`` and for a log file that cannot be
    opened, before anything is sent.
    """
    if verbose and quiet:
        raise UsageError("--verbose and --quiet contradict each other: give one or the other")
    level = logging.DEBUG if verbose else logging.INFO
    stderr_level = logging.WARNING if quiet else level
    sink = None if log_file is None else LogFile.open(log_file)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *_to_the_file(sink, level, stderr_level),
            _renderer(log_format, stream),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            stderr_level if sink is None else level
        ),
        logger_factory=lambda *_: StderrLogger(stream),
        cache_logger_on_first_use=False,
    )
    return sink


def _to_the_file(sink: LogFile | None, level: int, stderr_level: int) -> list[Processor]:
    """The log file's processor, then a filter for what stderr takes less of (``--quiet``)."""
    if sink is None:
        return []
    return [sink] if stderr_level <= level else [sink, _AtLeast(stderr_level)]


def _renderer(log_format: str, stream: TextIO | None) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer(serializer=_dumps)
    target = stream or sys.stderr  # None when the process was started with stderr closed
    return structlog.dev.ConsoleRenderer(colors=target is not None and target.isatty())


def standard_output() -> TextIO:
    """stdout, or a sink when the process was started with it closed (``>&-``): a campaign
    runs, and its journal is written, whether or not anyone reads the summary."""
    if sys.stdout is not None:
        return sys.stdout
    return Path(os.devnull).open("w", encoding="utf-8")
