"""The API's documented rules for a ``POST /v1/message/send`` body, checked independently of
the client's own plan (so the sandbox catches what the plan lets through)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_E164_DIGITS = re.compile(r"[1-9]\d{10,14}")
_INTEGERS = ("inbox_id", "creator_id", "chat_id", "list_id", "template_id", "survey_id")
_STRINGS = ("text", "media_url", "local_id", "activity_id", "author", "phone_number")
_CONTENT = ("text", "media_url", "template_id", "survey_id")


def body_problem(body: Mapping[str, object]) -> tuple[str, str] | None:
    """The first ``(field, reason)`` that makes the body invalid, or None."""
    for check in (_types, _required, _target, _content, _formats):
        problem = check(body)
        if problem is not None:
            return problem
    return None


def _types(body: Mapping[str, object]) -> tuple[str, str] | None:
    for name in _INTEGERS:
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return name, "must be an integer"
    for name in _STRINGS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            return name, "must be a string"
    if body.get("private") is not None and not isinstance(body.get("private"), bool):
        return "private", "must be a boolean"
    targets = body.get("targets")
    if targets is not None and not (
        isinstance(targets, list) and all(isinstance(item, str) for item in targets)
    ):
        return "targets", "must be an array of phone numbers"
    return None


def _required(body: Mapping[str, object]) -> tuple[str, str] | None:
    for name in ("inbox_id", "creator_id"):
        if body.get(name) is None:
            return name, "is required"
    return None


def _target(body: Mapping[str, object]) -> tuple[str, str] | None:
    given = [name for name in ("phone_number", "chat_id", "list_id", "targets") if body.get(name)]
    if not given:
        return "phone_number", "provide one of phone_number, chat_id, list_id or targets"
    if len(given) > 1:
        return given[1], f"provide only one of {', '.join(given)}"
    if given == ["list_id"] and not body.get("local_id"):
        return "local_id", "is required with list_id"
    return None


def _content(body: Mapping[str, object]) -> tuple[str, str] | None:
    if not any(body.get(name) for name in _CONTENT):
        return "text", "provide text, media_url, template_id or survey_id"
    return None


def _formats(body: Mapping[str, object]) -> tuple[str, str] | None:
    numbers = [body["phone_number"]] if body.get("phone_number") else body.get("targets") or []
    for number in numbers:  # type: ignore[attr-defined]
        if not _E164_DIGITS.fullmatch(str(number)):
            return "phone_number", f"{number!r} is not E.164 digits without '+'"
    url = body.get("media_url")
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "media_url", "must be a public http(s) URL"
    return None
