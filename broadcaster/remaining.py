"""What is left of a campaign: its journal's recorded input, triaged as a resumed run would.

``rows_of_last_run`` walks the input the journal's last run read, each row with its plan and
the decision a resumed run would make; the report counts from it what is not ended, and
``failedcsv`` takes from it the rows to fix.
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from broadcaster.errors import BroadcasterError, UsageError
from broadcaster.gate import Gate, Row
from broadcaster.header import RunHeader
from broadcaster.journal import JournalState, read_journal
from broadcaster.outcome import DEADLINE, RETRYABLE_4XX
from broadcaster.plan import Planned, plan
from broadcaster.reader import STDIN, input_digest, read_rows
from broadcaster.record import Record
from broadcaster.report import JournalFigures
from broadcaster.settings import Settings
from broadcaster.summary import counted
from broadcaster.tally import Tally
from broadcaster.triage import Settled, Triage


@dataclass(frozen=True, slots=True)
class Triaged:
    record: Record
    planned: Planned
    decision: Row  # as a run would find it now: a row outside its window is Deferred


def recorded_input(header: RunHeader | None) -> tuple[str | None, str | None]:
    """The input the run read, and why it cannot be read again (None when it can)."""
    if header is None:
        return None, "no run is recorded in the journal"
    if header.input is None or header.input == STDIN:
        return header.input, "the run read stdin, which cannot be read again"
    if not Path(header.input).is_file():
        return header.input, f"{header.input}, the input the last run read, is not there any more"
    return header.input, None


def rows_of_run(state: JournalState, header: RunHeader) -> Iterator[Triaged]:
    """The input a run read, with its settings, row by row, triaged against the journal's
    ``state`` (read once: triage only reads it)."""
    return triaged_rows(Settings.from_record(header.settings), state)


def triaged_rows(settings: Settings, state: JournalState) -> Iterator[Triaged]:
    """The input, row by row, planned and triaged as a run with these settings would."""
    triage = Triage(
        settings.defaults.campaign, state, settings.retry_failed, settings.suppression()
    )
    defaults = settings.defaults  # once: it is built afresh on each read
    gate = Gate(settings.schedule(), settings.not_after, time.time, Tally(), announce=False)
    with read_rows(settings.input, settings.format) as rows:
        for record in rows:
            planned = plan(record, defaults)
            decision = gate.at_read(triage.decide(planned), planned, record, triage, first=True)
            yield Triaged(record, planned, decision)


def what_is_left(figures: JournalFigures) -> dict[str, Any]:
    """The journal's ``left`` entry of the report: for each input its runs read, the rows not
    ended (a fix file sent with ``resume --input`` leaves the campaign's own input unfinished
    if it was) and the failed rows a resend may get through, with the command that sends them;
    the rows to fix."""
    retryable, refused = _failed(figures)
    state = read_journal(figures.path)
    inputs = [_left_in(figures, state, header, retryable) for header in _inputs(figures)]
    known = bool(inputs) and all(entry["known"] for entry in inputs)
    not_ended = sum(entry["not_ended"] or 0 for entry in inputs)
    commands = [entry["command"] for entry in inputs if entry["command"]]
    if retryable and not known:  # where they are is unknown: the last run's input, at least
        commands.append(f"broadcaster resume {shlex.quote(figures.path)} --retry-failed")
    invalid = figures.rows()["invalid"]
    notes = [entry["note"] for entry in inputs if entry["note"]]
    if refused or invalid:
        notes.append(_to_fix(figures.path, refused, invalid, not_ended))
    late = figures.held()[DEADLINE]
    if late:
        notes.append(
            f"{counted(late, 'row')} skipped at the --not-after deadline: broadcaster resume "
            f"{shlex.quote(figures.path)} --not-after LATER sends them"
        )
    in_doubt = len(state.in_doubt)
    if in_doubt:
        notes.append(
            f"{counted(in_doubt, 'message')} in doubt (an attempt may have been committed, and "
            f"no answer said so): broadcaster reconcile {shlex.quote(figures.path)} looks them "
            "up without sending; a resume looks them up before sending"
        )
    return {
        "journal": figures.path,
        "input": inputs[-1]["input"] if inputs else None,
        "known": known,
        "not_ended": not_ended if known else None,
        "failed_retryable": len(retryable),
        "failed_refused": refused,
        "invalid": invalid,
        "in_doubt": in_doubt,
        "command": " && ".join(dict.fromkeys(commands)) or None,
        "note": "; ".join(notes) or None,
        "inputs": inputs,
    }


def _inputs(figures: JournalFigures) -> list[RunHeader]:
    """The latest run of each input the journal's runs read, the last run's input last; a file
    that moved (read again at another path, ``resume --input``) counts at its new path only."""
    latest: dict[str | None, RunHeader] = {}
    for run in figures.runs:
        latest.pop(run.header.input, None)  # re-inserted: in the order of the latest reading
        latest[run.header.input] = run.header
    headers = list(latest.values())
    return [
        header
        for index, header in enumerate(headers)
        if Path(header.input or "").is_file()
        or header.input_sha256 is None
        or header.input_sha256 not in {later.input_sha256 for later in headers[index + 1 :]}
    ]


def _left_in(
    figures: JournalFigures, state: JournalState, header: RunHeader, retryable: set[str]
) -> dict[str, Any]:
    """One input: its rows not ended, its failed rows a resend may get through, the command."""
    entry: dict[str, Any] = {"input": header.input, "known": False, "not_ended": None}
    entry |= {"failed_retryable": None, "command": None, "note": None}
    _, unreadable = recorded_input(header)
    try:
        if unreadable is not None:
            raise UsageError(unreadable)
        rows = Counter(_counted(rows_of_run(state, header), retryable))
    except BroadcasterError as exc:
        entry["note"] = f"rows not ended are unknown: {exc}"
        return entry
    not_ended, retry = rows["open"], rows["retry"]
    entry |= {"known": True, "not_ended": not_ended, "failed_retryable": retry}
    entry["command"] = _command(figures, header, not_ended, retry)
    if input_digest(str(header.input)) != header.input_sha256:
        entry["note"] = (
            f"{header.input} changed since its last run: a resumed run reads it as it is now"
        )
    return entry


def _counted(rows: Iterator[Triaged], retryable: set[str]) -> Iterator[str]:
    """Each row that is left: "open" (not ended) or "retry" (failed, a resend may help)."""
    for row in rows:
        if not isinstance(row.decision, Settled):
            yield "open"
        elif row.decision.status == "failed" and row.planned.key in retryable:
            yield "retry"


def _command(figures: JournalFigures, header: RunHeader, not_ended: int, retry: int) -> str | None:
    if not not_ended and not retry:
        return None
    command = f"broadcaster resume {shlex.quote(figures.path)}"
    if header is not figures.runs[-1].header:
        command += f" --input {shlex.quote(str(header.input))}"
    return command + (" --retry-failed" if retry else "")


def _failed(figures: JournalFigures) -> tuple[set[str], int]:
    """The keys of failed rows a resend may get through (no answer, 408, 429, 5xx), and the
    count of rows the API refused (another 4xx: to fix first)."""
    retryable: set[str] = set()
    refused = 0
    for key, final in figures.finals.items():
        if final.status != "failed" or figures.replaced[key] or figures.held_since(key):
            continue
        status = final.http_status
        if status is None or status >= HTTPStatus.INTERNAL_SERVER_ERROR or status in RETRYABLE_4XX:
            retryable.add(key)
        else:
            refused += 1
    return retryable, refused


def _to_fix(path: str, refused: int, invalid: int, not_ended: int) -> str:
    journal = shlex.quote(path)
    first = " once every row has ended (send what is left first)" if not_ended else ""
    return (
        f"{counted(refused + invalid, 'row')} to fix before a resend ({refused:,} refused, "
        f"{invalid:,} invalid){first}: broadcaster report {journal} --failed-csv FILE, fix them "
        f"there, then broadcaster resume {journal} --input FILE --retry-failed"
    )
