"""What is left of a campaign: its journal's recorded input, triaged as a resumed run would.

``rows_of_last_run`` walks the input the journal's last run read, each row with its plan and
the decision a resumed run would make; the report counts from it what is not ended, and
``failedcsv`` takes from it the rows to fix.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from broadcaster.errors import BroadcasterError
from broadcaster.header import RunHeader
from broadcaster.journal import read_journal
from broadcaster.plan import Planned, plan
from broadcaster.reader import STDIN, input_digest, read_rows
from broadcaster.record import Record
from broadcaster.report import JournalFigures
from broadcaster.settings import Settings
from broadcaster.triage import Decision, Settled, Triage

# Refusals a resend cannot change: the row must be fixed first.
_NOT_RETRYABLE = (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS)


@dataclass(frozen=True, slots=True)
class Triaged:
    record: Record
    planned: Planned
    decision: Decision


def recorded_input(header: RunHeader | None) -> tuple[str | None, str | None]:
    """The input the run read, and why it cannot be read again (None when it can)."""
    if header is None:
        return None, "no run is recorded in the journal"
    if header.input is None or header.input == STDIN:
        return header.input, "the run read stdin, which cannot be read again"
    if not Path(header.input).is_file():
        return header.input, f"{header.input}, the input the last run read, is not there any more"
    return header.input, None


def rows_of_last_run(path: str, header: RunHeader) -> Iterator[Triaged]:
    """The last run's input, row by row, triaged against the journal as it stands."""
    settings = Settings.from_record(header.settings)
    triage = Triage(settings.defaults.campaign, read_journal(path))
    with read_rows(settings.input, settings.format) as rows:
        for record in rows:
            planned = plan(record, settings.defaults)
            yield Triaged(record, planned, triage.decide(planned))


def what_is_left(figures: JournalFigures) -> dict[str, Any]:
    """The journal's ``left`` entry of the report."""
    header = figures.runs[-1].header if figures.runs else None
    retryable, refused = _failed(figures)
    entry: dict[str, Any] = {
        "journal": figures.path,
        "input": None,
        "known": False,
        "not_ended": None,
        "failed_retryable": retryable,
        "failed_refused": refused,
        "invalid": figures.rows()["invalid"],
        "command": None,
        "note": None,
    }
    source, unreadable = recorded_input(header)
    entry["input"] = source
    if unreadable is not None or header is None:
        entry["note"] = f"rows not ended are unknown: {unreadable}"
        entry["command"] = _command(figures.path, None, retryable)
        return entry
    try:
        not_ended = sum(1 for row in rows_of_last_run(figures.path, header) if _open(row))
    except BroadcasterError as exc:
        entry["note"] = f"rows not ended are unknown: {exc}"
        return entry
    entry |= {"known": True, "not_ended": not_ended}
    entry["command"] = _command(figures.path, not_ended, retryable)
    entry["note"] = _note(figures.path, header, refused, entry["invalid"])
    return entry


def _open(row: Triaged) -> bool:
    return not isinstance(row.decision, Settled)


def _failed(figures: JournalFigures) -> tuple[int, int]:
    """Failed rows a resend may get through (gave up on retries), and rows the API refused."""
    retryable = refused = 0
    for key, final in figures.finals.items():
        if final.status != "failed" or figures.replaced[key]:
            continue
        status = final.http_status
        if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
            refused += status not in _NOT_RETRYABLE
            retryable += status in _NOT_RETRYABLE
        else:
            retryable += 1
    return retryable, refused


def _command(path: str, not_ended: int | None, retryable: int) -> str | None:
    if not not_ended and not retryable:
        return None
    command = f"broadcaster resume {shlex.quote(path)}"
    return command + " --retry-failed" if retryable else command


def _note(path: str, header: RunHeader, refused: int, invalid: int) -> str | None:
    notes = []
    if header.input is not None and input_digest(header.input) != header.input_sha256:
        notes.append(
            f"{header.input} changed since the last run: a resumed run reads it as it is now"
        )
    if refused or invalid:
        notes.append(
            f"{refused + invalid:,} rows need fixing before a resend ({refused:,} refused, "
            f"{invalid:,} invalid): "
            f"broadcaster report {shlex.quote(path)} --failed-csv FILE, fix them there, then "
            f"broadcaster resume {shlex.quote(path)} --input FILE --retry-failed"
        )
    return "; ".join(notes) or None
