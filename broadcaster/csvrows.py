"""A CSV campaign file's rows: a header row naming the columns, then one row a message.

The csv module splits the cells; what is here says where a bad record starts and ends, and why
it is bad, in the user's words. A bad record is a row with a ``Problem``; only a header that
cannot name the columns stops the reading.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from typing import NoReturn

from broadcaster.columns import (
    ANY_TARGET,
    REPLACES,
    TARGET_FIELDS,
    did_you_mean,
    field_name,
    named_twice,
)
from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.formulas import unescape_formula
from broadcaster.limits import (
    HAS_NUL,
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_ROW_BYTES,
    NOT_UTF8,
    ROW_TOO_LONG,
    TOO_LONG,
    too_many_fields,
)
from broadcaster.record import Record

# Bytes that are not UTF-8 are read as lone surrogates, which UTF-8 text never decodes to.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Python's csv stops a field at its own limit (by default the same); its message names neither.
_CSV_FIELD_LIMIT = "field larger than field limit"
_DELIMITERS = {";": "';' (semicolons)", "\t": "tabs"}
_SKIPPED_PIECE = 65_536  # a record not parsed is read on in pieces this long


def csv_rows(
    stream: io.BufferedReader,
    path: str,
    wrappers: contextlib.ExitStack,
    *,
    counting: bool = False,
) -> Iterator[Record]:
    """The rows of a CSV stream, read as text until ``wrappers`` closes; the text wrapper is
    detached then, not closed, since the stream below belongs to its opener. ``counting``:
    only how many there are (each a placeholder, its fields not made: 2.4 times faster), for
    progress's total; the same rows, since the same code tells them apart."""
    # A BOM is dropped; bytes that are not UTF-8 become the row's problem, not the file's.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    wrappers.callback(text.detach)
    return _rows(text, path, counting=counting)


class _RowTooLongError(Exception):
    """Raised through the csv module when a record grows past ``MAX_ROW_BYTES``."""


class _Lines:
    """The text's lines as the csv module takes them, counted, with the current record's kept
    (only until it is parsed: clearing ``record`` starts the next) for the errors that need to
    look at it. A record is held to ``MAX_ROW_BYTES``: a line is read a piece at a time, never
    more than the record may hold."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self.count = 0
        self.record: list[str] = []
        # The record's length: in characters while it cannot be past the limit in bytes (a
        # character is at most four), in bytes of UTF-8 from there on.
        self._size = 0
        self._in_bytes = False
        self._mid_line = False  # the last piece ended inside a line
        self._cut_cr = False  # the last piece was cut just after a \r, maybe half of \r\n

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if not self.record:
            self._size, self._in_bytes = 0, False
        size = MAX_ROW_BYTES - self._size + 1  # in characters: a character is at least a byte
        line = self._text.readline(size)
        if len(line) < size and not (self._mid_line or self._cut_cr):
            self.count += line != ""  # a whole line, or none: the common case, first
        else:
            self._counted(line, size)
        if not line:
            raise StopIteration
        self.record.append(line)
        if self._in_bytes:
            self._size += _utf8_length(line)
        else:
            self._size += len(line)
            if self._size > MAX_ROW_BYTES // 4:
                self._in_bytes = True
                self._size = sum(map(_utf8_length, self.record))
        if self._size > MAX_ROW_BYTES:
            raise _RowTooLongError
        return line

    def finish(self, scan: _Scan) -> None:
        """Read on (keeping nothing) to where the record being scanned ends."""
        while not scan.ended:
            piece = self._text.readline(_SKIPPED_PIECE)
            self._counted(piece, _SKIPPED_PIECE)
            if not piece:
                return
            scan.feed(piece)

    def _counted(self, piece: str, size: int) -> None:
        """Count the line ``piece`` begins, if it begins one: it may go on one cut at ``size``
        characters, or be the \\n of a \\r\\n cut in two."""
        if piece and not self._mid_line and not (self._cut_cr and piece == "\n"):
            self.count += 1
        self._cut_cr = len(piece) >= size and piece.endswith("\r")
        self._mid_line = not piece.endswith(("\n", "\r"))


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode(errors="surrogateescape"))


class _Scan:
    """Just enough of RFC 4180 to find a record's over-long field and its end, for the record
    the csv module gave up on (it says neither which field, nor where the record ends)."""

    _STOP = re.compile(r"[,\r\n]")
    # Possessive (++): backtracking would keep a mark for every field passed, 150 bytes each.
    _SHORT_FIELDS = re.compile(rf'(?:(?!")[^,\r\n]{{0,{MAX_FIELD_CHARS}}},)++')

    def __init__(self) -> None:
        self.column = 0
        self.length = 0
        self.quoted = False
        self.at_start = True
        self.ended = False
        self.long_column: int | None = None
        self._quote_ends_piece = False  # "" or a closing quote: the next piece tells

    @property
    def open_quote(self) -> bool:
        """Whether a quoted field is open where the text read so far ends."""
        return self.quoted and not self._quote_ends_piece

    def feed(self, line: str) -> None:
        at, end = 0, len(line)
        if self._quote_ends_piece:
            self._quote_ends_piece = False
            if line.startswith('"'):
                self._grow(1)
                at = 1
            else:
                self.quoted = False
        while at < end and not self.ended:
            if self.quoted:
                at = self._quoted(line, at)
            elif self.at_start and line.startswith('"', at):
                self.quoted, self.at_start = True, False
                at += 1
            else:
                at = self._unquoted(line, at)

    def _quoted(self, line: str, at: int) -> int:
        quote = line.find('"', at)
        if quote < 0:
            self._grow(len(line) - at)
            return len(line)
        if quote + 1 == len(line):  # a line read in pieces, cut after this quote
            self._grow(quote - at)
            self._quote_ends_piece = True
            return quote + 1
        if line.startswith('"', quote + 1):  # "" is a quote inside the field
            self._grow(quote + 1 - at)
            return quote + 2
        self._grow(quote - at)
        self.quoted = False
        return quote + 1

    def _unquoted(self, line: str, at: int) -> int:
        run = self._SHORT_FIELDS.match(line, at) if self.at_start else None
        if run is not None:  # fields within the limit, passed at once
            self.column += line.count(",", at, run.end())
            return run.end()
        self.at_start = False
        stop = self._STOP.search(line, at)
        self._grow((stop.start() if stop else len(line)) - at)
        if stop is None:
            return len(line)
        if stop.group() == ",":
            self.column, self.length, self.at_start = self.column + 1, 0, True
        else:
            self.ended = True
        return stop.end()

    def _grow(self, chars: int) -> None:
        self.length += chars
        if self.length > MAX_FIELD_CHARS and self.long_column is None:
            self.long_column = self.column


_COUNTED = Record(0)  # a row counted, not made


def _rows(text: io.TextIOWrapper, path: str, *, counting: bool = False) -> Iterator[Record]:
    lines = _Lines(text)
    # strict: a quote left open must be an error, not a field that swallows the rest of the file.
    reader = csv.reader(lines, strict=True)
    header = _header(reader, lines, path)
    # A file --failed-csv wrote (it has a replaces column) has its formula cells escaped.
    exported = REPLACES in header
    if exported:
        header = [unescape_formula(name) for name in header]
    rows = 0
    while True:
        start = lines.count + 1
        problem = None
        try:
            cells = next(reader)
        except StopIteration:
            if not rows:
                raise InputError(f"{path}: the file has a header and no rows") from None
            return
        except csv.Error as exc:
            cells, problem = [], _csv_problem(exc, lines, header, start)
        except _RowTooLongError:
            cells, problem = [], _long_row(lines)
        finally:
            lines.record.clear()  # kept only for an error
        # Yielded out of the except blocks: a handled exception's frames hold the record's text.
        if problem is not None:
            rows += 1
            yield Record(start, problem=problem)
        elif cells:
            rows += 1
            yield _COUNTED if counting else _record(header, cells, start, lines.count, exported)


def _header(reader: Iterator[list[str]], lines: _Lines, path: str) -> list[str]:
    """The header's column names, matched to the API's fields; a header that cannot name the
    columns stops the reading."""
    try:
        cells = next((cells for cells in reader if cells), None)
    except csv.Error as exc:
        if _CSV_FIELD_LIMIT in str(exc):
            raise InputError(f"{path}: a name in the header row {TOO_LONG}") from None
        _check_delimiter("".join(lines.record), path)
        raise InputError(f"{path}: the header row is unreadable ({exc})") from None
    except _RowTooLongError:
        raise InputError(f"{path}: the header row {ROW_TOO_LONG}") from None
    raw = "".join(lines.record)
    lines.record.clear()
    if cells is None:
        raise InputError(
            f"{path}: the file is empty (expected a header row, then one row a message)"
        )
    _check_cells(cells, path)
    names = [field_name(cell) for cell in cells]
    if not any(name in TARGET_FIELDS for name in names):
        _refuse_targetless(cells, raw, path)
    _check_unique(cells, path)
    return names


def _check_cells(cells: list[str], path: str) -> None:
    if len(cells) > MAX_COLUMNS:
        raise InputError(
            f"{path}: the header has {len(cells):,} columns, more than the limit of {MAX_COLUMNS:,}"
        )
    if _SURROGATE.search("".join(cells)):
        raise InputError(f"{path}: the header row is not UTF-8 text")
    if any("\x00" in cell for cell in cells):
        raise InputError(
            f"{path}: the header row holds NUL characters (is the file UTF-16? save it as UTF-8)"
        )


def _refuse_targetless(cells: list[str], raw: str, path: str) -> NoReturn:
    """A header naming no target: split at another delimiter, misnamed, or not a header."""
    _check_delimiter(raw, path)
    hint = did_you_mean(cells)
    if hint is not None:
        raise InputError(f"{path}: the header has no column {ANY_TARGET}; {hint}")
    raise InputError(
        f"{path}: line 1 is not a header row: it names none of the columns {ANY_TARGET} "
        "(the first line must name the columns)"
    )


def _check_unique(cells: list[str], path: str) -> None:
    twice = named_twice(cells)
    if twice is None:
        return
    name, first, again = twice
    shown = f"{name!r} twice"
    if first.strip() != again.strip():
        shown += f": as {first.strip()!r} and as {again.strip()!r}"
    raise InputError(f"{path}: the header names the column {shown}")


def _check_delimiter(header: str, path: str) -> None:
    """Refuse a header that, split at semicolons or tabs instead, names a target column."""
    separated = []
    for delimiter, described in _DELIMITERS.items():
        if delimiter not in header:
            continue
        try:
            rows = csv.reader(io.StringIO(header), delimiter=delimiter)
            cells = next((cells for cells in rows if cells), [])  # blank lines may come first
        except csv.Error:
            continue
        if any(field_name(cell) in TARGET_FIELDS for cell in cells):
            separated.append(described)
    if len(separated) == 1:  # both would be a guess
        raise InputError(
            f"{path}: the header is separated by {separated[0]}, not commas: "
            "save the file as comma-separated CSV"
        )


def _csv_problem(exc: csv.Error, lines: _Lines, header: list[str], start: int) -> Problem:
    if _CSV_FIELD_LIMIT in str(exc):
        return _long_field(lines, header)
    ended = lines.count
    if "unexpected end of data" in str(exc):
        reason = _never_closed(ended)
    elif ended > start:
        reason = f"is not valid CSV ({exc}; the record runs to line {ended}: is a quote left open?)"
    else:
        reason = f"is not valid CSV ({exc})"
    return Problem("row", reason)


def _never_closed(ended: int) -> str:
    return f"a quote opened in this record is never closed (it runs to the end, line {ended})"


def _long_field(lines: _Lines, header: list[str]) -> Problem:
    """The column of the field the csv module gave up on, its record read to its end."""
    scan = _scanned(lines)
    if scan.open_quote:
        return Problem("row", _never_closed(lines.count))
    if scan.long_column is None:
        return Problem("row", f"a field {TOO_LONG}")
    return Problem(_column(header, scan.long_column), TOO_LONG)


def _long_row(lines: _Lines) -> Problem:
    """Why a record past ``MAX_ROW_BYTES`` is refused, once read to its end."""
    scan = _scanned(lines)
    return Problem("row", _never_closed(lines.count) if scan.open_quote else ROW_TOO_LONG)


def _scanned(lines: _Lines) -> _Scan:
    """The record the csv module gave up on (or was not given), read to its end."""
    scan = _Scan()
    for line in lines.record:
        scan.feed(line)
    lines.record.clear()
    lines.finish(scan)  # the csv module drops the rest of the line, not a quote left open
    return scan


def _column(header: list[str], index: int) -> str:
    name = header[index] if index < len(header) else ""
    return name or f"column {index + 1}"


def _record(
    header: list[str], cells: list[str], start: int, end: int, exported: bool = False
) -> Record:
    if len(cells) != len(header):
        return Record(start, problem=Problem("row", _ragged(len(cells), len(header), start, end)))
    joined = "".join(cells)
    if "\x00" in joined or len(joined) > MAX_FIELD_CHARS or _SURROGATE.search(joined):
        for index, cell in enumerate(cells):
            reason = _cell_problem(cell)
            if reason is not None:
                return Record(start, problem=Problem(_column(header, index), reason))
    if exported and "'" in joined:  # a cell written as text, against formulas: as it was
        cells = [unescape_formula(cell) for cell in cells]
    # Unnamed columns (a trailing comma in a spreadsheet export) carry nothing.
    return Record(start, {name: cell for name, cell in zip(header, cells, strict=True) if name})


def _ragged(count: int, columns: int, start: int, end: int) -> str:
    if count > MAX_COLUMNS:
        reason = too_many_fields(count)
    else:
        reason = f"has {count} {'field' if count == 1 else 'fields'}, the header has {columns}"
    if end > start:
        reason += f" (the record runs to line {end}: is a quote left open?)"
    return reason


def _cell_problem(cell: str) -> str | None:
    if _SURROGATE.search(cell):
        return NOT_UTF8
    if "\x00" in cell:
        return HAS_NUL
    return TOO_LONG if len(cell) > MAX_FIELD_CHARS else None
