"""Streaming campaign files: CSV or JSONL, plain or gzipped, a file or stdin.

Rows are yielded one at a time (memory does not grow with the file), each with the physical
line where its record starts (the CSV header is line 1). A row that cannot be split into
fields, or that breaks a limit (``broadcaster.limits``, the same for both formats), is still
yielded, carrying a ``Problem``: a bad row never stops the reading. Only a file that cannot be
read at all raises ``InputError``.

Names are matched forgivingly: ``Phone Number``, ``PHONE-NUMBER`` and ``phone_number`` are all
the API's ``phone_number``. Other names (merge variables) are kept as written, trimmed.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import functools
import gzip
import io
import itertools
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast

import orjson

from broadcaster.errors import InputError
from broadcaster.fields import Problem
from broadcaster.limits import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_JSON_DEPTH

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")
STDIN = "-"
API_FIELDS = frozenset(
    {
        "phone_number", "chat_id", "list_id", "targets", "text", "media_url", "template_id",
        "survey_id", "private", "author", "activity_id", "inbox_id", "creator_id", "local_id",
    }
)  # fmt: skip
TARGET_FIELDS = ("phone_number", "chat_id", "list_id", "targets")
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 4096
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}

# What a column or key is named in the user's words, and the API field meant.
_SYNONYMS = {
    **dict.fromkeys(
        ("phone", "mobile", "cell", "cellphone", "cell_phone", "mobile_phone", "mobile_number",
         "cell_number", "phone_no", "number", "msisdn", "to", "tel", "telephone"),
        "phone_number",
    ),
    **dict.fromkeys(("message", "body", "sms", "msg", "message_text"), "text"),
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s_-]+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
# Bytes that are not UTF-8 are read as lone surrogates, which UTF-8 text never decodes to.
_SURROGATE = re.compile("[\ud800-\udfff]")
_HINT_CUTOFF = 0.8
_HINT_NAME_CHARS = 40  # no API field is longer; longer names are not worth comparing
_MAX_HINTS = 5
_CACHED_NAME_CHARS = 64
# Python's csv stops a field at its own limit (by default the same); its message names neither.
_CSV_FIELD_LIMIT = "field larger than field limit"
_DELIMITERS = {";": "';' (semicolons)", "\t": "tabs"}
# orjson reads integers within 64 bits exactly and larger ones as floats (rounded): they are
# refused, since a rounded id or phone number is a wrong one.
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1
_INEXACT_FLOAT = float(2**63)
_WALKED = frozenset({list, dict, float})
_NON_FINITE = ("NaN", "Infinity")  # orjson stops after the sign of -Infinity
_UTF8_CHUNK = 65_536

_TOO_LONG = f"is longer than the limit of {MAX_FIELD_CHARS:,} characters"
_TOO_DEEP = f"is nested deeper than the limit of {MAX_JSON_DEPTH} levels"
_HAS_NUL = "contains a NUL character"
_TOO_LARGE_INTEGER = (
    "holds an integer beyond 64 bits, which cannot be read exactly (write it as a string)"
)
_NOT_UTF8 = "is not valid UTF-8 text"


@dataclass(frozen=True, slots=True)
class Record:
    """One row as read: its first physical line and its fields (or why it has none)."""

    line: int
    fields: Mapping[str, object] = field(default_factory=dict)
    problem: Problem | None = None


def format_of(path: str) -> Format | None:
    """The format an input's name implies (``x.csv.gz`` is CSV), or None."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def field_name(name: str) -> str:
    """An API field's name, matched in any case with spaces, dashes or underscores between its
    words (``Phone Number``); any other name trimmed, as written."""
    if len(name) <= _CACHED_NAME_CHARS:
        return _field_name(name)
    return _uncached_field_name(name)


def _uncached_field_name(name: str) -> str:
    name = name.strip()
    if name in API_FIELDS:
        return name
    key = _SEPARATORS.sub("_", name.lower())
    return key if key in API_FIELDS else name


_field_name = functools.lru_cache(maxsize=1024)(_uncached_field_name)


def did_you_mean(names: Iterable[str]) -> str | None:
    """``did you mean phone_number for 'phone'?`` for the names that look like an API field
    missing from them, when one of those is a target; else None."""
    names = list(names)
    present = {field_name(name) for name in names}
    guesses: dict[str, list[str]] = {}
    for name in names:
        guess = _guess(name)
        if guess is not None and guess not in present:
            guesses.setdefault(guess, []).append(repr(name.strip()))
    if guesses.keys().isdisjoint(TARGET_FIELDS):
        return None
    meant = [f"{guess} for {_and(shown[:_MAX_HINTS], 'or')}" for guess, shown in guesses.items()]
    return f"did you mean {_and(meant[:_MAX_HINTS])}?"


def _guess(name: str) -> str | None:
    if len(name) > _HINT_NAME_CHARS or field_name(name) in API_FIELDS:
        return None
    word = _NOT_WORD.sub("_", name.lower()).strip("_")
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    close = difflib.get_close_matches(word, sorted(API_FIELDS), n=1, cutoff=_HINT_CUTOFF)
    return close[0] if close else None


def _and(items: Iterable[str], last: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


_TARGETS = _and(TARGET_FIELDS, "or")


@contextlib.contextmanager
def read_rows(path: str, fmt: Format | None = None) -> Iterator[Iterator[Record]]:
    """Open ``path`` (``-`` for stdin) and yield an iterator over its rows."""
    with _open_binary(path) as raw, contextlib.ExitStack() as wrappers:
        with _damage_reported(path):
            stream = _decompressed(raw, wrappers)
            chosen = fmt or format_of(path) or _sniff(stream)
        if chosen == "csv":
            text = io.TextIOWrapper(
                stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
            wrappers.callback(text.detach)  # the stream below is closed by its own owner
            rows = _csv_rows(text, path)
        else:
            rows = _jsonl_rows(stream, path)
        yield _guarded(rows, path)


@contextlib.contextmanager
def _open_binary(path: str) -> Iterator[IO[bytes]]:
    if path == STDIN:
        yield sys.stdin.buffer
        return
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a campaign file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        yield handle


def _decompressed(raw: IO[bytes], wrappers: contextlib.ExitStack) -> io.BufferedReader:
    """A peekable byte stream of the content, gunzipped when it starts with gzip's magic."""
    if isinstance(raw, io.BufferedReader):
        buffered = raw
    else:
        buffered = io.BufferedReader(cast("Any", raw))
        wrappers.callback(buffered.detach)
    if buffered.peek(2)[:2] != _GZIP_MAGIC:
        return buffered
    unzipped = wrappers.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb"))
    # GzipFile is readable enough for BufferedReader, which adds the peek() we sniff with.
    peekable = io.BufferedReader(cast("Any", unzipped))
    wrappers.callback(peekable.close)
    return peekable


def _sniff(stream: io.BufferedReader) -> Format:
    head = stream.peek(_SNIFF_BYTES).lstrip(_BOM + b" \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def _guarded(rows: Iterator[Record], path: str) -> Iterator[Record]:
    with _damage_reported(path):
        yield from rows


@contextlib.contextmanager
def _damage_reported(path: str) -> Iterator[None]:
    """Turn a damaged compressed stream or a failing disk into one clear error."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: the compressed data is damaged ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: read failed ({exc})") from None


# --- CSV ------------------------------------------------------------------------------------


class _Lines:
    """The text's lines as the csv module takes them, counted, with the current record's kept
    (only until it is parsed) for the errors that need to look at it."""

    def __init__(self, text: Iterator[str]) -> None:
        self._text = text
        self.count = 0
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._text)
        self.count += 1
        self.record.append(line)
        return line

    def finish(self, scan: _Scan) -> None:
        """Read on (keeping nothing) to where the record being scanned ends."""
        while not scan.ended:
            line = next(self._text, None)
            if line is None:
                return
            self.count += 1
            scan.feed(line)


class _Scan:
    """Just enough of RFC 4180 to find a record's over-long field and its end, for the record
    the csv module gave up on (it says neither which field, nor where the record ends)."""

    _STOP = re.compile(r"[,\r\n]")
    _SHORT_FIELDS = re.compile(rf'(?:(?!")[^,\r\n]{{0,{MAX_FIELD_CHARS}}},)+')

    def __init__(self) -> None:
        self.column = 0
        self.length = 0
        self.quoted = False
        self.at_start = True
        self.ended = False
        self.long_column: int | None = None

    def feed(self, line: str) -> None:
        at, end = 0, len(line)
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


def _csv_rows(text: io.TextIOWrapper, path: str) -> Iterator[Record]:
    lines = _Lines(text)
    # strict: a quote left open must be an error, not a field that swallows the rest of the file.
    reader = csv.reader(lines, strict=True)
    header = _header(reader, lines, path)
    while True:
        start = lines.count + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(start, problem=_csv_problem(exc, lines, header, start))
            continue
        finally:
            lines.record.clear()  # kept only for an error
        if cells:
            yield _csv_record(header, cells, start, lines.count)


def _header(reader: Iterator[list[str]], lines: _Lines, path: str) -> list[str]:
    try:
        cells = next((cells for cells in reader if cells), None)
    except csv.Error as exc:
        if _CSV_FIELD_LIMIT in str(exc):
            raise InputError(f"{path}: a name in the header row {_TOO_LONG}") from None
        _check_delimiter("".join(lines.record), path)
        raise InputError(f"{path}: the header row is unreadable ({exc})") from None
    raw = "".join(lines.record)
    lines.record.clear()
    if cells is None:
        raise InputError(
            f"{path}: the file is empty (expected a header row, then one row a message)"
        )
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
    names = [field_name(cell) for cell in cells]
    if not any(name in TARGET_FIELDS for name in names):
        _check_delimiter(raw, path)
        hint = did_you_mean(cells)
        if hint is not None:
            raise InputError(f"{path}: the header has no column {_TARGETS}; {hint}")
        raise InputError(
            f"{path}: line 1 is not a header row: it names none of the columns {_TARGETS} "
            "(the first line must name the columns)"
        )
    _check_unique(names, cells, path)
    return names


def _check_unique(names: list[str], cells: list[str], path: str) -> None:
    written: dict[str, str] = {}
    for name, cell in zip(names, cells, strict=True):
        if name and name in written:
            twice = f"{name!r} twice"
            if written[name].strip() != cell.strip():
                twice += f": as {written[name].strip()!r} and as {cell.strip()!r}"
            raise InputError(f"{path}: the header names the column {twice}")
        written[name] = cell


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
        scan = _Scan()
        for line in lines.record:
            scan.feed(line)
        lines.record.clear()
        lines.finish(scan)  # the csv module drops the rest of the line, not a quote left open
        if scan.long_column is None:
            return Problem("row", f"a field {_TOO_LONG}")
        return Problem(_column(header, scan.long_column), _TOO_LONG)
    ended = lines.count
    if "unexpected end of data" in str(exc):
        reason = f"a quote opened in this record is never closed (it runs to the end, line {ended})"
    elif ended > start:
        reason = f"is not valid CSV ({exc}; the record runs to line {ended}: is a quote left open?)"
    else:
        reason = f"is not valid CSV ({exc})"
    return Problem("row", reason)


def _column(header: list[str], index: int) -> str:
    name = header[index] if index < len(header) else ""
    return name or f"column {index + 1}"


def _csv_record(header: list[str], cells: list[str], start: int, end: int) -> Record:
    if len(cells) != len(header):
        return Record(start, problem=Problem("row", _ragged(len(cells), len(header), start, end)))
    joined = "".join(cells)
    if "\x00" in joined or len(joined) > MAX_FIELD_CHARS or _SURROGATE.search(joined):
        for index, cell in enumerate(cells):
            reason = _cell_problem(cell)
            if reason is not None:
                return Record(start, problem=Problem(_column(header, index), reason))
    # Unnamed columns (a trailing comma in a spreadsheet export) carry nothing.
    return Record(start, {name: cell for name, cell in zip(header, cells, strict=True) if name})


def _ragged(count: int, columns: int, start: int, end: int) -> str:
    if count > MAX_COLUMNS:
        reason = f"has {count:,} fields, more than the limit of {MAX_COLUMNS:,}"
    else:
        reason = f"has {count} fields, the header has {columns}"
    if end > start:
        reason += f" (the record runs to line {end}: is a quote left open?)"
    return reason


def _cell_problem(cell: str) -> str | None:
    if _SURROGATE.search(cell):
        return _NOT_UTF8
    if "\x00" in cell:
        return _HAS_NUL
    return _TOO_LONG if len(cell) > MAX_FIELD_CHARS else None


# --- JSONL ----------------------------------------------------------------------------------


def _jsonl_rows(stream: io.BufferedReader, path: str) -> Iterator[Record]:
    line_no = 0
    found = False
    for line in stream:  # a line is read whole: JSON cannot be parsed in pieces
        line_no += 1
        if line_no == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]  # noqa: PLW2901 - the line, as its reader means it
        if not line or line.isspace():
            continue
        found = True
        record = _jsonl_record(line_no, line)
        del line  # not held while the row is used
        yield record
    if not found:
        raise InputError(f"{path}: the file is empty (expected one JSON object a line)")


def _jsonl_record(line_no: int, line: bytes) -> Record:
    value = _object(line)
    if isinstance(value, Problem):
        return Record(line_no, problem=value)
    fields = {field_name(key): item for key, item in value.items()}
    if len(fields) < len(value) or "" in fields:
        problem = _names_problem(value)
        if problem is not None:
            return Record(line_no, problem=problem)
        fields.pop("", None)  # an unnamed key is dropped, as an unnamed CSV column is
    return Record(line_no, fields)


def _names_problem(value: dict[str, object]) -> Problem | None:
    """The first field a row names twice (``phone_number`` and ``Phone Number``), or None."""
    written: dict[str, str] = {}
    for key in value:
        name = field_name(key)
        if name and name in written:
            return Problem(name, f"given twice, as {written[name]!r} and as {key!r}")
        written[name] = key
    return None


def _object(line: bytes) -> dict[str, object] | Problem:
    """The line's JSON object, or why it cannot be a row."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return Problem("row", _json_error(line))
    if not isinstance(value, dict):  # null included: a line must be an object
        return Problem("row", f"is a JSON {_JSON_KINDS.get(type(value), 'value')}, not an object")
    if len(value) > MAX_COLUMNS:
        return Problem("row", f"has {len(value):,} fields, more than the limit of {MAX_COLUMNS:,}")
    problem = None if _within_limits(value, line) else _limits_problem(value, line)
    return value if problem is None else problem


def _within_limits(value: dict[str, object], line: bytes) -> bool:
    """Whether no name or value can break a limit, judged cheaply: no string is longer than its
    line, a NUL can only be written \\u0000, and only containers nest, and only floats can be
    integers orjson rounded."""
    return (
        len(line) <= MAX_FIELD_CHARS
        and (b"\\" not in line or b"\\u0000" not in line)  # the first is the quicker
        and _WALKED.isdisjoint(map(type, value.values()))
    )


def _limits_problem(value: dict[str, object], line: bytes) -> Problem | None:
    """The first limit one of a row's names or values breaks, or None."""
    inexact: list[str] = []
    for key, item in value.items():
        reason = _string_problem(key)
        if reason is not None:
            return Problem("row", f"a field name {reason}")
        reason, maybe_inexact = _value_problem(item)
        if reason is not None:
            return Problem(field_name(key) or repr(key), reason)
        if maybe_inexact:
            inexact.append(key)
    too_large = _inexact_keys(line) if inexact else set()
    rounded = (key for key in inexact if key in too_large)
    return next((Problem(field_name(key), _TOO_LARGE_INTEGER) for key in rounded), None)


def _json_error(line: bytes) -> str:
    """Why orjson refuses a line, in words; read again without its line ending, so that
    positions are the line's own."""
    end = len(line)
    while end and line[end - 1] in b"\r\n":
        end -= 1
    with memoryview(line)[:end] as payload:
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return _json_reason(payload, exc)
    return "is not valid JSON"  # orjson refused the line with its line ending only


def _json_reason(payload: memoryview, exc: orjson.JSONDecodeError) -> str:
    if not _is_utf8(payload):
        return _NOT_UTF8
    if "depth limit" in exc.msg:  # orjson's own limit, far beyond ours
        return _TOO_DEEP
    # What orjson stopped at: exc.pos counts characters, and a character is at most 4 bytes.
    here = str(payload[: 4 * exc.pos + 16], "utf-8", "ignore")[exc.pos :]
    if here.startswith(_NON_FINITE):
        return "is not valid JSON: NaN and Infinity are not JSON numbers (write null or a string)"
    if "infinity" in exc.msg and re.match(r"-?\d+(?![\d.eE])", here):
        return _TOO_LARGE_INTEGER
    if here.startswith("\x00"):
        return f"is not valid JSON: a NUL byte at character {exc.pos + 1} (is it a binary file?)"
    return f"is not valid JSON: {exc.msg} at character {exc.pos + 1}"


def _is_utf8(data: memoryview) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _UTF8_CHUNK):
            decoder.decode(data[start : start + _UTF8_CHUNK])  # a chunk at a time: no copy
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _value_problem(value: object) -> tuple[str | None, bool]:
    """Why a field's JSON value breaks a limit (or None), and whether it holds a float that
    may be an integer orjson could not read exactly."""
    if isinstance(value, str):
        return _string_problem(value), False
    if not isinstance(value, list | dict):
        return None, _maybe_inexact(value)
    maybe_inexact = False
    pending: list[tuple[list[object] | dict[str, object], int]] = [(value, 1)]
    while pending:
        container, level = pending.pop()
        if level > MAX_JSON_DEPTH:
            return _TOO_DEEP, False
        items = (
            itertools.chain(container, container.values())
            if isinstance(container, dict)
            else container
        )
        for item in items:
            if isinstance(item, list | dict):
                pending.append((item, level + 1))
            elif isinstance(item, str):
                reason = _string_problem(item)
                if reason is not None:
                    return reason, False
            elif _maybe_inexact(item):
                maybe_inexact = True
    return None, maybe_inexact


def _string_problem(text: str) -> str | None:
    if len(text) > MAX_FIELD_CHARS:
        return _TOO_LONG
    return _HAS_NUL if "\x00" in text else None


def _maybe_inexact(value: object) -> bool:
    return isinstance(value, float) and abs(value) >= _INEXACT_FLOAT and value.is_integer()


class _TooLarge:
    """Stands for an integer literal beyond 64 bits when the line is read again."""


def _inexact_keys(line: bytes) -> set[str]:
    """The keys whose values hold integer literals beyond 64 bits (which orjson rounds)."""
    marker = _TooLarge()

    def integer(literal: str) -> object:
        if len(literal.lstrip("-")) > len(str(_UINT64_MAX)):
            return marker
        return marker if not _INT64_MIN <= int(literal) <= _UINT64_MAX else 0

    try:  # only lines orjson read get here: valid, and within the depth limit
        value = json.loads(line, parse_int=integer)
    except ValueError:
        return set()
    if not isinstance(value, dict):
        return set()
    return {key for key, item in value.items() if _holds(item, marker)}


def _holds(value: object, marker: object) -> bool:
    if isinstance(value, dict):
        return any(_holds(item, marker) for item in value.values())
    if isinstance(value, list):
        return any(_holds(item, marker) for item in value)
    return value is marker
