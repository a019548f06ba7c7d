"""From a row as read to a message the API accepts, or the reasons it cannot be sent.

Pure functions, no I/O. The rules are the API's (ARCHITECTURE.md, "The API"): one target
family; content present; ``list_id`` broadcasts carry ``local_id``; ``media_url`` is http(s);
``private`` is a boolean; ``inbox_id`` and ``creator_id`` are positive integers. Command-line
defaults fill what a row leaves empty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
        return next(name for name in TARGET_FIELDS if name in self.body)

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
    problems: list[Problem] = []
    values = _with_defaults(record.fields, defaults)
    given = {name for name in _BODY_ORDER if not is_blank(values.get(name))}
    body = _body(values, record.fields, defaults, problems)
    problems.extend(_rule_problems(body, given, record.fields))
    if problems:
        return _invalid(record, defaults, problems)
    own = own_local_id(record.fields)
    replaces = _replaces(record.fields)
    if own is None:
        key = derive_key(defaults.campaign, body)
        return Message(record.line, key, {**body, "local_id": key}, replaces=replaces)
    digest = derive_key(defaults.campaign, body)
    return Message(record.line, own, {**body, "local_id": own}, digest, replaces)


def _replaces(fields: Mapping[str, object]) -> str | None:
    """A ``replaces`` column (``report --failed-csv`` writes it): the key of the record this
    row fixes. Not sent; the outcome records it, so the report counts the row once."""
    value = fields.get(REPLACES)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _body(
    values: Mapping[str, object],
    fields: Mapping[str, object],
    defaults: Defaults,
    problems: list[Problem],
) -> dict[str, object]:
    body: dict[str, object] = {}
    for name in _BODY_ORDER:
        raw = values.get(name)
        if is_blank(raw):
            continue
        try:
            body[name] = _parse(name, raw, fields, defaults)
        except FieldError as exc:
            problems.append(Problem(name, str(exc)))
        except MissingFields as exc:
            problems.append(Problem(name, str(exc)))
    try:
        own_local_id(fields)
    except FieldError as exc:
        problems.append(Problem("local_id", str(exc)))
    return body


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


def _with_defaults(fields: Mapping[str, object], defaults: Defaults) -> dict[str, object]:
    values = dict(fields)
    for name in ("inbox_id", "creator_id", "text", "media_url", "template_id"):
        fallback = getattr(defaults, name)
        if is_blank(values.get(name)) and fallback is not None:
            values[name] = fallback
    return values


def _parse(name: str, raw: object, fields: Mapping[str, object], defaults: Defaults) -> object:
    if name in _INTEGER_FIELDS:
        return parse_int(raw)
    if name == "phone_number":
        return normalize_phone(parse_text(raw), defaults.region)
    if name == "targets":
        return [normalize_phone(item, defaults.region) for item in parse_list(raw)]
    if name == "private":
        return parse_bool(raw)
    if name in ("text", "media_url"):
        return _rendered(name, raw, fields)
    return parse_text(raw)


def _rendered(name: str, raw: object, fields: Mapping[str, object]) -> str:
    rendered = render(parse_text(raw), _lookup(fields))
    if name == "media_url":
        return rendered.strip()
    check_text(rendered)  # after rendering: a merge value can bring a control character too
    return rendered


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


def _invalid(record: Record, defaults: Defaults, problems: list[Problem]) -> Invalid:
    fingerprint: dict[str, object] = {
        "invalid-row": dict(record.fields),
        "problems": [str(p) for p in problems],
    }
    if record.problem is not None:
        fingerprint["line"] = record.line  # an unreadable row has no content to key on
    key = derive_key(defaults.campaign, fingerprint)
    return Invalid(record.line, key, tuple(problems), _replaces(record.fields))
