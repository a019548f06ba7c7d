"""The report: what the journals say about a campaign, as one JSON object (schema version 1).

Built from the records alone, as vegeta's report is built from its results: each journal is read
once, line by line; several journals add up. A row's final status is its key's latest record
(``skipped`` rows and identical invalid rows counted per key, as resume counts them); a record
whose row was fixed and sent again from a ``--failed-csv`` file (``replaces``) no longer counts.
A message counts once in ``requests`` however many records it has (failed, then sent by
``--retry-failed``), and its retries are its attempts beyond its first, over all of them.
The README documents every field; ``reporttext`` and ``htmlreport`` render this object.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from broadcaster.errors import UsageError
from broadcaster.header import RunHeader
from broadcaster.isotime import aware_time
from broadcaster.journal import HALT, PAUSE, REPLACED, RUN, is_journal
from broadcaster.latency import histogram, percentiles
from broadcaster.outcome import STATUSES, WITHHELD

REPORT_VERSION = 1
MAX_PAUSE = 86_400.0  # seconds: no pause the engine puts in force is longer
MAX_LATENCY_MS = 86_400_000.0
ROWS = ("sent", "failed", "invalid", "skipped")  # the order the report gives them in
EXAMPLES = 3
PAUSE_MARKS = 500
# A reason's particulars (a quoted value, a long number) vary row by row; grouping drops them.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\d{5,}")
# The advice the engine adds to a failure that may have been committed, shortened in a group.
_MAY_HAVE = re.compile(r"; an attempt may have reached the API \(.*$")
# How far a key's message got, by its records so far (each record can only take it further):
# none of them sent or failed; one did, with no attempt recorded (found in the history by a
# lookup in an old journal); an attempt recorded.
_NOT_SENT, _ANSWERED, _ATTEMPTED = 0, 1, 2


@dataclass(slots=True)
class _Final:
    """A key's latest record that settles it (not ``skipped``)."""

    status: str
    line: int
    error: str | None
    http_status: int | None
    input: str | None  # the input its run read: where ``line`` is
    reach: int = _NOT_SENT  # how far the key's message got, over all its records


@dataclass(slots=True)
class _Run:
    header: RunHeader
    last: str | None = None  # the run's last record's time
    # The last record written after the run by a lookup alone (``reconcile``): the journal's
    # last word, not the run's.
    after: str | None = None
    # The pace: requests between the run's first and last message records. Records are written
    # as messages end, so the first one's attempts left before the span began.
    first_message: str | None = None
    last_message: str | None = None
    attempts: int = 0
    first_attempts: int = 0
    messages: int = 0
    halted: str | None = None  # why the circuit breaker stopped it

    def paced(self, at: str, attempts: int) -> None:
        if self.first_message is None or at < self.first_message:
            self.first_message, self.first_attempts = at, attempts
        if self.last_message is None or at > self.last_message:
            self.last_message = at
        self.attempts += attempts
        self.messages += 1


@dataclass(slots=True)
class JournalFigures:
    """One journal, read once."""

    path: str
    finals: dict[str, _Final] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    # Rows skipped for a reason (outcome.WITHHELD), by reason and key: they count while their
    # message has no record of its own (a later run sends it once the reason no longer holds).
    withheld: dict[str, Counter[str]] = field(default_factory=dict)
    replaced: Counter[str] = field(default_factory=Counter)
    runs: list[_Run] = field(default_factory=list)
    attempts: int = 0  # of sent and failed records: only those make requests
    messages: int = 0  # keys with a sent or failed record: each message once, however retried
    attempted: int = 0  # keys with an attempt recorded
    latencies: array[float] = field(default_factory=lambda: array("d"))
    timeline: dict[str, Counter[str]] = field(default_factory=dict)
    pauses: Counter[str] = field(default_factory=Counter)
    pause_seconds: float = 0.0
    pause_marks: list[dict[str, Any]] = field(default_factory=list)
    damaged: int = 0
    settled_fixes: int = 0  # fix rows recorded by a ``replaced`` marker alone

    @property
    def retries(self) -> int:
        """Attempts beyond each message's first, over all its records: a message that failed
        after 3 attempts and was sent on the first of a later run's has 3 retries."""
        return self.attempts - self.attempted

    def add(self, record: object) -> None:
        if not isinstance(record, dict):
            self.damaged += 1
        elif record.get("type") == RUN:
            self._add_run(record)
        elif record.get("type") == PAUSE:
            self._add_pause(record)
        elif record.get("type") == REPLACED:
            self._add_replaced(record)
        elif record.get("type") == HALT:
            if self.runs and isinstance(record.get("reason"), str):
                self.runs[-1].halted = record["reason"]
        elif isinstance(record.get("type"), str):
            pass  # a marker of a later version: as the journal's reader, settles nothing
        elif record.get("status") in STATUSES and isinstance(record.get("key"), str):
            self._add_outcome(record)
        else:
            self.damaged += 1

    def _add_replaced(self, record: dict[str, Any]) -> None:
        """A fix row that settled on a message already recorded: it replaces ``key``, and is
        a duplicate of that message (skipped)."""
        old, new = record.get("key"), record.get("by")
        if isinstance(old, str) and isinstance(new, str) and old != new:
            self.replaced[old] += 1
            self.settled_fixes += 1

    def _add_run(self, record: dict[str, Any]) -> None:
        header = RunHeader.read(record)
        if header is None:
            self.damaged += 1
        else:
            self.runs.append(_Run(header))

    def _add_pause(self, record: dict[str, Any]) -> None:
        cause, seconds, at = record.get("cause"), record.get("seconds"), _time(record.get("at"))
        cause = cause if isinstance(cause, str) else "unknown"
        seconds = _amount(seconds, MAX_PAUSE) or 0.0
        self.pauses[cause] += 1
        self.pause_seconds += seconds
        if at is not None:
            self._minute(at)["pauses"] += 1
            self._saw(at)
            if len(self.pause_marks) < PAUSE_MARKS:
                self.pause_marks.append({"at": at, "cause": cause, "seconds": seconds})

    def _add_outcome(self, record: dict[str, Any]) -> None:
        key, status = record["key"], record["status"]
        previous = self.finals.get(key)
        reach = _NOT_SENT if previous is None else previous.reach
        attempts, retries = 0, 0
        at = _time(record.get("at"))
        if status in ("sent", "failed"):
            attempts = _whole(record.get("attempts"))
            reach, retries = self._reached(reach, attempts)
            latency = _amount(record.get("latency_ms"), MAX_LATENCY_MS)
            if latency is not None:
                self.latencies.append(latency)
            if at is not None and self.runs and attempts and not _after_run(record):
                self.runs[-1].paced(at, attempts)
        if at is not None:
            minute = self._minute(at)
            minute[status] += 1
            minute["retries"] += retries
            self._saw(at, after_run=_after_run(record))
        replaces = record.get("replaces")
        if isinstance(replaces, str) and replaces != key:
            self.replaced[replaces] += 1
        if status == "skipped" and record.get("reason") in WITHHELD:
            self.withheld.setdefault(record["reason"], Counter())[key] += 1
            return
        if status == "skipped":
            self.skipped[key] += 1
            return
        if status == "invalid":
            self.invalid[key] += 1
        for keys in self.withheld.values():  # the message has a record of its own since
            keys.pop(key, None)
        error, http_status = record.get("error"), record.get("http_status")
        self.finals[key] = _Final(
            status,
            _whole(record.get("row")),
            error if isinstance(error, str) else None,
            http_status if isinstance(http_status, int) else None,
            self.runs[-1].header.input if self.runs else None,
            reach,
        )

    def _reached(self, reach: int, attempts: int) -> tuple[int, int]:
        """A sent or failed record of ``attempts`` for a message that had got as far as
        ``reach``: how far it has got now, and the record's retries (its attempts beyond the
        message's first). The key's latest record (``finals``) carries it: no second map."""
        if reach == _NOT_SENT:
            self.messages += 1
        self.attempts += attempts
        if not attempts:
            return max(reach, _ANSWERED), 0
        if reach < _ATTEMPTED:
            self.attempted += 1
            return _ATTEMPTED, attempts - 1
        return _ATTEMPTED, attempts

    def _minute(self, at: str) -> Counter[str]:
        return self.timeline.setdefault(at[:16], Counter())

    def _saw(self, at: str, *, after_run: bool = False) -> None:
        if not self.runs:
            return
        run = self.runs[-1]
        if after_run:
            run.after = at if run.after is None or at > run.after else run.after
        else:
            run.last = at if run.last is None or at > run.last else run.last

    def rows(self) -> Counter[str]:
        """Rows by final status (a replaced record no longer counts)."""
        rows: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
        for key, final in self.finals.items():
            if self.held_since(key):
                continue  # its last word: withheld (opted out, then suppressed), as resume says
            count = self.invalid[key] if final.status == "invalid" else 1
            rows[final.status] += max(0, count - self.replaced[key])
        rows["skipped"] = self.skipped.total() + self.settled_fixes + self.held().total()
        return rows

    def held(self) -> Counter[str]:
        """Rows withheld, by reason, whose message has had no record of its own since."""
        return Counter({reason: keys.total() for reason, keys in self.withheld.items()})

    def held_since(self, key: str) -> bool:
        """Whether the key's last word is a withheld record (a row suppressed after it
        failed): it counts as withheld, as a resumed run counts it."""
        return any(key in keys for keys in self.withheld.values())

    def grouped(self, status: str) -> list[dict[str, Any]]:
        """The rows that ended ``status`` (failed or invalid), grouped by reason, most first."""
        groups: dict[tuple[str, int | None], dict[str, Any]] = {}
        for key, final in self.finals.items():
            if final.status != status or self.replaced[key] or self.held_since(key):
                continue
            count = self.invalid[key] if status == "invalid" else 1
            reason = _reason(final)
            group = groups.setdefault(
                (reason, final.http_status),
                {
                    "reason": reason,
                    "http_status": final.http_status,
                    "count": 0,
                    "examples": [],
                },
            )
            group["count"] += count
            example = {"journal": self.path, "input": final.input, "line": final.line}
            _keep_first(group["examples"], example | {"key": key, "error": final.error})
        return sorted(groups.values(), key=lambda group: (-group["count"], group["reason"]))


def _after_run(record: dict[str, Any]) -> bool:
    """Whether a record was written after its run by a lookup alone (``reconcile``: found in
    the history, or not committed): a sent or failed record with no request timed, which the
    engine never writes. It made no request then, so it neither paces the run nor lengthens it;
    its time is when the lookup was made, maybe days later."""
    status, latency = record.get("status"), record.get("latency_ms")
    return status in ("sent", "failed") and latency is None


def _pace(runs: list[_Run]) -> dict[str, float | None]:
    """Messages and requests a second while running: in each run, those after its first
    message's record, over the span from that record to its last (n-1 gaps over the span, as
    vegeta's rate; n over it would claim more than the pacer let out)."""
    messages = requests = 0
    seconds = 0.0
    for run in runs:
        first, last = aware_time(run.first_message), aware_time(run.last_message)
        if first is not None and last is not None and last > first:
            messages += run.messages - 1
            requests += run.attempts - run.first_attempts
            seconds += (last - first).total_seconds()
    return {
        "messages_per_second": round(messages / seconds, 3) if seconds else None,
        "attempts_per_second": round(requests / seconds, 3) if seconds else None,
    }


def read_figures(path: str) -> JournalFigures:
    """Read one journal; a path that is not one is a usage error, said plainly."""
    journal = Path(path)
    if not journal.is_file():
        what = "is not a regular file" if journal.exists() else "no such results journal"
        raise UsageError(f"{path}: {what}")
    if not is_journal(path):
        raise UsageError(f"{path} is not a results journal (its first line is not a record)")
    figures = JournalFigures(path)
    try:
        with journal.open("rb") as handle:
            for line in handle:
                if line.strip():
                    figures.add(_loads(line))
    except OSError as exc:
        raise UsageError(f"cannot read results journal {path}: {exc.strerror}") from None
    if not figures.runs:
        raise UsageError(
            f"{path}: no run is recorded in it (an empty journal, or one whose first line is torn)"
        )
    return figures


def build_report(journals: Iterable[JournalFigures], left: list[dict[str, Any]]) -> dict[str, Any]:
    """The report object; ``left`` (what is left in each journal) comes from ``remaining``."""
    journals = list(journals)
    rows: Counter[str] = Counter(dict.fromkeys(STATUSES, 0))
    held: Counter[str] = Counter()
    for figures in journals:
        rows.update(figures.rows())
        held.update(figures.held())
    skipped = {"duplicate": rows["skipped"] - held.total()} | {r: held[r] for r in WITHHELD}
    latencies = array("d", sorted(value for figures in journals for value in figures.latencies))
    time = _time_figures(journals)
    attempts = sum(figures.attempts for figures in journals)
    messages = sum(figures.messages for figures in journals)
    pauses: Counter[str] = Counter()
    for figures in journals:
        pauses.update(figures.pauses)
    return {
        "report_version": REPORT_VERSION,
        "journals": [figures.path for figures in journals],
        "campaigns": _campaigns(journals),
        "rows": {"total": rows.total(), **{status: rows[status] for status in ROWS}},
        "skipped": skipped,  # the skipped rows by reason
        "failures": _merged(figures.grouped("failed") for figures in journals),
        "invalid": _merged(figures.grouped("invalid") for figures in journals),
        "requests": {
            "messages": messages,
            "attempts": attempts,
            "retries": sum(figures.retries for figures in journals),
        },
        "pauses": {
            "count": pauses.total(),
            "seconds": round(sum(figures.pause_seconds for figures in journals), 3),
            "by_cause": dict(pauses.most_common()),
        },
        "time": time,
        "rate": _pace([run for figures in journals for run in figures.runs]),
        "latency_ms": percentiles(latencies),
        "latency_histogram": histogram(latencies),
        "timeline": _timeline(journals),
        "pause_marks": sorted(
            (mark for figures in journals for mark in figures.pause_marks), key=lambda m: m["at"]
        )[:PAUSE_MARKS],
        "runs": [_run(figures.path, run) for figures in journals for run in figures.runs],
        "left": left,
        "damaged_lines": sum(figures.damaged for figures in journals),
    }


def _reason(final: _Final) -> str:
    """What rows of a group share: the error without its particulars. An invalid row's several
    problems stay one reason: a row counts once."""
    text = _MAY_HAVE.sub("; may have reached the API", final.error or "no reason recorded")
    return _NUMBER.sub("…", _QUOTED.sub("'…'", text))


def _keep_first(examples: list[dict[str, Any]], example: dict[str, Any]) -> None:
    """Keep the ``EXAMPLES`` first rows, by input and line."""
    examples.append(example)
    examples.sort(key=lambda e: (e["input"] or "", e["line"]))
    del examples[EXAMPLES:]


def _merged(groupings: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, int | None], dict[str, Any]] = {}
    for groups in groupings:
        for group in groups:
            key = (group["reason"], group["http_status"])
            if key not in merged:
                merged[key] = group
                continue
            merged[key]["count"] += group["count"]
            for example in group["examples"]:
                _keep_first(merged[key]["examples"], example)
    return sorted(merged.values(), key=lambda group: (-group["count"], group["reason"]))


def _time_figures(journals: list[JournalFigures]) -> dict[str, Any]:
    """Wall time from the first run's start to the last record, a lookup's after a run too;
    time in runs from each run's start to its own last record."""
    starts, lasts, sending, in_runs = [], [], 0.0, False
    for figures in journals:
        for run in figures.runs:
            start = aware_time(run.header.started_at)
            last = aware_time(run.last)
            if start is not None:
                starts.append(start)
            if last is not None:
                in_runs = True
                if start is not None:
                    sending += max(0.0, (last - start).total_seconds())
            lasts += [t for t in (last, aware_time(run.after)) if t is not None]
    first = min(starts, default=None)
    last = max(lasts, default=None)
    wall = (last - first).total_seconds() if first is not None and last is not None else None
    return {
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
        "wall_seconds": None if wall is None else round(max(0.0, wall), 3),
        "sending_seconds": round(sending, 3) if in_runs else None,
    }


def _timeline(journals: list[JournalFigures]) -> list[dict[str, Any]]:
    minutes: dict[str, Counter[str]] = {}
    for figures in journals:
        for minute, counts in figures.timeline.items():
            minutes.setdefault(minute, Counter()).update(counts)
    names = (*STATUSES, "retries", "pauses")
    return [
        {"minute": minute + ":00+00:00"} | {name: minutes[minute][name] for name in names}
        for minute in sorted(minutes)
    ]


def _campaigns(journals: list[JournalFigures]) -> list[str]:
    names = (run.header.campaign for figures in journals for run in figures.runs)
    return list(dict.fromkeys(name for name in names if name))


def _run(path: str, run: _Run) -> dict[str, Any]:
    header = run.header
    return {
        "journal": path,
        "started_at": header.started_at,
        "version": header.version,
        "campaign": header.campaign,
        "input": header.input,
        "input_sha256": header.input_sha256,
        "settings": dict(header.settings),
        "halted": run.halted,
    }


def _loads(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None  # a torn or damaged line: counted as damaged


def _amount(value: object, most: float) -> float | None:
    """A recorded amount of time, when it is one: a finite number from 0 to ``most`` (a journal
    is data: a hand-edited ``1e308`` must not overflow a sum, nor ``true`` count as 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= most else None


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _time(value: object) -> str | None:
    """A record's time in UTC, as the engine writes it (``2026-11-26T15:04:05.123+00:00``: the
    form the timeline cuts minutes from), else None."""
    parsed = aware_time(value)
    if parsed is None or parsed.utcoffset() != timedelta(0):
        return None
    return parsed.isoformat(timespec="milliseconds")


def report_json(report: Mapping[str, Any]) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"
