"""The results journal: JSONL, append-only, one writer at a time.

A run header record (``"type": "run"``), then one outcome record per row that reached an end.
Each record goes to the OS with ``os.write`` before its row counts as done, so a kill -9 loses
nothing that had finished; ``fsync`` follows at least once a second and at close. Nothing
already written is ever rewritten. Reading tolerates a torn last line (and skips, and counts,
any line that is not a record). Latest record wins, except that a ``skipped`` record (a
duplicate row) never hides the status of the message it duplicates.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from broadcaster.errors import JournalBusyError, UsageError
from broadcaster.outcome import STATUSES, Outcome, Status

RUN = "run"
SYNC_INTERVAL = 1.0


@dataclass(slots=True)
class JournalState:
    """What the journal says so far: the status of every key, and the run headers."""

    statuses: dict[str, Status] = field(default_factory=dict)
    headers: list[dict[str, Any]] = field(default_factory=list)
    damaged: int = 0

    def apply(self, record: object) -> None:
        if not isinstance(record, dict):
            self.damaged += 1
        elif record.get("type") == RUN:
            self.headers.append(record)
        elif record.get("status") in STATUSES and isinstance(record.get("key"), str):
            self.note(record["key"], record["status"])
        else:
            self.damaged += 1

    def note(self, key: str, status: Status) -> None:
        if status == "skipped" and key in self.statuses:
            return
        self.statuses[key] = status


def read_state(lines: Iterable[bytes]) -> JournalState:
    state = JournalState()
    for line in lines:
        if not line.strip():
            continue
        try:
            state.apply(orjson.loads(line))
        except orjson.JSONDecodeError:
            state.damaged += 1
    return state


def read_journal(path: str) -> JournalState:
    """The state of a journal on disk; an empty state when there is none."""
    try:
        with Path(path).open("rb") as handle:
            return read_state(handle)
    except FileNotFoundError:
        return JournalState()
    except OSError as exc:
        raise UsageError(f"cannot read results journal {path}: {exc.strerror}") from None


class Journal:
    """The writer. ``Journal.open(path)`` locks the file and reads what it holds."""

    def __init__(self, path: str, fd: int, state: JournalState, clock: Callable[[], float]) -> None:
        self.path = path
        self.state = state
        self._fd = fd
        self._clock = clock
        self._synced_at = clock()
        self._dirty = False

    @classmethod
    def open(cls, path: str, clock: Callable[[], float] = time.monotonic) -> Journal:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot open results journal {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalBusyError(
                f"results journal {path} is in use by another broadcaster process "
                "(one run at a time may write it)"
            ) from None
        journal = cls(path, fd, read_journal(path), clock)
        journal._end_torn_line()
        return journal

    def _end_torn_line(self) -> None:
        """A crash can leave half a line; start ours on a fresh one so neither is lost."""
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            self._write(b"\n")

    @property
    def statuses(self) -> dict[str, Status]:
        return self.state.statuses

    def write_header(self, header: dict[str, Any]) -> None:
        record = {"type": RUN, **header}
        self._write(orjson.dumps(record) + b"\n")
        self.state.headers.append(record)

    def record(self, outcome: Outcome) -> None:
        self._write(orjson.dumps(outcome.record()) + b"\n")
        self.state.note(outcome.key, outcome.status)
        self.sync_if_due()

    def sync_if_due(self) -> None:
        if self._dirty and self._clock() - self._synced_at >= SYNC_INTERVAL:
            self.sync()

    def sync(self) -> None:
        os.fsync(self._fd)
        self._synced_at = self._clock()
        self._dirty = False

    def close(self) -> None:
        if self._fd < 0:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)  # closing releases the lock
            self._fd = -1

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._dirty = True


class MemoryJournal:
    """A journal kept in memory: a dry run's (it writes nothing to disk), and the tests'."""

    def __init__(self, state: JournalState | None = None) -> None:
        self.state = state or JournalState()
        self.outcomes: list[Outcome] = []

    @property
    def statuses(self) -> dict[str, Status]:
        return self.state.statuses

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.state.note(outcome.key, outcome.status)

    def sync_if_due(self) -> None:
        return None
