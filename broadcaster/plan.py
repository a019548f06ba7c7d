"""From a row as read to a message the API accepts, or the reasons it cannot be sent.

Pure functions, no I/O. The rules are the API's (ARCHITECTURE.md, "The API"): one target
family; content present; ``list_id`` broadcasts carry ``local_id``; ``media_url`` is http(s);
``private`` is a boolean; ``inbox_id`` and ``creator_id`` are positive integers. Command-line
defaults fill what a row leaves empty.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from broadcaster.columns import ANY_TARGET, REPLACES, TARGET_FIELDS, did_you_mean
from broadcaster.fields import (
    FieldError,
    Problem,
    check_text,
    is_blank,
    merge_value,
    parse_bool,
    parse_int,
    parse_list,
    parse_text,
)
from broadcaster.idempotency import check_local_id, derive_key
from broadcaster.phones import DEFAULT_REGION, normalize_phone
from broadcaster.record import Record
from broadcaster.segments import segment_count
from broadcaster.template import MissingFields, render

# The order fields take in a request body: ids, target, content, extras.
_BODY_ORDER = (
    "inbox_id", "creator_id", "phone_number", "chat_id", "list_id", "targets", "text",
    "media_url", "template_id", "survey_id", "private", "author", "activity_id",
)  # fmt: skip
_INTEGER_FIELDS = ("inbox_id", "creator_id", "chat_id", "list_id", "template_id", "survey_id")
_CONTENT_FIELDS = ("text", "media_url", "template_id", "survey_id")
_URL_SCHEMES = ("http", "https")
_DEFAULTED = ("inbox_id", "creator_id", "text", "media_url", "template_id")


@dataclass(frozen=True, slots=True)
class Defaults:
    """What the command line supplies: the campaign, and values for rows that leave them empty."""

    campaign: str
    inbox_id: int | None = None
    creator_id: int | None = None
    text: str | None = None
    media_url: str | None = None
    template_id: int | None = None
    region: str = DEFAULT_REGION  # where a number written without + is read first
    # The values above that fill an empty field, by field: built once, read for every row.
    fallbacks: Mapping[str, object] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given = {name: getattr(self, name) for name in _DEFAULTED}
        fallbacks = {name: value for name, value in given.items() if value is not None}
        object.__setattr__(self, "fallbacks", fallbacks)


@dataclass(frozen=True, slots=True)
class Message:
    """A row ready to send: the request body (``local_id`` included) and its key."""

    line: int
    key: str
    body: Mapping[str, object]
    # The message's derived key, when the row's own local_id is its key instead: it tells a
    # local_id reused for another message from a twin row, in this run and across runs.
    digest: str | None = None
    replaces: str | None = None  # the key of the record this row fixes (a --failed-csv row)

    @property
    def own_local_id(self) -> bool:
        return self.digest is not None

    @property
    def family(self) -> str:
        body = self.body
        for name in TARGET_FIELDS:
            if name in body:
                return name
        raise AssertionError("a message has a target")  # plan never makes one without

    @property
    def kind(self) -> str:
        """``private`` note, ``mms`` (has media) or ``sms``."""
        if self.body.get("private") is True:
            return "private"
        return "mms" if "media_url" in self.body else "sms"

    @property
    def segments(self) -> int:
        text = self.body.get("text")
        return segment_count(text) if self.kind == "sms" and isinstance(text, str) else 0


@dataclass(frozen=True, slots=True)
class Invalid:
    """A row that cannot be sent, keyed by its content so it is recorded once."""

    line: int
    key: str
    problems: tuple[Problem, ...]
    replaces: str | None = None

    @property
    def reason(self) -> str:
        return "; ".join(str(problem) for problem in self.problems)


Planned = Message | Invalid


def plan(record: Record, defaults: Defaults) -> Planned:
    """Validate, fill, render and key one row."""
    if record.problem is not None:
        return _invalid(record, defaults, [record.problem])
    fields = record.fields
    problems: list[Problem] = []
    given: set[str] = set()
    body = _body(fields, defaults, given, problems)
    own = None
    try:
        own = own_local_id(fields)
    except FieldError as exc:
        problems.append(Problem("local_id", str(exc)))
    problems.extend(_rule_problems(body, given, fields))
    if problems:
        return _invalid(record, defaults, problems)
    key = derive_key(defaults.campaign, body)
    replaces = _replaces(fields) if REPLACES in fields else None
    if own is None:
        body["local_id"] = key
        return Message(record.line, key, body, replaces=replaces)
    body["local_id"] = own
    return Message(record.line, own, body, key, replaces)


def _replaces(fields: Mapping[str, object]) -> str | None:
    """A ``replaces`` column (``report --failed-csv`` writes it): the key of the record this
    row fixes. Not sent; the outcome records it, so the report counts the row once."""
    value = fields.get(REPLACES)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _body(
    fields: Mapping[str, object], defaults: Defaults, given: set[str], problems: list[Problem]
) -> dict[str, object]:
    """The request body in its order, each field the row's or, left empty, the default's;
    ``given`` gains every field with a value, parsed or not."""
    body: dict[str, object] = {}
    fallbacks = defaults.fallbacks
    for name in _fields_of_body(tuple(fields), tuple(fallbacks)):
        raw = fields.get(name)
        if raw is None or is_blank(raw):
            raw = fallbacks.get(name)
            if raw is None or is_blank(raw):
                continue
        given.add(name)
        try:
            body[name] = _PARSERS[name](raw, fields, defaults)
        except FieldError as exc:
            problems.append(Problem(name, str(exc)))
        except MissingFields as exc:
            problems.append(Problem(name, str(exc)))
    return body


@functools.lru_cache(maxsize=64)
def _fields_of_body(columns: tuple[str, ...], defaulted: tuple[str, ...]) -> tuple[str, ...]:
    """The body's fields a row with these columns may have, in the body's order: a CSV's rows
    all have the header's, so the thirteen the API takes are narrowed once, not every row."""
    return tuple(name for name in _BODY_ORDER if name in columns or name in defaulted)


def own_local_id(fields: Mapping[str, object]) -> str | None:
    """The row's own ``local_id`` (text, or a JSON integer), or None when it has none."""
    own = fields.get("local_id")
    if is_blank(own):
        return None
    if isinstance(own, bool) or not isinstance(own, str | int):
        kinds = {bool: "true or false", float: "a fractional number", list: "an array"}
        raise FieldError(f"expected text, got {kinds.get(type(own), 'an object')}")
    text = str(own).strip()
    reason = check_local_id(text)
    if reason is not None:
        raise FieldError(reason)
    return text


def _phone(raw: object, fields: Mapping[str, object], defaults: Defaults) -> str:  # noqa: ARG001
    return normalize_phone(parse_text(raw), defaults.region)


def _targets(raw: object, fields: Mapping[str, object], defaults: Defaults) -> list[str]:  # noqa: ARG001
    return [normalize_phone(item, defaults.region) for item in parse_list(raw)]


def _integer(raw: object, fields: Mapping[str, object], defaults: Defaults) -> int:  # noqa: ARG001
    return parse_int(raw)


def _boolean(raw: object, fields: Mapping[str, object], defaults: Defaults) -> bool:  # noqa: ARG001
    return parse_bool(raw)


def _plain(raw: object, fields: Mapping[str, object], defaults: Defaults) -> str:  # noqa: ARG001
    return parse_text(raw)


def _text(raw: object, fields: Mapping[str, object], defaults: Defaults) -> str:  # noqa: ARG001
    rendered = render(parse_text(raw), _lookup(fields))
    check_text(rendered)  # after rendering: a merge value can bring a control character too
    return rendered


def _media_url(raw: object, fields: Mapping[str, object], defaults: Defaults) -> str:  # noqa: ARG001
    return render(parse_text(raw), _lookup(fields)).strip()


# How each field of the body is read, from a cell (or a JSON value) to the value sent.
_PARSERS: dict[str, Callable[[object, Mapping[str, object], Defaults], object]] = {
    **dict.fromkeys(_INTEGER_FIELDS, _integer),
    "phone_number": _phone,
    "targets": _targets,
    "private": _boolean,
    "text": _text,
    "media_url": _media_url,
    "author": _plain,
    "activity_id": _plain,
}


def _lookup(fields: Mapping[str, object]) -> Callable[[str], str | None]:
    def lookup(name: str) -> str | None:
        try:
            return merge_value(fields.get(name))
        except FieldError as exc:
            raise FieldError(f"{{{{{name}}}}}: {exc}") from None

    return lookup


def _rule_problems(
    body: Mapping[str, object], given: set[str], fields: Mapping[str, object]
) -> list[Problem]:
    """The rules across fields; a field given but unparsable is already reported."""
    return [] if _sendable_as_is(body, given) else _each_rule(body, given, fields)


def _each_rule(
    body: Mapping[str, object], given: set[str], fields: Mapping[str, object]
) -> list[Problem]:
    problems: list[Problem] = []
    for name in ("inbox_id", "creator_id"):
        if name not in given:
            option = name.replace("_", "-")
            problems.append(Problem(name, f"missing (add a column {name}, or pass --{option})"))
    targets = [name for name in TARGET_FIELDS if name in given]
    if not targets:
        hint = did_you_mean(fields)  # a column meant as the target, misnamed
        reason = f"no target: give {ANY_TARGET}"
        problems.append(Problem("row", f"{reason}; {hint}" if hint else reason))
    elif len(targets) > 1:
        problems.append(
            Problem(targets[1], f"give only one target, not both {' and '.join(targets)}")
        )
    if body.get("targets") == []:
        problems.append(Problem("targets", "the list of phone numbers is empty"))
    if not any(name in given and body.get(name) != "" for name in _CONTENT_FIELDS):
        problems.append(
            Problem("row", "no content: give text, media_url, template_id or survey_id (or --text)")
        )
    url = body.get("media_url")
    if isinstance(url, str):
        parts = urlsplit(url)
        if parts.scheme.lower() not in _URL_SCHEMES or not parts.netloc:
            problems.append(Problem("media_url", f"{url!r} is not an http(s) URL"))
    return problems


def _sendable_as_is(body: Mapping[str, object], given: set[str]) -> bool:
    """The common row, told in a few lookups: both ids, one target that is not an empty list,
    text, and no media_url to check. Anything else takes the rules one by one."""
    return (
        given >= _IDS
        and len(given & _TARGETS) == 1
        and body.get("targets") != []
        and bool(body.get("text"))
        and "media_url" not in given
    )


_IDS = frozenset(("inbox_id", "creator_id"))
_TARGETS = frozenset(TARGET_FIELDS)


def _invalid(record: Record, defaults: Defaults, problems: list[Problem]) -> Invalid:
    fingerprint: dict[str, object] = {
        "invalid-row": dict(record.fields),
        "problems": [str(p) for p in problems],
    }
    if record.problem is not None:
        fingerprint["line"] = record.line  # an unreadable row has no content to key on
    key = derive_key(defaults.campaign, fingerprint)
    return Invalid(record.line, key, tuple(problems), _replaces(record.fields))
