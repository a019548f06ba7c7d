"""Logging: structlog to stderr, for people (console) or machines (one JSON object a line)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import orjson
import structlog


def _dumps(obj: object, **_: object) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(
    log_format: str = "console", quiet: bool = False, stream: TextIO | None = None
) -> None:
    out = stream or sys.stderr
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.WARNING if quiet else logging.INFO
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
