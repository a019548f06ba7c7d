"""Suppression: numbers that must never be sent to (opt-outs, complaints, a do-not-text list).

``--suppress FILE`` (repeatable) names files of numbers, each either one number a line (blank
lines and ``#`` comments, also after a number, skipped) or a CSV with a ``phone_number`` column
(the input's header rules: ``Phone Number`` matches too). Every number is read as the input's
are (``phones``, with the run's ``--region``), so ``(415) 555-0100``, ``+1 415 555 0100`` and
``14155550100`` are one number. A row whose ``phone_number``, or any of whose group
``targets``, is suppressed ends ``skipped`` with reason ``suppressed``: never requested. A line
that is not a number is said (file and line) and left out; it cannot match a row, since the
row's number would be refused alike.

``--record-opt-outs FILE`` appends, one a line, the numbers the API refused as opted out, so
that next week's ``--suppress FILE`` skips them up front. The files are read afresh by every
run, a resumed one too: a number added since is suppressed from then on.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from broadcaster.columns import field_name
from broadcaster.errors import UsageError
from broadcaster.fields import FieldError
from broadcaster.phones import normalize_phone
from broadcaster.reader import read_rows

log = structlog.get_logger("broadcaster")
PHONE = "phone_number"
_SEPARATORS = (",", ";", "\t")
_HEADING = re.compile(r"[A-Za-z][A-Za-z _-]*")  # a one-column file's heading: "mobile"
_SHOWN_BAD = 5  # bad lines named one by one; the rest counted
_HEADER = "# numbers that opted out, recorded by broadcaster (--record-opt-outs): one a line\n"


@dataclass(frozen=True, slots=True)
class BadLine:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path} line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Suppression:
    """The suppressed numbers (the API's digits, as integers: a million cost ~60 MB, not 120)."""

    numbers: frozenset[int] = frozenset()
    files: tuple[str, ...] = ()
    bad: tuple[BadLine, ...] = ()
    bad_count: int = 0

    def __bool__(self) -> bool:
        return bool(self.files)

    def match(self, body: Mapping[str, object]) -> str | None:
        """The suppressed number a request body would reach, or None."""
        if not self.numbers:
            return None
        phone = body.get(PHONE)
        candidates = [phone] if isinstance(phone, str) else body.get("targets")
        if not isinstance(candidates, list):
            return None
        numbers = self.numbers
        return next(
            (n for n in candidates if isinstance(n, str) and n.isdigit() and int(n) in numbers),
            None,
        )

    def problems(self) -> list[str]:
        """The bad lines, as a warning says them (the first few, then how many more)."""
        lines = [str(bad) for bad in self.bad]
        if self.bad_count > len(self.bad):
            lines.append(f"and {self.bad_count - len(self.bad):,} more lines that are not numbers")
        return lines


def load(paths: Iterable[str], region: str, *, missing_ok: Iterable[str] = ()) -> Suppression:
    """The numbers of these files (``missing_ok``: paths that may not exist yet, as the file
    --record-opt-outs will create); a file that cannot be read is a usage error."""
    paths = tuple(dict.fromkeys(paths))
    if not paths:
        return Suppression()
    signature = tuple(_signature(path, frozenset(missing_ok)) for path in paths)
    return _load(paths, region, signature)


def _signature(path: str, missing_ok: frozenset[str]) -> tuple[int, int] | None:
    """What tells a file changed (size, mtime), so that a run reads each file once."""
    try:
        info = Path(path).stat()
    except FileNotFoundError:
        if path in missing_ok:
            return None
        raise UsageError(f"--suppress {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--suppress {path}: {exc.strerror}") from None
    if Path(path).is_dir():
        raise UsageError(f"--suppress {path}: a directory, not a file of numbers")
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _load(
    paths: tuple[str, ...], region: str, signature: tuple[tuple[int, int] | None, ...]
) -> Suppression:
    numbers: set[int] = set()
    bad: list[BadLine] = []
    count = 0
    for path, stat in zip(paths, signature, strict=True):
        if stat is None:
            continue
        for line, raw in _raw_numbers(path):
            try:
                numbers.add(int(normalize_phone(raw, region)))
            except FieldError as exc:
                count += 1
                if len(bad) < _SHOWN_BAD:
                    bad.append(BadLine(path, line, f"{raw[:40]!r} is not a phone number: {exc}"))
    return Suppression(frozenset(numbers), paths, tuple(bad), count)


def _raw_numbers(path: str) -> Iterator[tuple[int, str]]:
    """Each number as written, with its line."""
    try:
        first = _first_line(path)
    except OSError as exc:
        raise UsageError(f"--suppress {path}: {exc.strerror}") from None
    header = next(csv.reader([first]), [])
    if any(field_name(cell) == PHONE for cell in header) or any(s in first for s in _SEPARATORS):
        yield from _csv_numbers(path, header)
        return
    with Path(path).open(encoding="utf-8-sig", errors="replace") as lines:
        for line, text in enumerate(lines, 1):
            number = text.partition("#")[0].strip()  # a note after the number: a comment too
            if number and not (number == first and _HEADING.fullmatch(number)):
                yield line, number


def _csv_numbers(path: str, header: list[str]) -> Iterator[tuple[int, str]]:
    if not any(field_name(cell) == PHONE for cell in header):
        found = ", ".join(cell.strip() for cell in header[:10])
        raise UsageError(
            f"--suppress {path}: a CSV file needs a {PHONE} column (its header is: {found}); "
            "or give one number a line"
        )
    with read_rows(path, "csv") as rows:
        for record in rows:
            value = record.fields.get(PHONE)
            if record.problem is not None:
                yield record.line, f"(an unreadable row: {record.problem})"
            elif isinstance(value, str) and value.strip():
                yield record.line, value


def _first_line(path: str) -> str:
    with Path(path).open(encoding="utf-8-sig", errors="replace") as lines:
        for text in lines:
            if text.strip() and not text.startswith("#"):
                return text.strip()
    return ""


def _text_of(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


@dataclass(slots=True)
class OptOutFile:
    """``--record-opt-outs``: numbers the API refused as opted out, appended once each."""

    path: str
    _known: set[str] = field(default_factory=set)
    _failed: bool = False

    @classmethod
    def open(cls, path: str, region: str) -> OptOutFile:
        """The file as it stands (created, with a comment line, when it is not there yet): a
        file that cannot be read or written is refused before anything is sent."""
        try:
            existing = _text_of(path)
            if not existing:
                Path(path).write_text(_HEADER, encoding="utf-8")
            with Path(path).open("a", encoding="utf-8"):
                pass
        except IsADirectoryError:
            raise UsageError(f"--record-opt-outs {path}: a directory, not a file") from None
        except FileNotFoundError:
            raise UsageError(f"--record-opt-outs {path}: its directory does not exist") from None
        except OSError as exc:
            raise UsageError(f"--record-opt-outs {path}: {exc.strerror}") from None
        known = set()
        for line in existing.splitlines():
            if line.strip() and not line.startswith("#"):
                with contextlib.suppress(FieldError):
                    known.add(normalize_phone(line, region))
        return cls(path, known)

    def add(self, number: str) -> bool:
        """Append a number not in the file yet; True when it was added. A write that fails
        is warned of once and the run goes on: the journal holds every refusal as well."""
        if number in self._known or self._failed:
            return False
        try:
            with Path(self.path).open("a", encoding="utf-8") as out:
                out.write(f"+{number}\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            self._failed = True
            log.warning(
                "opt-outs not recorded",
                file=self.path,
                reason=exc.strerror,
                note="the journal holds each refusal: report --failed-csv lists them",
            )
            return False
        self._known.add(number)
        return True
