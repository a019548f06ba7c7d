"""Streaming campaign files: CSV or JSONL, plain or gzipped, a file or stdin.

Rows are yielded one at a time (memory does not grow with the file), each with the physical
line where its record starts (the CSV header is line 1). A row that cannot be split into
fields, or that breaks a limit (``broadcaster.limits``, the same for both formats), is still
yielded, carrying a ``Problem``: a bad row never stops the reading. Only a file that cannot be
read at all raises ``InputError``.

Here the file is opened, unzipped and its format chosen; ``broadcaster.csvrows`` and
``broadcaster.jsonlrows`` read the rows, naming columns as ``broadcaster.columns`` does.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import os
import stat
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from broadcaster.csvrows import csv_rows
from broadcaster.errors import InputError
from broadcaster.inputs import STDIN as STDIN  # noqa: PLC0414 - re-exported: see inputs
from broadcaster.inputs import Format
from broadcaster.jsonlrows import jsonl_rows
from broadcaster.record import Record

_SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096


def format_of(path: str) -> Format | None:
    """The format an input's name implies (``x.csv.gz`` is CSV), or None."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def header_of(fmt: str | None, path: str, first: Record | None) -> list[str] | None:
    """A CSV's columns, as its first row names them (every row has them all); None for JSONL,
    whose rows each have their own, and for stdin, whose format is told from its bytes."""
    if first is None or first.problem is not None or read_as(fmt, path) != "csv":
        return None
    return list(first.fields)


def read_as(fmt: str | None, path: str) -> str | None:
    """How an input is read: its ``--format``, else what its name implies; None when it is
    told from the first bytes (the same bytes tell it alike)."""
    return fmt or format_of(path)


@dataclass
class Reading:
    """What a read of a file found at its end: ``whole`` turns False when the file changed
    under it (it read as one that ends early, or was written), so the rows read may not be
    the file's, even where the file is alike again afterwards (``cp -p`` keeps its time)."""

    whole: bool = True


Identity = tuple[int, int]  # a file as stored: its device and inode
Stamp = tuple[int, int, int, int]  # and its size and time of last change (nanoseconds)


def file_identity(path: str) -> Identity | None:
    """The file ``path`` names now; None for stdin, or a path that names none. Given to
    ``read_rows`` and ``input_digest``, it holds both to that one file: a file put in the
    path's place between the two (a rename) is refused, not read as the rows of another."""
    stamp = file_stamp(path)
    return None if stamp is None else stamp[:2]


@contextlib.contextmanager
def read_rows(
    path: str,
    fmt: Format | None = None,
    *,
    counting: bool = False,
    identity: Identity | None = None,
    reading: Reading | None = None,
) -> Iterator[Iterator[Record]]:
    """Open ``path`` (``-`` for stdin) and yield an iterator over its rows (``counting``: the
    rows may be placeholders, for a count: a CSV's fields are not made; ``identity``: the
    file it must be, ``file_identity``; ``reading``: told whether the file stayed whole)."""
    with _open_binary(path, identity) as raw, contextlib.ExitStack() as wrappers:
        with _damage_reported(path):
            stream = _decompressed(raw, wrappers)
            chosen = fmt or format_of(path) or _sniff(stream)
        rows = (
            csv_rows(stream, path, wrappers, counting=counting)
            if chosen == "csv"
            else jsonl_rows(stream, path)
        )
        yield _guarded(rows if path == STDIN else _as_stored(rows, raw, reading), path)


def count_rows(path: str, fmt: Format | None = None) -> int:
    """How many rows ``read_rows`` gives: progress's total, counted before a run."""
    with read_rows(path, fmt, counting=True) as rows:
        return sum(1 for _ in rows)


def file_stamp(path: str) -> Stamp | None:
    """The file ``path`` names now, with its size and its time of last change: the same at a
    run's end as at its start when nothing wrote it meanwhile (a file written over with the
    same bytes has another time). None for stdin, or a path that names none."""
    if path == STDIN:
        return None
    try:
        stored = Path(path).stat()
    except OSError:
        return None
    return stored.st_dev, stored.st_ino, stored.st_size, stored.st_mtime_ns


def input_digest(path: str, identity: Identity | None = None) -> str | None:
    """The SHA-256 of the file as stored (None for stdin): a run header records it, and a later
    run or report tells by it whether the input is the one a run read. A path that is not a
    regular file (a pipe: ``<(zcat x.csv.gz)``) raises ``InputError``: it cannot be read twice.
    ``identity``: the file it must be (``file_identity``)."""
    if path == STDIN:
        return None
    # Opened again, a pipe would wait for ever for a writer that is gone.
    if not stat.S_ISREG(Path(path).stat().st_mode):
        raise InputError(
            f"{path}: is not a regular file, and a run reads its input more than once: "
            "save it to a file, or give it on stdin as -"
        )
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        _check_identity(handle, path, identity)
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_identity(handle: IO[bytes], path: str, identity: Identity | None) -> None:
    if identity is None:
        return
    stored = os.fstat(handle.fileno())
    if (stored.st_dev, stored.st_ino) != identity:
        raise InputError(
            f"{path}: another file took its place as it was opened (one renamed over it): "
            "run the command again"
        )


@contextlib.contextmanager
def _open_binary(path: str, identity: Identity | None = None) -> Iterator[IO[bytes]]:
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
        _check_identity(handle, path, identity)
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
    head = stream.peek(_SNIFF_BYTES).lstrip(codecs.BOM_UTF8 + b" \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def _as_stored(rows: Iterator[Record], raw: IO[bytes], reading: Reading | None) -> Iterator[Record]:
    """The rows, each given once the next one is read, and the last once the file is found
    whole at its end: as large and as last written as it was when opened, and read to that
    size. A file written over as it is read (emptied, then filled again) ends the reading
    early, in the middle of a line: that cut row is not given (it would be a cut message to
    a real number). ``reading`` is told; the run, finding the file changed (``campaign``),
    is not marked read, and a resume reads the file again, that row whole."""
    opened = _stamp(raw)
    if opened is None:  # a pipe (<(zcat x.gz)): nothing to compare
        yield from rows
        return
    held: Record | None = None
    for row in rows:
        if held is not None:
            yield held
        held = row
    if _stamp(raw) != opened or raw.tell() != opened[0]:
        if reading is not None:
            reading.whole = False
    elif held is not None:
        yield held


def _stamp(raw: IO[bytes]) -> tuple[int, int] | None:
    """A regular file's size and time of last change, from its open handle; None for others."""
    stored = os.fstat(raw.fileno())
    return (stored.st_size, stored.st_mtime_ns) if stat.S_ISREG(stored.st_mode) else None


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
