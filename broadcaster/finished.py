"""A campaign whose every row already has its record: told from the journal alone.

Re-running a finished campaign (a resume after the last row, a scheduled job run twice) would
read, plan and triage every row again only to send nothing: a minute for a million rows. When
the input is the one the journal's runs read (the same SHA-256) and a run of this version read
it to its end (a ``read`` marker: ``{"type": "read", "rows": N, "input_sha256": ...}``), the
journal settles it, in one of two ways.

- **The marker says so.** A run that leaves every row ended as a later run would settle it
  (none withheld, no fix: ``ended_statuses``) adds how many rows stand at each status
  (``"ended": {"sent": N, ...}``). When that marker is the journal's last line, nothing was
  written since, and a run of this input given alike (its header, the last) finds what it
  left: no pass over the journal at all.
- **A scan** of the journal otherwise: if every one of the N rows has an outcome recorded
  under a run of that input, nothing is left, and each row stands as its line's latest record
  says, exactly as triage would settle it, since the same row of the same file has the same
  key. The scan keeps one byte per input line, and no key. It declines, leaving the decision
  to the full path, whenever it could differ from it: a line of the journal that is not a
  record, a fix (``replaces``, a ``replaced`` marker), a row withheld (its record has a
  ``reason``: a later run sends it once the reason no longer holds), ``--retry-failed``,
  another version, a dry run, stdin, or a row without its record.

Either way, ``campaign`` takes the full path for a finished campaign with failed rows when
``--suppress`` is given: a failed row to a number suppressed since ends withheld there.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from broadcaster import __version__
from broadcaster.header import read_last_run_record
from broadcaster.inputs import STDIN
from broadcaster.journal import READ, REPLACED, RUN, plain_outcome, whole_attempt
from broadcaster.outcome import STATUSES, Status
from broadcaster.reader import read_as
from broadcaster.settings import Settings
from broadcaster.tally import Tally

_TAIL_BYTES = 1 << 16
ENDED = "ended"  # a read marker's field: every row ended, so many at each status
# The settings that decide whether a row is valid, and what it sends: plan's defaults, and the
# send window (a row with no zone is refused). A finished campaign's rows stand as recorded
# only while its runs were given these as this one is.
DECIDING = (
    "campaign", "inbox_id", "creator_id", "text", "media_url", "template_id", "region",
    "window", "days", "tz", "tz_fallback",
)  # fmt: skip
_SLACK_ROWS = 1 << 16  # lines a row may be past 4 a record (multi-line rows, blank lines)
_READ_MARKER = b'{"type":"' + READ.encode() + b'"'
_CODES: dict[object, int] = {status: code for code, status in enumerate(STATUSES, start=1)}
_BYTE_CODES = {str(status).encode(): code for status, code in _CODES.items()}


@dataclass(frozen=True, slots=True)
class Finished:
    """Every row of the input has its record: how many stand at each status, and the
    journal's run headers (read in the same pass)."""

    rows: int
    statuses: Counter[Status]
    headers: list[dict[str, Any]]


def may_be_finished(settings: Settings) -> bool:
    """Whether this run may skip the input because it is finished (module docstring)."""
    trial = settings.dry_run or settings.test_to is not None  # --sample may: none is left to take
    return not (trial or settings.retry_failed or settings.input == STDIN) and (
        Path(settings.results_path).is_file()
    )


def finished(
    lines: Iterable[bytes],
    digest: str,
    fmt: str | None = None,
    given: Mapping[str, object] | None = None,
) -> Finished | None:
    """The journal's verdict on the input with this ``digest``, or None when it is not
    finished, or the scan cannot be sure. One pass: a torn line must be told from a record,
    so a line is parsed unless it is a whole attempt marker or a plain outcome line.

    Only runs of this input read as ``fmt`` (its ``--format``; None: told from the file) count:
    the same file read another way has other rows. A journal that also holds another input's
    outcomes is left to the full path, since a key settled there settles rows here by key,
    which a scan by line cannot see."""
    scan = _Scan(digest, fmt, given)
    for line in lines:
        if not scan.add(line):
            return None
    return _verdict(scan.latest, scan.rows, scan.headers)


@dataclass(slots=True)
class _Scan:
    """The scan's state: each line's latest status, the run headers, the ``read`` marker."""

    digest: str
    fmt: str | None
    given: Mapping[str, object] | None  # this run's DECIDING settings (None: not compared)
    latest: bytearray = field(default_factory=bytearray)  # a status code per input line
    headers: list[dict[str, Any]] = field(default_factory=list)
    rows: object = None
    reading: bool = False  # whether the records that follow are of a run of this input
    records: int = 0  # outcome records of this input so far

    def add(self, line: bytes) -> bool:
        """Take one line; False when the scan cannot be sure (the full path decides)."""
        if whole_attempt(line):
            return True  # an attempt marker: it settles no row
        plain = plain_outcome(line)
        if plain is not None:  # nearly every other line: the parse is spared
            return self._ended(int(plain["row"]), _BYTE_CODES[plain["status"]])
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            return not line.strip()  # a torn or foreign line: the full path says what it is
        if type(record) is not dict:
            return False
        if record.get("status") is not None:
            return self._outcome(record)
        kind = record.get("type")
        if kind == RUN:
            self.headers.append(record)
            self.reading = of_this_input(record, self.digest, self.fmt) and given_alike(
                record, self.given
            )
        elif kind == READ and self.reading and record.get("input_sha256") == self.digest:
            self.rows = record.get("rows")
        return kind != REPLACED and isinstance(kind, str)

    def _outcome(self, record: dict[str, Any]) -> bool:
        if record.get("replaces") is not None:
            return False  # a fix: settled by key, triage's call
        if record.get("reason") is not None:
            return False  # withheld (suppressed, a deadline): whether it still is, triage's call
        code, row = _CODES.get(record["status"]), record.get("row")
        if code is None or type(row) is not int or row < 1 or type(record.get("key")) is not str:
            return False
        return self._ended(row, code)

    def _ended(self, row: int, code: int) -> bool:
        if not self.reading:
            return False  # another input's rows: settled by key, triage's call
        self.records += 1
        if not plausible_row(row, self.records):
            return False
        latest = self.latest
        if row >= len(latest):
            latest.extend(bytes(max(row + 1, 2 * len(latest)) - len(latest)))
        latest[row] = code
        return True


def of_this_input(header: Mapping[str, Any], digest: str, fmt: str | None) -> bool:
    """Whether a run header is of this input, read the same way (``fmt``: ``read_as`` the
    input: the same bytes named ``c.jsonl`` once and ``c.csv`` then are other rows), by this
    version."""
    settings = header.get("settings")
    return (
        header.get("input_sha256") == digest
        and header.get("version") == __version__
        and isinstance(settings, dict)
        and read_as(settings.get("format"), str(settings.get("input"))) == fmt
    )


def given_alike(header: Mapping[str, Any], given: Mapping[str, object] | None) -> bool:
    """Whether a run was given what this one is of the settings that decide whether a row is
    valid (``DECIDING``): a row refused for want of ``--tz-fallback`` or ``--creator-id`` is
    sent once it is given, and only the full path looks at the row again."""
    settings = header.get("settings")
    return given is None or (
        isinstance(settings, dict)
        and all(settings.get(name) == value for name, value in given.items())
    )


def plausible_row(row: int, records: int) -> bool:
    """Whether a row number can be a line of an input that ``records`` records so far were of:
    a scan that keeps a byte a line grows no further for a record a hand, or a damaged
    journal, numbered far past the others (a billion bytes for one line 10**9)."""
    return row <= 4 * records + _SLACK_ROWS


def _verdict(latest: bytearray, rows: object, headers: list[dict[str, Any]]) -> Finished | None:
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        return None
    ended = len(latest) - latest.count(0)
    if ended != rows:
        return None
    counts = Counter({status: latest.count(_CODES[status]) for status in STATUSES})
    return Finished(rows, +counts, headers)  # + drops the statuses no row has


def read_finished(
    path: str, digest: str, fmt: str | None = None, given: Mapping[str, object] | None = None
) -> Finished | None:
    with contextlib.suppress(FileNotFoundError), Path(path).open("rb") as handle:
        tail = _tail(handle)
        if not (_READ_MARKER in tail and digest.encode() in tail):
            return None  # no run read this input to its end lately: spare the full pass
        said = _said_at_the_end(path, tail, digest, fmt, given)
        if said is not None:
            return said
        handle.seek(0)
        return finished(handle, digest, fmt, given)
    return None


def ended_statuses(tally: Tally, *, fixes: bool) -> dict[str, int] | None:
    """What a run's ``read`` marker says when the run leaves every row of its input ended as
    a later run would settle it: how many rows stand at each status. None when a row has not
    ended, or stands for a reason a later run looks at again: a withheld row (its reason may
    no longer hold), a fix from --failed-csv in the journal (``fixes``)."""
    if not tally.input_done or tally.unsettled or fixes:
        return None
    if tally.withheld or tally.earlier_withheld:
        return None
    ran = {"sent": tally.sent, "failed": tally.failed, "invalid": tally.invalid}
    counts = tally.earlier + Counter({**ran, "skipped": tally.duplicates})
    return {status: counts[status] for status in STATUSES if counts[status]}


def _said_at_the_end(
    path: str, tail: bytes, digest: str, fmt: str | None, given: Mapping[str, object] | None
) -> Finished | None:
    """The verdict of the journal's last line, when it is the ``read`` marker of a run of this
    input, given alike, that left every row ended (``ended_statuses``): nothing was written
    since, so a full pass would find what that run left. None otherwise."""
    statuses = _ended_marker(tail.rstrip(b"\r\n").rpartition(b"\n")[2], digest)
    if statuses is None:
        return None
    header = read_last_run_record(path)  # the marker's run: nothing was written since
    if header is None or not of_this_input(header, digest, fmt) or not given_alike(header, given):
        return None
    return Finished(statuses.total(), +statuses, [header])


def _ended_marker(line: bytes, digest: str) -> Counter[Status] | None:
    """The statuses a ``read`` marker of this input says every row ended at, or None."""
    try:
        marker = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(marker) is not dict or marker.get("type") != READ:
        return None
    rows, ended = marker.get("rows"), marker.get(ENDED)
    if marker.get("input_sha256") != digest or type(rows) is not int or type(ended) is not dict:
        return None
    counts = [ended.get(status, 0) for status in STATUSES]
    if any(type(count) is not int for count in counts):
        return None
    statuses = Counter(dict(zip(STATUSES, counts, strict=True)))
    # Every status named is one of STATUSES with a positive count (+ drops the rest).
    whole = rows > 0 and statuses.total() == rows and len(ended) == len(+statuses)
    return statuses if whole else None


def _tail(handle: BinaryIO) -> bytes:
    """The journal's last bytes: where the last run that read this input to its end left its
    ``read`` marker. Without one the scan could only decline, after reading every line (a
    journal from before the marker, a run stopped midway)."""
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - _TAIL_BYTES))
    return handle.read()
