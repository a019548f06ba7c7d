"""The results journal: JSONL, append-only, one writer at a time.

A run header record (``"type": "run"``), then one outcome record per row that reached an end.
Each record goes to the OS with ``os.write`` before its row counts as done, so a kill -9 loses
nothing that had finished; ``fsync`` follows at least once a second and at close. Nothing
already written is ever rewritten. Reading tolerates a torn last line (and skips, and counts,
any line that is not a record).

A key's status is its message's: the latest ``sent``, ``failed`` or ``invalid`` record. A
``skipped`` record (a duplicate row) never settles a message: it is counted, so that a resumed
run knows how many of the key's duplicate rows already have their record, and nothing more.
The journal is refused when it is the input itself, not a regular file, or a stranger's file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from broadcaster.errors import JournalBusyError, JournalWriteError, UsageError
from broadcaster.inputs import STDIN
from broadcaster.keytable import KeyCounts, Statuses
from broadcaster.outcome import STATUSES, WITHHELD, Outcome, Status

RUN = "run"
PAUSE = "pause"  # a marker: every request paused (a 429, a Retry-After, no connection)
# A marker: a row of a --failed-csv file settled with nothing to record (its fixed message was
# already sent), yet it replaces the record ``key``, as a record's ``replaces`` does.
REPLACED = "replaced"
# A marker: the run read its whole input, ``rows`` rows, of this ``input_sha256`` (finished.py).
READ = "read"
# A marker: the circuit breaker stopped the run, for ``reason`` (breaker.py).
HALT = "halt"
# A marker: a message's first attempt is leaving (``key``, ``at``). One with no outcome after it
# is a row in doubt after a crash: the next run looks it up before sending it (lookup.py), for
# a message dated from ``at`` on.
ATTEMPT = "attempt"
# A marker: a message in doubt was looked up and not found (``key``): no longer in doubt.
NOT_COMMITTED = "not_committed"
# A marker: the adaptive rate was lowered to ``per_second``, for ``cause`` (adaptive.py).
RATE = "rate"
SYNC_INTERVAL = 1.0
# How a journal's first line begins (orjson keeps the order records are built in); a line torn
# by a crash still begins so, or is the start of one of these.
RUN_START = b'{"type":"run"'  # how a run header's line begins
# An attempt marker's line as written, read without a parse (half a journal's lines).
_ATTEMPT_HEAD = b'{"type":"attempt","key":"'
_ATTEMPT_MID, _ATTEMPT_END = b'","at":"', b'"}\n'
_BACKSLASH, _QUOTE = ord("\\"), ord('"')
# An outcome line as ``Outcome.record`` writes it with nothing after ``at`` (no fix, no
# digest, no doubt, no reason): its status, key and row read without a parse. ``,"at":"…"}``
# can only end a whole line: inside a string every quote is escaped, so a line torn short
# never ends so, and a field written after ``at`` would end it instead.
PLAIN_OUTCOME = re.compile(
    rb'\{"status":"(?P<status>sent|failed|invalid|skipped)","key":"(?P<key>[^"\\]*)",'
    rb'"local_id":(?:null|"[^"\\]*"),"row":(?P<row>[1-9][0-9]{0,17}),.*,"at":"[^"\\]*"\}\r?\n?',
    re.DOTALL,
)


def plain_outcome(line: bytes) -> re.Match[bytes] | None:
    """``PLAIN_OUTCOME``'s match of a line, unless the line holds a NUL: no record does (JSON
    escapes every control character), and a disk block zeroed by a power cut between one
    record's head and another's tail must be left to the parse, which finds it damaged. A NUL
    is looked for at memchr's speed; a pattern that refused every raw control character
    doubled the match's time."""
    return None if b"\0" in line else PLAIN_OUTCOME.fullmatch(line)


# A message's records take about 400 bytes (its outcome ~300, its attempt ~90): the journal's
# size over this guesses its keys low, and their map is made that big at once, most of its
# growing spared. Higher than a message's bytes, so that a journal of many records a key
# (failures retried run after run) does not make a map far larger than its keys need.
_BYTES_A_KEY = 1024
_STATUS_NAMES: dict[bytes, Status] = {status.encode(): status for status in STATUSES}
_FIRST_LINE_FORMS = (RUN_START, b'{"status":"')
_FIRST_LINE_LIMIT = 1 << 20


@dataclass(slots=True)
class JournalState:
    """What the journal says so far: the status of every key, and the run headers."""

    statuses: Statuses = field(default_factory=Statuses)  # compact: a million keys, ~21 MB
    headers: list[dict[str, Any]] = field(default_factory=list)
    damaged: int = 0
    # Records per key of rows that share a key with another row: duplicates (``skipped``) and
    # identical invalid rows. A resumed run records only the rows beyond these counts.
    skipped: KeyCounts = field(default_factory=KeyCounts)
    invalid: KeyCounts = field(default_factory=KeyCounts)
    # Rows skipped for a reason (outcome.WITHHELD), by reason and key: a later run for which
    # the reason still holds records only the rows beyond these counts.
    withheld: dict[str, KeyCounts] = field(default_factory=dict)
    # For rows with their own local_id: the message each local_id was sent (or tried) for.
    digests: dict[str, str] = field(default_factory=dict)
    # Records a --failed-csv row fixed: their key -> the key of the fixed row's message. A
    # replaced row is never sent again; it stands as its replacement does.
    replacements: dict[str, str] = field(default_factory=dict)
    # Messages an attempt of which may have been committed, with no word since that one was:
    # attempted with no outcome after (a crash), or failed in doubt; each with the time of its
    # first attempt (None when unknown), before which nothing found is it. Few: a run's
    # attempts each end with an outcome.
    in_doubt: dict[str, str | None] = field(default_factory=dict)
    halted: bool = False  # the last run was stopped by the circuit breaker

    def holds_rows(self) -> bool:
        """Whether any row has its record: only then can a row be settled already."""
        return bool(self.statuses) or bool(self.skipped) or bool(self.withheld)

    def apply(self, record: object) -> None:
        if not isinstance(record, dict):
            self.damaged += 1
        elif isinstance(record.get("type"), str):
            self._marker(record)
        elif record.get("status") in STATUSES and isinstance(record.get("key"), str):
            key, status = record["key"], record["status"]
            reason = record.get("reason")
            if status == "skipped" and reason in WITHHELD:
                self.withheld.setdefault(reason, KeyCounts()).add(key)
                return  # says nothing of the message, nor of a duplicate
            self._outcome(key, status, record.get("digest"))
            self._replaced(record.get("replaces"), key)
            doubt = record.get("in_doubt")
            if status == "failed" and doubt not in (None, False):
                self.in_doubt[key] = _text(doubt)  # the first attempt's time (true: unknown)
        else:
            self.damaged += 1

    def plain(self, status: bytes, key: bytes) -> bool:
        """A plain outcome line's record (``PLAIN_OUTCOME``: no fix, digest, doubt or
        reason), applied as ``apply`` would its parse; False, applying nothing, for a key
        that is not UTF-8 (the parse then says the line is damaged)."""
        try:
            text = key.decode()
        except UnicodeDecodeError:
            return False
        self._outcome(text, _STATUS_NAMES[status])
        return True

    def _outcome(self, key: str, status: Status, digest: object = None) -> None:
        """An outcome record of ``key``: its status noted; the message is no longer in doubt,
        unless a record says it still is (``apply``)."""
        self.note(key, status, digest)
        if status != "skipped":  # a duplicate's record says nothing of its message
            self.in_doubt.pop(key, None)

    def _marker(self, record: dict[str, Any]) -> None:
        kind, key = record["type"], record.get("key")
        if kind == RUN:
            self.headers.append(record)
            self.halted = False
        elif kind == HALT:
            self.halted = True
        elif kind == ATTEMPT and isinstance(key, str):
            self.in_doubt[key] = _text(record.get("at"))
        elif kind == NOT_COMMITTED and isinstance(key, str):
            self.in_doubt.pop(key, None)
        elif kind == REPLACED:
            self._replaced(key, record.get("by"))
        # another marker (a pause): for the report, it settles nothing

    def _replaced(self, old: object, new: object) -> None:
        if isinstance(old, str) and isinstance(new, str) and old != new:
            self.replacements[old] = new

    def note(self, key: str, status: Status, digest: object = None) -> None:
        if isinstance(digest, str) and status in ("sent", "failed"):
            self.digests[key] = digest
        if status == "skipped":
            self.skipped.add(key)
            return
        if status == "invalid":
            self.invalid.add(key)
        self.statuses[key] = status


def note_in_run(state: JournalState, record: dict[str, Any]) -> None:
    """What a run's own outcome adds to the state it began with: only a fix's (a ``replaces``
    record), which settles a replaced row met later. The run's triage tells its other rows
    apart itself, and a million statuses held a second time would be most of its memory."""
    if record.get("replaces") is not None:
        state.apply(record)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def whole_attempt(line: bytes) -> bool:
    """Whether a line is an attempt marker, whole as ``Journal.attempt`` writes it: a torn one
    never ends so (the next run ends it with a bare newline)."""
    return line.startswith(_ATTEMPT_HEAD) and line.endswith(_ATTEMPT_END)


def attempted(line: bytes) -> tuple[str, str] | None:
    """The key and time of a whole attempt marker's line, without a parse; None for any other
    line, which a parse then reads (an escaped key is parsed too)."""
    if not whole_attempt(line):
        return None
    key, mid, at = line[len(_ATTEMPT_HEAD) : -len(_ATTEMPT_END)].partition(_ATTEMPT_MID)
    # A quote inside a JSON string is escaped: no backslash, no quote, and the first mid is it.
    if not mid or _BACKSLASH in key or _BACKSLASH in at or _QUOTE in at:  # bytes as ints:
        return None  # a byte is looked for several times faster so
    try:
        return key.decode(), at.decode()
    except UnicodeDecodeError:
        return None


# What a reader of the journal may take from it besides the state, in the same pass (the
# lines a resume settles by their line: settledlines): each line that is not an attempt
# marker or blank, with its plain match (``plain_outcome``) or else its parse, if a dict.
LineTap = Callable[[bytes, "re.Match[bytes] | None", "dict[str, Any] | None"], None]


def read_state(
    lines: Iterable[bytes], expected: int = 0, tap: LineTap | None = None
) -> JournalState:
    """The state the journal's ``lines`` say; ``expected``: about how many keys they hold
    (a low guess); ``tap``: given each line as it is read (``LineTap``)."""
    state = JournalState(statuses=Statuses(expected=expected))
    for line in lines:
        marker = attempted(line)
        if marker is not None:
            state.in_doubt[marker[0]] = marker[1]
            continue
        plain = plain_outcome(line)
        if plain is not None and state.plain(plain["status"], plain["key"]):
            if tap is not None:
                tap(line, plain, None)
            continue
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            state.damaged += 1
            record = None
        else:
            state.apply(record)
        if tap is not None:
            tap(line, plain, record if type(record) is dict else None)
    return state


def read_journal(path: str, tap: LineTap | None = None) -> JournalState:
    """The state of a journal on disk; an empty state when there is none (``tap``: see
    ``read_state``)."""
    try:
        with Path(path).open("rb") as handle:
            expected = os.fstat(handle.fileno()).st_size // _BYTES_A_KEY
            return read_state(handle, expected, tap)
    except FileNotFoundError:
        return JournalState()
    except OSError as exc:
        raise UsageError(f"cannot read results journal {path}: {exc.strerror}") from None


def lines_sent(path: str) -> bytearray:
    """A bitmap of the input lines that have a ``sent`` record: one bit a line, so a million
    rows cost 125 KB (for telling an edited row from a new one)."""
    bits = bytearray()
    with contextlib.suppress(FileNotFoundError), Path(path).open("rb") as handle:
        for line in handle:
            if b'"status":"sent"' not in line:
                continue
            with contextlib.suppress(orjson.JSONDecodeError):
                row = orjson.loads(line).get("row")
                if isinstance(row, int) and row > 0:
                    _set_bit(bits, row)
    return bits


def _set_bit(bits: bytearray, index: int) -> None:
    byte = index >> 3
    if byte >= len(bits):
        bits.extend(bytes(byte + 1 - len(bits)))
    bits[byte] |= 1 << (index & 7)


def has_bit(bits: bytearray, index: int) -> bool:
    byte = index >> 3
    return byte < len(bits) and bool(bits[byte] & (1 << (index & 7)))


def check_results_path(path: str, input_path: str | None) -> None:
    """Refuse a journal that is the input itself, not a regular file, or not a journal.

    Appending to any of those would destroy something or loop forever (a journal that is its
    own input reads its records back as rows).
    """
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"--results {path}: cannot use it ({exc.strerror})") from None
    if input_path is not None and Path(input_path).exists() and Path(path).samefile(input_path):
        raise UsageError(
            f"--results {path} is the input file itself: give the journal a path of its own "
            "(the default is INPUT.results.jsonl)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise _not_a_file(path)
    if not is_journal(path):
        raise UsageError(
            f"--results {path} exists and is not a results journal: give another path "
            "(a journal is only ever appended to, and this file is not one)"
        )


def check_output(
    option: str,
    path: str,
    kept: Mapping[str, str],
    *,
    own: str = "a path of its own",
    file_only: bool = True,
) -> None:
    """An output (a report's page or export, a log) never replaces a file a run reads
    (``kept``: its path, and what to call it) or a results journal; with ``file_only``, it is
    a regular file (a log may be a pipe)."""
    target = Path(path)
    if not target.exists():
        return
    if not target.is_file():
        if file_only:
            raise UsageError(f"{option} {path} is not a regular file: give the path of a file")
        return
    for source, what in kept.items():
        if source != STDIN and Path(source).exists() and target.samefile(source):
            raise UsageError(f"{option} {path} is {what}: give {own}")
    if target.stat().st_size and is_journal(path):
        raise UsageError(f"{option} {path} is a results journal: give {own}")


def _not_a_file(path: str) -> UsageError:
    return UsageError(f"--results {path} is not a regular file: give the path of a file")


def is_journal(path: str) -> bool:
    """Empty, or its first line is a run header or an outcome record (or one torn short)."""
    with Path(path).open("rb") as handle:
        raw = handle.readline(_FIRST_LINE_LIMIT)
    if not raw:
        return True  # an empty file: a new journal
    first = raw.rstrip(b"\r\n")
    if not first.strip():
        return False  # a journal never begins with a blank line
    try:
        record = orjson.loads(first)
    except orjson.JSONDecodeError:
        return any(first.startswith(form) or form.startswith(first) for form in _FIRST_LINE_FORMS)
    state = JournalState()
    state.apply(record)
    return not state.damaged


class Journal:
    """The writer. ``Journal.open(path)`` locks the file and reads what it holds."""

    def __init__(self, path: str, fd: int, state: JournalState, clock: Callable[[], float]) -> None:
        self.path = path
        self.state = state
        self._fd = fd
        self._clock = clock
        self._synced_at = clock()
        self._dirty = False
        self._size: int | None = None  # the file's size, once known

    @classmethod
    def open(
        cls,
        path: str,
        clock: Callable[[], float] = time.monotonic,
        *,
        read: bool = True,
        tap: LineTap | None = None,
    ) -> Journal:
        """The journal at ``path``, locked for this process; its state read unless not ``read``
        (a scan that needs none: ``finished``), each line given to ``tap`` as it is read."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot open results journal {path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise _not_a_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalBusyError(
                f"results journal {path} is in use by another broadcaster process "
                "(one run at a time may write it)"
            ) from None
        journal = cls(path, fd, read_journal(path, tap) if read else JournalState(), clock)
        journal._end_torn_line()
        return journal

    def _end_torn_line(self) -> None:
        """A crash can leave half a line; start ours on a fresh one so neither is lost."""
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            self._write(b"\n")

    @property
    def statuses(self) -> Statuses:
        return self.state.statuses

    def write_header(self, header: dict[str, Any]) -> None:
        record = {"type": RUN, **header}
        self._write(orjson.dumps(record) + b"\n")
        self.state.headers.append(record)

    def current_state(self) -> JournalState:
        """The journal's state now, this run's records included (read from the file: the
        run holds its own outcomes nowhere else)."""
        self.sync()
        return read_journal(self.path)

    def record(self, outcome: Outcome) -> None:
        record = outcome.record()
        self._write(orjson.dumps(record) + b"\n")
        note_in_run(self.state, record)
        self.sync_if_due()

    def mark(self, kind: str, fields: dict[str, Any]) -> None:
        """A marker record (``{"type": kind, ...}``): a pause, a replacement."""
        record = {"type": kind, **fields}
        self._write(orjson.dumps(record) + b"\n")
        self.state.apply(record)
        self.sync_if_due()

    def attempt(self, key: str, at: str) -> None:
        """A message's first attempt is leaving (at ``at``): written before it does, and not
        held (its outcome follows; only a crash leaves it alone, for the next run to read)."""
        self._write(orjson.dumps({"type": ATTEMPT, "key": key, "at": at}) + b"\n")

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
        except OSError as exc:
            raise JournalWriteError(self._failure(exc)) from None
        finally:
            os.close(self._fd)  # closing releases the lock
            self._fd = -1

    def _write(self, data: bytes) -> None:
        """Append a whole record, or nothing: a failed write is cut back, never left torn."""
        if self._size is None:  # the lock keeps other writers out: the size is ours to keep
            self._size = os.fstat(self._fd).st_size
        size = self._size
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            self._size = None  # read again: the cut may have failed too
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)
            raise JournalWriteError(self._failure(exc)) from None
        self._size = size + len(data)
        self._dirty = True

    def _failure(self, exc: OSError) -> str:
        return (
            f"cannot write results journal {self.path}: {exc.strerror or exc}. What was "
            "recorded before is kept; fix the cause and run the same command again to resume"
        )


class MemoryJournal:
    """A journal kept in memory: a dry run's (it writes nothing to disk), and the tests'."""

    def __init__(
        self, state: JournalState | None = None, *, keep: bool = True, tests: str | None = None
    ) -> None:
        self.state = state or JournalState()
        self.tests = tests  # a test send's: the number every message went to
        self.outcomes: list[Outcome] = []
        self._keep = keep  # a dry run keeps none: they would be held for nothing
        self.markers: list[dict[str, Any]] = []

    @property
    def statuses(self) -> Statuses:
        return self.state.statuses

    def current_state(self) -> JournalState:
        """The state with this run's records (a kept journal's; a dry run keeps none)."""
        return self.state

    def record(self, outcome: Outcome) -> None:
        if self._keep:  # the tests read what was recorded, as a journal on disk would say
            self.outcomes.append(outcome)
            self.state.apply(outcome.record())
        else:
            note_in_run(self.state, outcome.record())

    def mark(self, kind: str, fields: dict[str, Any]) -> None:
        record = {"type": kind, **fields}
        self.markers.append(record)
        self.state.apply(record)

    def attempt(self, key: str, at: str) -> None:
        if self._keep:
            self.markers.append({"type": ATTEMPT, "key": key, "at": at})

    def sync_if_due(self) -> None:
        return None
