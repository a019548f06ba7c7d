"""A compact map from message keys to small integers: about 21 bytes a key, where a dict of
strings costs about 180 (the key's str object, a tuple or an int, the dict's slots).

A run remembers every key it has seen (a duplicate row is told by its key), so at a million
rows the map is most of the memory. It keeps no key, only two independent fingerprints of
it, 80 bits in all: Python's string hash (64 bits, computed once per string and cached in
it) and 16 bits of a CRC-32 of its UTF-8 bytes. Two different keys of a million-row campaign
share both with a probability near 4 in 10**13.

Open addressing with linear probing in ``array`` columns (8 + 2 + 4 bytes a slot), split
into 64 shards by the hash's low bits, so that growing (a shard grows by half at 3/4 full,
keeping the table 50% to 75% full) never holds two copies of the whole table at once.

Memory holds the first ``MEMORY_KEYS`` keys (about 3 MB of them); the keys past those go to a
temporary file (``keyfile``), so a run's memory stays bounded whatever its size. Memory never
gives a key up, and the file takes keys only once memory is full: while memory has room, a key
it does not hold is in neither.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING

from broadcaster.outcome import STATUSES, Status

if TYPE_CHECKING:
    from broadcaster.keyfile import KeyFile

_SHARD_BITS = 6
_SHARDS = 1 << _SHARD_BITS
_FIRST_SLOTS = 16
_CHECK_MASK = 0xFFFF
_EMPTY = 0  # a hash of 0 is stored as 1: the two are one fingerprint, the CRC tells them apart
MAX_VALUE = 2**31 - 1
MEMORY_KEYS = 1 << 17  # 131,072 keys in memory: 2.5 to 4 MB; past them, a temporary file


class KeyTable:
    """``table[key] = value`` (0 to MAX_VALUE), ``table.get(key)``, ``key in table``."""

    __slots__ = ("_count", "_file", "_room", "_shards")

    def __init__(self, expected: int = 0, *, room: int | None = None) -> None:
        """``expected``: about how many keys it will hold, when that is known (a resume's keys
        already recorded): its room made at once rather than grown to, a key moved a time or
        two on the way. Room for more than it gets is memory kept for nothing, so a guess
        should be low. ``room``: the keys memory holds (``MEMORY_KEYS``); the rest go to a
        file."""
        self._room = MEMORY_KEYS if room is None else room
        slots = max(_FIRST_SLOTS, min(expected, self._room) * 4 // 3 // _SHARDS + 1)
        self._shards = [_Shard(slots) for _ in range(_SHARDS)]
        self._count = 0
        self._file: KeyFile | None = None

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str, default: int | None = None) -> int | None:
        fingerprint, check = hash(key) or 1, _check(key)
        shard = self._shards[fingerprint & (_SHARDS - 1)]
        slot = shard.find(fingerprint, check)
        if slot >= 0:
            return shard.values[slot]
        found = None if self._file is None else self._file.get(fingerprint, check)
        return default if found is None else found

    def __setitem__(self, key: str, value: int) -> None:
        self._put(key, value, replace=True)

    def setdefault(self, key: str, value: int) -> int | None:
        """The key's value if it has one (left as it is), else None after setting ``value``:
        one probe where ``get`` then a set take two."""
        return self._put(key, value, replace=False)

    def _put(self, key: str, value: int, *, replace: bool) -> int | None:
        if not 0 <= value <= MAX_VALUE:
            raise ValueError(f"{value} is out of range for a key table")
        fingerprint, check = hash(key) or 1, _check(key)
        shard = self._shards[fingerprint & (_SHARDS - 1)]
        if self._file is None and self._count < self._room:  # no key is in a file yet
            earlier = shard.put(fingerprint, check, value, replace=replace)
        else:
            earlier = self._put_past_room(shard, fingerprint, check, value, replace=replace)
        if earlier is None:
            self._count += 1
        return earlier

    def _put_past_room(
        self, shard: _Shard, fingerprint: int, check: int, value: int, *, replace: bool
    ) -> int | None:
        """Memory is full: a key it holds stays there, a key it does not goes to the file."""
        slot = shard.find(fingerprint, check)
        if slot >= 0:
            earlier = shard.values[slot]
            if replace:
                shard.values[slot] = value
            return earlier
        if self._file is None:
            from broadcaster.keyfile import KeyFile  # noqa: PLC0415 - SQLite: 2 MB, when needed

            self._file = KeyFile()
        return self._file.put(fingerprint, check, value, replace=replace)


def _check(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) & _CHECK_MASK


class _Shard:
    __slots__ = ("checks", "fingerprints", "size", "used", "values")

    def __init__(self, slots: int) -> None:
        self.fingerprints, self.checks, self.values = _columns(slots)
        self.size = slots
        self.used = 0

    def find(self, fingerprint: int, check: int) -> int:
        """The slot holding the key, or -1."""
        fingerprints, size = self.fingerprints, self.size
        slot = (fingerprint >> _SHARD_BITS) % size
        while True:
            found = fingerprints[slot]
            if found == _EMPTY:
                return -1
            if found == fingerprint and self.checks[slot] == check:
                return slot
            slot = slot + 1 if slot + 1 < size else 0

    def put(self, fingerprint: int, check: int, value: int, *, replace: bool = True) -> int | None:
        """Set the key's value (or, not ``replace``, keep the one it has); the value it had,
        or None when the key is new."""
        fingerprints, size = self.fingerprints, self.size
        slot = (fingerprint >> _SHARD_BITS) % size
        while True:
            found = fingerprints[slot]
            if found == _EMPTY:
                break
            if found == fingerprint and self.checks[slot] == check:
                earlier = self.values[slot]
                if replace:
                    self.values[slot] = value
                return earlier
            slot = slot + 1 if slot + 1 < size else 0
        fingerprints[slot], self.checks[slot], self.values[slot] = fingerprint, check, value
        self.used += 1
        if self.used * 4 > size * 3:
            self._grow()
        return None

    def _grow(self) -> None:
        """Half as many slots again, every key moved over: the keys are distinct, so each
        takes the first empty slot from its own, with no comparison (the cost of a put is
        mostly the moves, a key being moved about twice as the shard grows)."""
        old = (self.fingerprints, self.checks, self.values)
        size = self.size + self.size // 2
        fingerprints, checks, values = _columns(size)
        for fingerprint, check, value in zip(*old, strict=True):
            if fingerprint == _EMPTY:
                continue
            slot = (fingerprint >> _SHARD_BITS) % size
            while fingerprints[slot] != _EMPTY:
                slot = slot + 1 if slot + 1 < size else 0
            fingerprints[slot], checks[slot], values[slot] = fingerprint, check, value
        self.fingerprints, self.checks, self.values, self.size = fingerprints, checks, values, size


def _columns(slots: int) -> tuple[array[int], array[int], array[int]]:
    """Zeroed columns: 64-bit hashes, 16-bit checks, 32-bit values."""
    # Repeated from one zero, so no zeroed bytes object is made first and thrown away: a
    # million keys' worth of those left the heap 4 MB larger than the table.
    return array("q", [0]) * slots, array("H", [0]) * slots, array("i", [0]) * slots


class Statuses:
    """What a journal says of each key it holds (``sent``, ``failed``...), in a ``KeyTable``:
    ~21 bytes a key where a dict of strings costs ~130, for a resume that reads a million
    records. A mapping that cannot list its keys (it keeps none); equal to a dict that holds
    the same keys and statuses."""

    __slots__ = ("_table",)

    def __init__(self, items: Mapping[str, Status] | None = None, expected: int = 0) -> None:
        self._table = KeyTable(expected or len(items or {}))
        for key, status in (items or {}).items():
            self[key] = status

    def __setitem__(self, key: str, status: Status) -> None:
        self._table[key] = _STATUS_CODES[status]

    def get(self, key: str, default: Status | None = None) -> Status | None:
        code = self._table.get(key)
        return default if code is None else STATUSES[code]

    def __getitem__(self, key: str) -> Status:
        status = self.get(key)
        if status is None:
            raise KeyError(key)
        return status

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._table

    def __len__(self) -> int:
        return len(self._table)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(self.get(k) == v for k, v in other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Statuses(<{len(self):,} keys>)"


_STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}


class KeyCounts:
    """How many rows or records of each key there are (``counts[key]``, 0 for a key never
    counted; ``counts.add(key)``), in a ``KeyTable``: the rows that share a key (twins,
    identical invalid rows, rows withheld) of a run or of a journal. A ``Counter`` costs ~180
    bytes a key, and an input whose every row is invalid (a wrong column) has a key a row.
    Equal to a mapping of the same counts; it cannot list its keys."""

    __slots__ = ("_table",)

    def __init__(self) -> None:
        self._table = KeyTable()

    def add(self, key: str) -> int:
        """Count one more of ``key``; its count now."""
        earlier = self._table.setdefault(key, 1)
        if earlier is None:
            return 1
        self._table[key] = earlier + 1
        return earlier + 1

    def __getitem__(self, key: str) -> int:
        return self._table.get(key) or 0

    def __len__(self) -> int:
        return len(self._table)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(self[k] == v for k, v in other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyCounts(<{len(self):,} keys>)"
