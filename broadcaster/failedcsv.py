"""``report --failed-csv``: the rows to fix, with their original columns, ready to send again.

The rows recorded failed or invalid (a row with no record yet is not ended: ``resume`` takes it
up), read back from the input the journal's last run read
(refused when that file changed since: its lines would no longer be the journal's), in input
order, each with ``reason``, ``line`` and ``replaces`` (the key of the record it fixes, so the
report counts a fixed row once). Fixed in a spreadsheet and sent with
``broadcaster resume RESULTS --input FILE --retry-failed``, a fixed row goes out: a new message,
or (``creator_id`` is not part of a key) its failed message again with the same ``local_id``;
an unchanged invalid row keeps its record, and a row already sent is not in the file. A failed
row in doubt (an attempt may have been committed) is held back: a fix would be another message,
sent again; ``broadcaster reconcile`` settles it.

A cell that a spreadsheet would take for a formula (``= + - @``, a tab or a carriage return
first) is written with a ``'`` in front; the reader takes that ``'`` off again.
"""

from __future__ import annotations

import csv
import os
import shlex
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from broadcaster.columns import REPLACES
from broadcaster.errors import UsageError
from broadcaster.formulas import escape_formula
from broadcaster.journal import read_journal
from broadcaster.plan import Invalid
from broadcaster.reader import STDIN, input_digest
from broadcaster.remaining import Triaged, recorded_input, rows_of_run
from broadcaster.report import JournalFigures
from broadcaster.triage import Settled

REASON, LINE = "reason", "line"


@dataclass(frozen=True, slots=True)
class Exported:
    path: str
    failed: int
    invalid: int
    not_ended: int  # rows of the input with no record yet: not exported, a resume sends them
    in_doubt: int = 0  # failed rows an attempt of which may have been committed: held back


@dataclass(frozen=True, slots=True)
class _Row:
    fields: Mapping[str, object]
    status: str
    reason: str
    line: int
    key: str


def write_failed_csv(figures: JournalFigures, out: str) -> Exported:
    header = figures.runs[-1].header if figures.runs else None
    source, unreadable = recorded_input(header)
    if unreadable is not None or header is None or source is None:
        moved = source not in (None, STDIN) and not Path(str(source)).exists()
        journal = shlex.quote(figures.path)
        hint = f"; if it moved: broadcaster resume {journal} --input NEWPATH" if moved else ""
        raise UsageError(f"--failed-csv: cannot read the rows back: {unreadable}{hint}")
    now = input_digest(source)
    if now != header.input_sha256:
        raise UsageError(
            f"--failed-csv: {source} changed since the journal's last run read it (sha256 "
            f"{(header.input_sha256 or 'none')[:12]} then, {(now or 'none')[:12]} now), so its "
            "lines are no longer the journal's: put the file back as it was to export its "
            "failed rows"
        )
    columns: dict[str, None] = {}
    rows = []
    not_ended = in_doubt = 0
    state = read_journal(figures.path)
    for triaged in rows_of_run(state, header):
        columns.update(dict.fromkeys(triaged.record.fields))
        row = _to_fix(triaged, figures)
        if row is not None and row.key in state.in_doubt:
            # Its message may have been sent: a fix would be a new message, sent again. It is
            # settled by reconcile (a lookup), not by a fix.
            in_doubt += 1
        elif row is not None:
            rows.append(row)
        not_ended += not isinstance(triaged.decision, Settled)
    _write(out, _names(list(columns)), rows)
    failed = sum(1 for row in rows if row.status == "failed")
    return Exported(out, failed, len(rows) - failed, not_ended, in_doubt)


def _to_fix(triaged: Triaged, figures: JournalFigures) -> _Row | None:
    decision, planned, record = triaged.decision, triaged.planned, triaged.record
    if not isinstance(decision, Settled) or decision.status not in ("failed", "invalid"):
        return None
    if figures.replaced[planned.key]:
        return None  # a fix file holds this row now: its replacement is exported from there
    if isinstance(planned, Invalid):
        return _Row(record.fields, "invalid", planned.reason, record.line, planned.key)
    final = figures.finals.get(planned.key)
    reason = final.error if final is not None and final.error else decision.status
    return _Row(record.fields, decision.status, reason, record.line, planned.key)


def _names(columns: list[str]) -> tuple[list[str], tuple[str, str, str]]:
    """The input's columns and ours; a column of the input with one of our names is the input's
    (its value may be in the text), unless the input is an export itself (it has them all)."""
    ours = (REASON, LINE, REPLACES)
    if all(name in columns for name in ours):
        return [name for name in columns if name not in ours], ours
    taken = set(columns)
    renamed = tuple(name if name not in taken else f"broadcaster_{name}" for name in ours)
    return columns, (renamed[0], renamed[1], REPLACES)


def _write(out: str, names: tuple[list[str], tuple[str, str, str]], rows: Iterable[_Row]) -> None:
    columns, (reason, line, replaces) = names
    directory = Path(out).resolve().parent
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed into place below
            "w", encoding="utf-8", newline="", dir=directory, prefix=".failed-", delete=False
        )
    except OSError as exc:
        raise UsageError(f"--failed-csv {out}: cannot write there ({exc.strerror})") from None
    try:
        with handle:
            writer = csv.writer(handle)
            writer.writerow([escape_formula(name) for name in [*columns, reason, line, replaces]])
            for row in rows:
                cells = [_cell(row.fields.get(name)) for name in columns]
                cells += [row.reason, str(row.line), row.key]
                writer.writerow([escape_formula(cell) for cell in cells])
        Path(handle.name).chmod(_mode(Path(out)))
        Path(handle.name).replace(out)
    except OSError as exc:
        Path(handle.name).unlink(missing_ok=True)
        raise UsageError(f"--failed-csv {out}: cannot write it ({exc.strerror})") from None


def _mode(out: Path) -> int:
    """The mode the file had, or the one the umask gives a new file (not world-readable when
    the user's umask says so: the file holds phone numbers)."""
    if out.is_file():
        return stat.S_IMODE(out.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return orjson.dumps(value).decode()
