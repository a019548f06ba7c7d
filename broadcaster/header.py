"""The run header: the record that opens each run in a journal, written and read here alone.

``{"type": "run", "campaign", "input", "input_sha256", "settings", "version", "started_at"}``:
``settings`` are the run's resolved settings (``Settings.record()``), which ``resume`` rebuilds;
``input_sha256`` tells a later run whether it reads the same file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from broadcaster import __version__
from broadcaster.journal import RUN, RUN_START
from broadcaster.settings import Settings

_NEWLINE = ord("\n")
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class RunHeader:
    campaign: str | None
    input: str | None
    input_sha256: str | None
    settings: Mapping[str, Any]
    version: str
    started_at: str

    @classmethod
    def for_run(cls, settings: Settings, digest: str | None) -> RunHeader:
        recorded = settings.record()
        return cls(
            campaign=settings.defaults.campaign,
            input=recorded["input"],
            input_sha256=digest,
            settings=recorded,
            version=__version__,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def record(self) -> dict[str, Any]:
        """The header as the journal stores it (the journal adds ``"type": "run"``)."""
        return {
            "campaign": self.campaign,
            "input": self.input,
            "input_sha256": self.input_sha256,
            "settings": dict(self.settings),
            "version": self.version,
            "started_at": self.started_at,
        }

    @classmethod
    def read(cls, record: Mapping[str, Any]) -> RunHeader | None:
        """A header read back, or None when the record does not carry settings."""
        settings = record.get("settings")
        if not isinstance(settings, dict):
            return None
        return cls(
            campaign=_text(record.get("campaign")),
            input=_text(settings.get("input")),
            input_sha256=_text(record.get("input_sha256")),
            settings=settings,
            version=str(record.get("version")),
            started_at=str(record.get("started_at")),
        )


def last_run(headers: list[dict[str, Any]]) -> RunHeader | None:
    """The latest readable run header of a journal, or None."""
    for record in reversed(headers):
        header = RunHeader.read(record)
        if header is not None:
            return header
    return None


def read_last_run(path: str) -> RunHeader | None:
    """The journal's last readable run header, without the state of every key (what
    ``resume`` needs)."""
    record = read_last_run_record(path)
    return None if record is None else RunHeader.read(record)


def read_last_run_record(path: str) -> dict[str, Any] | None:
    """The journal's last readable run header as its record: searched for from the end, a
    chunk at a time, where a resumed campaign's last run began; in a chunk, at memchr's speed
    rather than line by line."""
    with contextlib.suppress(FileNotFoundError), Path(path).open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        rest = b""  # the start of the line the later chunk began in the middle of
        while end > 0:
            start = max(0, end - _CHUNK_BYTES)
            handle.seek(start)
            chunk = handle.read(end - start) + rest
            cut = 0 if start == 0 else chunk.find(b"\n") + 1  # whole lines only
            if cut == 0 and start > 0:  # one line longer than a chunk: read on
                rest, end = chunk, start
                continue
            header = _last_run_in(chunk[cut:])
            if header is not None:
                return header
            rest, end = chunk[:cut], start
    return None


def _last_run_in(lines: bytes) -> dict[str, Any] | None:
    """The last readable run header among whole ``lines``."""
    start = lines.rfind(RUN_START)
    while start >= 0:
        if start == 0 or lines[start - 1] == _NEWLINE:  # at a line's start
            end = lines.find(b"\n", start)
            with contextlib.suppress(orjson.JSONDecodeError):
                record = orjson.loads(lines[start : len(lines) if end < 0 else end])
                if (
                    isinstance(record, dict)
                    and RunHeader.read(record) is not None
                    and record.get("type") == RUN
                ):
                    return record
        start = lines.rfind(RUN_START, 0, start)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
