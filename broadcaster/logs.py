"""Logging: structlog to stderr, for people (console) or machines (one JSON object a line)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

import orjson
import structlog

CLEAR_LINE = "\r\x1b[2K"


def _dumps(obj: object, **_: object) -> str:
    return orjson.dumps(obj, default=str).decode()


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


def configure_logging(
    log_format: str = "console", quiet: bool = False, stream: TextIO | None = None
) -> None:
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    else:
        target = stream or sys.stderr  # None when the process was started with stderr closed
        renderer = structlog.dev.ConsoleRenderer(colors=target is not None and target.isatty())
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.WARNING if quiet else logging.INFO
        ),
        logger_factory=lambda *_: StderrLogger(stream),
        cache_logger_on_first_use=False,
    )


def standard_output() -> TextIO:
    """stdout, or a sink when the process was started with it closed (``>&-``): a campaign
    runs, and its journal is written, whether or not anyone reads the summary."""
    if sys.stdout is not None:
        return sys.stdout
    return Path(os.devnull).open("w", encoding="utf-8")
