"""Parsing one input field from what a CSV cell (a string) or a JSON value holds.

Each parser returns the typed value or raises ``FieldError`` with the reason; the plan turns
that into an invalid row naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from broadcaster.limits import MAX_TEXT_CHARS

_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
_MAX_INT = 2**63 - 1
_SHOWN_CHARS = 40
# C0 controls but tab, line feed and carriage return; DEL; C1 controls; lone surrogates.
_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_C0_NAMES = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US",
)  # fmt: skip
_DEL = 0x7F
_C1_LAST = 0x9F


class FieldError(ValueError):
    """A field's value cannot be used; the message is the reason a user reads."""


def is_blank(value: object) -> bool:
    """An absent value: JSON null, or a cell holding only white space."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_int(value: object) -> int:
    """A positive integer id, from ``42``, ``"42"`` or ``" 42 "``."""
    if isinstance(value, bool):
        raise FieldError(f"expected an integer, got {shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise FieldError(f"expected an integer, got {shown(value)}")
    if number <= 0:
        raise FieldError(f"expected a positive integer, got {number}")
    if number > _MAX_INT:
        raise FieldError(f"{number} is too large for an id")
    return number


def parse_bool(value: object) -> bool:
    """``true/false/yes/no/1/0`` (any case), or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise FieldError(f"expected true or false, got {shown(value)}")


def parse_text(value: object) -> str:
    """A string field; JSON numbers are accepted and written as they were."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise FieldError(f"expected text, got {shown(value)}")


def parse_list(value: object) -> list[str]:
    """``targets``: a JSON array, a cell holding one, or a ``;``-separated cell."""
    if isinstance(value, list):
        items: list[object] = value
    elif isinstance(value, str) and value.strip().startswith("["):
        try:
            loaded = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise FieldError(f"not a valid JSON array ({exc})") from None
        if not isinstance(loaded, list):
            raise FieldError("expected a JSON array")
        items = loaded
    elif isinstance(value, str):
        items = [part for part in value.split(";") if part.strip()]
    else:
        raise FieldError(f"expected a list of phone numbers, got {shown(value)}")
    return [parse_text(item) for item in items]


def merge_value(value: object) -> str | None:
    """A merge variable's text, or None when the field is empty or absent."""
    if type(value) is str:  # a CSV cell: the common case, first
        return value if value.strip() else None
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise FieldError("a merge field must be text or a number, not a list or an object")


def check_text(text: str) -> None:
    """Raise ``FieldError`` for text no phone shows as written.

    That is a control character (C0 but tab and line breaks, DEL, C1), a lone surrogate (from
    undecodable input), or more than ``MAX_TEXT_CHARS`` characters (code points).
    """
    bad = _UNSENDABLE.search(text)
    if bad is not None:
        code = ord(bad.group())
        where = f"U+{code:04X} at character {bad.start() + 1}"
        if code > _C1_LAST:
            raise FieldError(
                f"contains {where}, a lone surrogate (undecodable input: is it UTF-8?)"
            )
        raise FieldError(f"contains a control character {where} ({_control_name(code)})")
    if len(text) > MAX_TEXT_CHARS:
        raise FieldError(f"is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}")


def _control_name(code: int) -> str:
    if code < len(_C0_NAMES):
        return _C0_NAMES[code]
    if code == _DEL:
        return "DEL"
    try:
        meant = bytes([code]).decode("cp1252")
    except UnicodeDecodeError:
        return "a C1 control"
    return f"a C1 control, perhaps {meant!r} mis-converted from Windows-1252"


def shown(value: object) -> str:
    """A value as a message quotes it: cut at 40 characters, whatever its length."""
    text = repr(value) if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row is invalid: the field at fault (or ``row``) and the reason."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"
