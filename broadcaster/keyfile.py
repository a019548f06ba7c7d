"""The keys a ``KeyTable`` has no room for in memory, in a temporary SQLite file.

A run's memory would otherwise grow with its rows (about 21 bytes a key in memory: 24 MB at a
million rows, 240 MB at ten million). Past its room, a key table keeps its further keys here,
as the same fingerprints it keeps in memory, so a run's memory stays bounded at any size; a
key added or found here costs about 10 microseconds more than one in memory.

The file is SQLite's own temporary database (opened with an empty name): it lives in
``SQLITE_TMPDIR``, else ``TMPDIR``, else ``/var/tmp``, ``/usr/tmp`` or ``/tmp``, is removed from the
directory as soon as it is made (a crash or a ``kill -9`` leaves nothing behind) and holds no
more than about 2 MB of its pages in memory. Nothing in it outlives the run: the journal is
the record, this is an index of one run's keys.

A failure (a full disk) is a ``KeyFileError``: the run stops as it does on an input that turns
unreadable, with everything recorded kept, and a resume takes it up.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from broadcaster.errors import KeyFileError

_CACHE_KIB = 2048  # the pages held in memory; the rest are read back from the file
_SETUP = (
    "PRAGMA journal_mode = OFF",  # nothing to roll back to: the file dies with the run
    "PRAGMA synchronous = OFF",
    f"PRAGMA cache_size = -{_CACHE_KIB}",
    (
        "CREATE TABLE keys (fingerprint INTEGER, checked INTEGER, value INTEGER,"
        " PRIMARY KEY (fingerprint, checked)) WITHOUT ROWID"
    ),
    "BEGIN",  # one transaction for the run: never committed, as nothing is kept
)
_ADD = "INSERT INTO keys VALUES (?, ?, ?)"
_GET = "SELECT value FROM keys WHERE fingerprint = ? AND checked = ?"
_SET = "UPDATE keys SET value = ? WHERE fingerprint = ? AND checked = ?"
_BATCH = 2048  # new keys held back and written together: one statement per key costs 3x
_FILTER_BITS = 1 << 24  # 2 MB: one bit per hash value modulo this, set for every key here

_Pair = tuple[int, int]


class KeyFile:
    """``put`` and ``get`` by a key's fingerprint (its hash and its check), as a shard does.

    Most keys that come here are new, and asking the file about each would cost a read of a
    page. A bitset of the hashes it holds answers "not here" at once for most of them (with
    a million keys in the file, all but 6% of new keys), and new keys are written a batch
    at a time, held until then in ``_pending``, where lookups see them.
    """

    __slots__ = ("_db", "_filter", "_pending")

    def __init__(self) -> None:
        with _failing():
            self._db = sqlite3.connect("", isolation_level=None)
            for statement in _SETUP:
                self._db.execute(statement)
        self._filter = bytearray(_FILTER_BITS // 8)
        self._pending: dict[_Pair, int] = {}

    def get(self, fingerprint: int, check: int) -> int | None:
        pair = (fingerprint, check)
        found = self._pending.get(pair)
        if found is None and self._may_hold(fingerprint):
            found = self._written(pair)
        return found

    def put(self, fingerprint: int, check: int, value: int, *, replace: bool) -> int | None:
        """Set the key's value (or, not ``replace``, keep the one it has); the value it had,
        or None when the key is new."""
        pair = (fingerprint, check)
        earlier = self._pending.get(pair)
        if earlier is not None:
            if replace:
                self._pending[pair] = value
            return earlier
        earlier = self._written(pair) if self._may_hold(fingerprint) else None
        if earlier is not None:
            if replace and earlier != value:
                with _failing():
                    self._db.execute(_SET, (value, *pair))
            return earlier
        byte, bit = _bit(fingerprint)
        self._filter[byte] |= bit
        self._pending[pair] = value
        if len(self._pending) >= _BATCH:
            self._write_pending()
        return None

    def _may_hold(self, fingerprint: int) -> bool:
        byte, bit = _bit(fingerprint)
        return bool(self._filter[byte] & bit)

    def _written(self, pair: _Pair) -> int | None:
        with _failing():
            row = self._db.execute(_GET, pair).fetchone()
        return None if row is None else int(row[0])

    def _write_pending(self) -> None:
        rows = sorted((*pair, value) for pair, value in self._pending.items())
        with _failing():
            self._db.executemany(_ADD, rows)
        self._pending.clear()


def _bit(fingerprint: int) -> tuple[int, int]:
    """Where a hash is in the bitset: its byte, and its bit's mask there."""
    index = fingerprint % _FILTER_BITS
    return index >> 3, 1 << (index & 7)


@contextlib.contextmanager
def _failing() -> Iterator[None]:
    """SQLite's failure (a full disk) as the run's own error, saying where and what to do."""
    try:
        yield
    except sqlite3.Error as exc:
        raise KeyFileError(_failure(exc)) from None


def _failure(exc: sqlite3.Error) -> str:
    where = os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR")
    place = f"in {where}" if where else "in /var/tmp, /usr/tmp or /tmp (TMPDIR unset)"
    return (
        f"cannot keep the campaign's keys in a temporary file {place}: {exc}. Nothing "
        "recorded is lost; make room there, or set TMPDIR to a directory with room, and run "
        "the command again (a send resumes where it stopped)"
    )
