"""Column names: the API's fields, and the names people give them in a CSV header or JSONL keys.

Names are matched forgivingly: ``Phone Number``, ``PHONE-NUMBER`` and ``phone_number`` are all
the API's ``phone_number``. Other names (merge variables) are kept as written, trimmed.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

API_FIELDS = frozenset(
    {
        "phone_number", "chat_id", "list_id", "targets", "text", "media_url", "template_id",
        "survey_id", "private", "author", "activity_id", "inbox_id", "creator_id", "local_id",
    }
)  # fmt: skip
TARGET_FIELDS = ("phone_number", "chat_id", "list_id", "targets")
# Not sent: the key of the record a row fixes, in a file report --failed-csv wrote.
REPLACES = "replaces"

# What a column or key is named in the user's words, and the API field meant.
_SYNONYMS = {
    **dict.fromkeys(
        ("phone", "mobile", "cell", "cellphone", "cell_phone", "mobile_phone", "mobile_number",
         "cell_number", "phone_no", "number", "msisdn", "to", "tel", "telephone"),
        "phone_number",
    ),
    **dict.fromkeys(("message", "body", "sms", "msg", "message_text"), "text"),
}  # fmt: skip
_SEPARATORS = re.compile(r"[\s_-]+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_HINT_CUTOFF = 0.8
_HINT_NAME_CHARS = 40  # no API field is longer; longer names are not worth comparing
_MAX_HINTS = 5
_CACHED_NAME_CHARS = 64


def field_name(name: str) -> str:
    """An API field's name, matched in any case with spaces, dashes or underscores between its
    words (``Phone Number``); any other name trimmed, as written."""
    if len(name) <= _CACHED_NAME_CHARS:
        return _field_name(name)
    return _uncached_field_name(name)


def _uncached_field_name(name: str) -> str:
    name = name.strip()
    if name in API_FIELDS:
        return name
    key = _SEPARATORS.sub("_", name.lower())
    return key if key in API_FIELDS else name


_field_name = functools.lru_cache(maxsize=1024)(_uncached_field_name)


def named_twice(names: Iterable[str]) -> tuple[str, str, str] | None:
    """The first field two of the names stand for (``phone_number`` and ``Phone Number``), and
    those two names as written; None when each names its own. Unnamed ones may repeat."""
    written: dict[str, str] = {}
    for name in names:
        field = field_name(name)
        if field and field in written:
            return field, written[field], name
        written[field] = name
    return None


def did_you_mean(names: Iterable[str]) -> str | None:
    """``did you mean phone_number for 'phone'?`` for the names that look like an API field
    missing from them, when one of those is a target; else None."""
    names = list(names)
    present = {field_name(name) for name in names}
    guesses: dict[str, list[str]] = {}
    for name in names:
        guess = _guess(name)
        if guess is not None and guess not in present:
            guesses.setdefault(guess, []).append(repr(name.strip()))
    if guesses.keys().isdisjoint(TARGET_FIELDS):
        return None
    meant = [f"{guess} for {_and(shown[:_MAX_HINTS], 'or')}" for guess, shown in guesses.items()]
    return f"did you mean {_and(meant[:_MAX_HINTS])}?"


def _guess(name: str) -> str | None:
    if len(name) > _HINT_NAME_CHARS or field_name(name) in API_FIELDS:
        return None
    word = _NOT_WORD.sub("_", name.lower()).strip("_")
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    close = difflib.get_close_matches(word, sorted(API_FIELDS), n=1, cutoff=_HINT_CUTOFF)
    return close[0] if close else None


def _and(items: Iterable[str], last: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


# The targets in words, for the messages that ask for one of them.
ANY_TARGET = _and(TARGET_FIELDS, "or")
