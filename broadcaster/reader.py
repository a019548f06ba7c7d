"""Streaming campaign files: CSV or JSONL, plain or gzipped, a file or stdin.

Rows are yielded one at a time (memory does not grow with the file), each with the physical
line where its record starts (the CSV header is line 1). A row that cannot be split into
fields is still yielded, carrying a ``Problem``: a bad row never stops the reading. Only a file
that cannot be read at all raises ``InputError``.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast

import orjson

from broadcaster.errors import InputError
from broadcaster.fields import Problem

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
_SNIFF_BYTES = 4096
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


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
    """Header names are trimmed; the API's names are matched in any case."""
    name = name.strip()
    return name.lower() if name.lower() in API_FIELDS else name


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
            rows = _jsonl_rows(stream)
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
    head = stream.peek(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
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


def _csv_rows(text: io.TextIOWrapper, path: str) -> Iterator[Record]:
    # strict: a quote left open must be an error, not a field that swallows the rest of the file.
    reader = csv.reader(text, strict=True)
    header, header_line = _header(reader, path)
    ended = reader.line_num
    while True:
        start = ended + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            ended = reader.line_num
            yield Record(start, problem=Problem("row", _csv_error(exc, start, ended)))
            continue
        ended = reader.line_num
        if not cells:
            continue
        yield _csv_record(header, cells, start, ended, header_line)


def _header(reader: Iterator[list[str]], path: str) -> tuple[list[str], int]:
    try:
        cells = next((cells for cells in reader if cells), None)
    except csv.Error as exc:
        raise InputError(f"{path}: the header row is unreadable ({exc})") from None
    if cells is None:
        raise InputError(
            f"{path}: the file is empty (expected a header row, then one row a message)"
        )
    names = [field_name(cell) for cell in cells]
    if _has_surrogates(names):
        raise InputError(f"{path}: the header row is not UTF-8 text")
    if not any(name in TARGET_FIELDS for name in names):
        raise InputError(
            f"{path}: line 1 is not a header row: it names none of the columns "
            f"{', '.join(TARGET_FIELDS)} (the first line must name the columns)"
        )
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise InputError(f"{path}: the header names the column {name!r} twice")
        seen.add(name)
    return names, 1


def _csv_error(exc: csv.Error, start: int, ended: int) -> str:
    if "unexpected end of data" in str(exc):
        return f"a quote opened in this record is never closed (it runs to the end, line {ended})"
    if ended > start:
        return f"is not valid CSV ({exc}; the record runs to line {ended}: is a quote left open?)"
    return f"is not valid CSV ({exc})"


def _csv_record(header: list[str], cells: list[str], start: int, end: int, _: int) -> Record:
    if len(cells) != len(header):
        reason = f"has {len(cells)} fields, the header has {len(header)}"
        if end > start:
            reason += f" (the record runs to line {end}: is a quote left open?)"
        return Record(start, problem=Problem("row", reason))
    if _has_surrogates(cells):
        return Record(start, problem=Problem("row", "is not valid UTF-8 text"))
    # Unnamed columns (a trailing comma in a spreadsheet export) carry nothing.
    return Record(start, {name: cell for name, cell in zip(header, cells, strict=True) if name})


def _jsonl_rows(stream: io.BufferedReader) -> Iterator[Record]:
    for line_no, line in enumerate(stream, start=1):
        payload = (line.removeprefix(b"\xef\xbb\xbf") if line_no == 1 else line).rstrip(b"\r\n")
        if not payload.strip():
            continue
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            reason = f"is not valid JSON: {exc.msg} at character {exc.pos + 1}"
            yield Record(line_no, problem=Problem("row", reason))
            continue
        if not isinstance(value, dict):  # null included: a line must be an object
            kind = _JSON_KINDS.get(type(value), "value")
            yield Record(line_no, problem=Problem("row", f"is a JSON {kind}, not an object"))
            continue
        yield Record(line_no, {field_name(str(key)): item for key, item in value.items()})


def _has_surrogates(values: list[str]) -> bool:
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
