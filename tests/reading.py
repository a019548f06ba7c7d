"""What the reader's tests share: a file read back as rows, and the words they expect."""

from __future__ import annotations

import contextlib
import tracemalloc
from collections.abc import Callable

import pytest

from broadcaster.errors import InputError
from broadcaster.limits import MAX_FIELD_CHARS
from broadcaster.reader import read_rows
from broadcaster.record import Record

Write = Callable[[str, "str | bytes"], str]

# Written out, not imported: the tests hold the wording to what users have been shown.
TOO_LONG = f"is longer than the limit of {MAX_FIELD_CHARS:,} characters"


def rows_of(path: str, fmt: str | None = None) -> list[Record]:
    with read_rows(path, fmt) as rows:  # type: ignore[arg-type]
        return list(rows)


def problems_of(path: str) -> list[str | None]:
    """Each row's problem as the journal shows it (``field: reason``), None for a good row."""
    return [None if r.problem is None else str(r.problem) for r in rows_of(path)]


def error_of(path: str) -> str:
    """The one error reading the file raises, as the command line shows it."""
    with pytest.raises(InputError) as caught:
        rows_of(path)
    return str(caught.value)


def peak_reading(path: str) -> int:
    """The most memory (tracemalloc) reading every row of ``path`` took at once; a file the
    reader refuses as a whole counts up to where it did."""
    tracemalloc.start()
    try:
        with contextlib.suppress(InputError), read_rows(path) as rows:
            for _ in rows:
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
