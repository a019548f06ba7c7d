"""The account's inboxes as ``GET /v1/inboxes`` gives them: read, normalised, and shown.

Pure: the client fetches, the ``inboxes`` command prints. The API documents an array of inbox
objects (``id``, ``name``, ``phone``, ``phones``, ``members`` of ``{id, name}``, and more); one
guide shows the array wrapped as ``{"inboxes": [...]}``. Both are read. A field that is missing
or of an unexpected type becomes None (``-`` in the table, null in JSON): the list is read to
find ids, and one odd field must not hide the rest. A payload that is not a list of objects is
another API than the one documented, and an error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from broadcaster.errors import ApiError

_HEADINGS = ("INBOX ID", "NAME", "PHONE", "MEMBER ID", "MEMBER")
_NONE = "-"
_SHOWN_KEYS = 5


@dataclass(frozen=True, slots=True)
class Member:
    """A member of an inbox: its id is what ``creator_id`` takes."""

    id: int | None
    name: str | None

    def record(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True, slots=True)
class Inbox:
    id: int | None
    name: str | None
    phone: str | None
    members: tuple[Member, ...]

    def record(self) -> dict[str, object]:
        members = [member.record() for member in self.members]
        return {"id": self.id, "name": self.name, "phone": self.phone, "members": members}


def parse_inboxes(payload: object) -> tuple[Inbox, ...]:
    """The inboxes of an answer; ApiError when it is not a list of objects."""
    if isinstance(payload, dict) and "inboxes" in payload:
        payload = payload["inboxes"]
    if not isinstance(payload, list):
        raise ApiError(
            'the API\'s inbox list is not an array of inboxes (nor {"inboxes": [...]}): it is '
            + _kind(payload)
        )
    return tuple(_inbox(item, position) for position, item in enumerate(payload, 1))


def _inbox(item: object, position: int) -> Inbox:
    if not isinstance(item, dict):
        raise ApiError(f"inbox {position} of the API's list is {_kind(item)}, not an object")
    members = item.get("members") or []
    if not isinstance(members, list):
        raise ApiError(
            f"the members of inbox {position} of the API's list are {_kind(members)}, not an array"
        )
    return Inbox(
        _id(item.get("id")),
        _text(item.get("name")),
        _phone(item),
        tuple(_member(member, position) for member in members),
    )


def _member(item: object, inbox: int) -> Member:
    if not isinstance(item, dict):
        raise ApiError(
            f"a member of inbox {inbox} of the API's list is {_kind(item)}, not an object"
        )
    return Member(_id(item.get("id")), _text(item.get("name")))


def _phone(item: dict[str, object]) -> str | None:
    """``phone``, else the first of ``phones`` (numbers, or objects that carry a ``phone``)."""
    phone = _text(item.get("phone"))
    phones = item.get("phones")
    if phone is not None or not isinstance(phones, list):
        return phone
    for each in phones:
        number = _text(each.get("phone") if isinstance(each, dict) else each)
        if number is not None:
            return number
    return None


def _id(value: object) -> int | None:
    """An integer id; digits in a string are read as one (ids are documented as integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def _text(value: object) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # a phone number given as a JSON number
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _kind(value: object) -> str:
    """What a JSON value is, for a message; an object's first keys say which API answered."""
    if isinstance(value, dict):
        keys = ", ".join(repr(str(key)) for key in list(value)[:_SHOWN_KEYS])
        more = ", ..." if len(value) > _SHOWN_KEYS else ""
        return f"an object with keys {keys}{more}" if value else "an empty object"
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def table(inboxes: Sequence[Inbox]) -> str:
    """Aligned columns, one line per member; the inbox's own columns on its first line only."""
    if not inboxes:
        return "no inboxes\n"
    rows = [_HEADINGS, *(row for inbox in inboxes for row in _rows(inbox))]
    widths = [max(_width(row[column]) for row in rows) for column in range(len(_HEADINGS))]
    lines = [_line(row, widths) for row in rows]
    return "\n".join([*lines, "", _footer(inboxes)]) + "\n"


def _rows(inbox: Inbox) -> list[tuple[str, ...]]:
    own = (_cell(inbox.id), _cell(inbox.name), _cell(inbox.phone))
    if not inbox.members:
        return [(*own, _NONE, _NONE)]
    blank = ("", "", "")
    return [
        (*(own if index == 0 else blank), _cell(member.id), _cell(member.name))
        for index, member in enumerate(inbox.members)
    ]


def _footer(inboxes: Sequence[Inbox]) -> str:
    text = "use --inbox-id N and --creator-id N (a member id of that inbox)"
    for inbox in inboxes:
        member = next((member for member in inbox.members if member.id is not None), None)
        if inbox.id is not None and member is not None:
            return f"{text}, e.g. --inbox-id {inbox.id} --creator-id {member.id}"
    return text


def _cell(value: int | str | None) -> str:
    """A value as shown: ``-`` for none; control characters (a newline, a terminal escape from
    a name) replaced, so that each row stays one line and the terminal stays as it was."""
    if value is None:
        return _NONE
    text = str(value)
    return "".join("\N{REPLACEMENT CHARACTER}" if _is_control(char) else char for char in text)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _width(text: str) -> int:
    """Columns on a terminal: wide (CJK) characters take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _line(row: Sequence[str], widths: Sequence[int]) -> str:
    cells = (cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True))
    return "  ".join(cells).rstrip()
