"""The rows a journal settled, known by their line: a resumed run need not plan them again.

A campaign resumed at row 900,000 of a million read, planned and keyed every row before it
only for triage to find each one's record: well over a minute before its first message left.
Yet when the input is the one the journal's runs read (the same SHA-256, read the same way,
by this version, with every option that shapes a message unchanged), the record of a row that
was sent, failed, or skipped as a duplicate holds the row's message key, and the key is all
triage needs to settle such a row whose record is plain (no fix, no digest, no doubt, no
reason: ``PLAIN_OUTCOME``).

So a scan of the journal keeps, for each line with such records, the key and what the row
was: its message's first row (``sent``, ``failed``) or a duplicate of one (``skipped``).
``Triage.settled_row`` settles the row with them as ``decide`` would, or declines, changing
nothing, whenever the row needs more than its key; the row is then planned in full. Not kept,
and so planned in full:

- a line with records that disagree (two keys, or two kinds), or with any other outcome record
  (a fix, a withheld row, one in doubt);
- an invalid row: what made it invalid may be gone (``--tz-fallback`` given since, newer
  number ranges), and a row the send window refused is recorded invalid under its message's
  key, which its twins need triage to have met;
- a row numbered far past the records before it (``finished.plausible_row``: a damaged or
  hand-edited journal must not make the scan hold a byte for every line up to it).

Each key is kept as its 18 bytes (24 URL-safe base64 characters), in arrays trimmed to the
last line kept: 19 bytes a line of the input, until the first pass over it ends. The scan
(``SettledScan``) rides along with the read of the journal's state (``Journal.open``'s
``tap``): one pass over the journal, not two.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from broadcaster.finished import of_this_input, plausible_row
from broadcaster.journal import RUN_START, read_state
from broadcaster.triage import RowKind

# The settings a message's key is made of (plan.Defaults but the creator, who sends it: not
# what is sent; whether one is given decides whether a row is valid, so that is compared too).
# An invalid row, which other settings may make valid, is never kept.
SHAPING = ("campaign", "inbox_id", "text", "media_url", "template_id", "region")
CREATOR = "creator_id"

_KEY_BYTES = 18
_KEY_CHARS = 4 * _KEY_BYTES // 3
# URL-safe base64 to the standard alphabet for binascii; the standard's own + and / are not
# URL-safe, so they become a byte the strict decode refuses.
_FROM_URLSAFE = bytes.maketrans(b"-_+/", b"+/**")
_KINDS: dict[bytes, int] = {b"sent": 1, b"failed": 1, b"skipped": 2}
_NAMES: dict[int, RowKind] = {1: "message", 2: "duplicate"}
_UNKNOWN = 255  # records that disagree, an invalid row's, one that is not plain: planned


class SettledLines:
    """``lines.get(line)``: the key and kind of the row at ``line``, or None."""

    __slots__ = ("_keys", "_kinds")

    def __init__(self) -> None:
        self._kinds = bytearray()  # by line: 0 none, 1-2 a kind, 255 unknown
        self._keys = bytearray()  # by line: 18 bytes

    def __len__(self) -> int:
        return sum(1 for kind in self._kinds if kind in _NAMES)

    @property
    def lines(self) -> int:
        """The lines it has room for (0 to the last line kept)."""
        return len(self._kinds)

    def get(self, line: int) -> tuple[str, RowKind] | None:
        if not 0 <= line < len(self._kinds):
            return None
        kind = _NAMES.get(self._kinds[line])
        if kind is None:
            return None
        start = line * _KEY_BYTES
        return base64.urlsafe_b64encode(self._keys[start : start + _KEY_BYTES]).decode(), kind

    def note(self, line: int, status: bytes, key: bytes) -> None:
        """A plain record of the row at ``line``."""
        raw = _raw_key(key)
        if raw is None or status not in _KINDS:
            self.unknown(line)
            return
        self._reach(line)
        start = line * _KEY_BYTES
        kind, was = _KINDS[status], self._kinds[line]
        if was == 0:
            self._kinds[line] = kind
            self._keys[start : start + _KEY_BYTES] = raw
        elif was != kind or self._keys[start : start + _KEY_BYTES] != raw:
            self._kinds[line] = _UNKNOWN

    def unknown(self, line: int) -> None:
        """A record of the row at ``line`` the scan cannot settle it by."""
        if line >= 0:
            self._reach(line)
            self._kinds[line] = _UNKNOWN

    def trim(self) -> None:
        """Drop the room grown past the last line kept."""
        last = len(self._kinds.rstrip(b"\x00"))
        del self._kinds[last:]
        del self._keys[last * _KEY_BYTES :]

    def _reach(self, line: int) -> None:
        if line >= len(self._kinds):
            grown = max(line + 1, len(self._kinds) * 3 // 2)
            self._kinds.extend(bytes(grown - len(self._kinds)))
            self._keys.extend(bytes(grown * _KEY_BYTES - len(self._keys)))


class SettledScan:
    """The scan, a line at a time: a ``journal.LineTap``, so that it can ride along with the
    read of the journal's state (``Journal.open``), or run on its own (``settled_lines``)."""

    __slots__ = ("_digest", "_fmt", "_ours", "_records", "_shaping", "settled")

    def __init__(self, digest: str, fmt: str | None, shaping: Mapping[str, object]) -> None:
        self._digest, self._fmt, self._shaping = digest, fmt, shaping
        self.settled = SettledLines()
        self._ours = False  # whether the records that follow are of a run of this input
        self._records = 0

    def __call__(
        self, line: bytes, plain: re.Match[bytes] | None, record: dict[str, Any] | None
    ) -> None:
        """A line that is not an attempt marker: its plain match, or else its parse."""
        if record is not None and line.startswith(RUN_START):
            self._ours = _shaped_alike(record, self._digest, self._fmt, self._shaping)
            return
        row = int(plain["row"]) if plain is not None else _row(record)
        if row is None:
            self._ours = self._ours and not line.startswith(RUN_START)  # a torn header: whose?
            return
        self._records += 1
        if not self._ours or not plausible_row(row, self._records):
            return
        if plain is not None:
            self.settled.note(row, plain["status"], plain["key"])
        else:
            self.settled.unknown(row)

    def result(self) -> SettledLines:
        self.settled.trim()
        return self.settled


def settled_lines(
    lines: Iterable[bytes], digest: str, fmt: str | None, shaping: Mapping[str, object]
) -> SettledLines:
    """The lines settled by the journal's runs of this input (``digest``, read as ``fmt``:
    ``reader.read_as``) made with these ``shaping`` settings; other runs' records are not
    looked at. The scan as a run makes it: riding along with the read of the state."""
    scan = SettledScan(digest, fmt, shaping)
    read_state(lines, tap=scan)
    return scan.result()


def _row(record: dict[str, object] | None) -> int | None:
    """An outcome record's row, or None for any other line."""
    if record is None or record.get("status") is None:
        return None
    row = record.get("row")
    return row if type(row) is int and row > 0 else None


def _shaped_alike(
    header: Mapping[str, object], digest: str, fmt: str | None, shaping: Mapping[str, object]
) -> bool:
    settings = header.get("settings")
    return (
        of_this_input(header, digest, fmt)
        and isinstance(settings, dict)
        and all(name in settings and settings[name] == shaping[name] for name in SHAPING)
        and (settings.get(CREATOR) is None) == (shaping.get(CREATOR) is None)
    )


def _raw_key(key: bytes) -> bytes | None:
    """A key's 18 bytes, if it is 24 URL-safe base64 characters that say them (a row's own
    local_id may be any other text: its row is planned in full). 24 characters hold 18 bytes
    with no bit to spare, so any 24 of the alphabet say exactly one; the strict decode refuses
    any other character (``+`` and ``/`` among them, mapped out of the alphabet first)."""
    if len(key) != _KEY_CHARS:
        return None
    try:
        raw = binascii.a2b_base64(key.translate(_FROM_URLSAFE), strict_mode=True)
    except binascii.Error:
        return None
    return raw if len(raw) == _KEY_BYTES else None
