"""``GET /v1/messages``, a conversation's history, apart from HTTP: its query read, and a
committed message shown as the API's Message object.

The query is ``phoneNumber`` (digits, required), ``inboxID`` (an integer, required) and
``timestamp`` (optional unix seconds: only messages dated strictly before it). The answer is an
array of at most ``HISTORY_PAGE`` messages, newest first; each is::

    {"id": 7, "local_id": "k1" | null, "date": "2026-05-28T20:26:40+00:00",
     "phone": "14155550100", "text": "Hi" | null, "status": "sent", "type": "text" | "media",
     "broadcast_id": null, "conversation": {"id": 1, "inbox": 101, "target": "14155550100"}}

``id`` and ``date`` are those the send answered with (``date`` to the second, as there);
``conversation.id`` is the same for every message to one phone from one inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broadcaster.sandbox.state import Committed, Conversation

HISTORY_PAGE = 50
"""The most messages one request returns, as the API documents."""

_MAX_DIGITS = 18  # beyond any id or time; int() of thousands of digits raises, or takes long


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    phone: str
    inbox: int
    before: int | None


def read_query(query: Mapping[str, str]) -> HistoryQuery | tuple[str, str]:
    """The query, or the first ``(parameter, reason)`` that makes it bad data."""
    phone, inbox, before = (query.get(name, "") for name in ("phoneNumber", "inboxID", "timestamp"))
    for name, value in (("phoneNumber", phone), ("inboxID", inbox)):
        if not value:
            return name, "is required"
    if not _digits(phone):
        return "phoneNumber", f"{phone!r} is not digits"
    if not _digits(inbox, _MAX_DIGITS):
        return "inboxID", f"{inbox!r} is not an integer"
    if before and not _digits(before, _MAX_DIGITS):
        return "timestamp", f"{before!r} is not unix seconds"
    return HistoryQuery(phone, int(inbox), int(before) if before else None)


def _digits(text: str, most: int | None = None) -> bool:
    return text.isascii() and text.isdigit() and (most is None or len(text) <= most)


def message_json(record: Committed, conversation: Conversation) -> dict[str, Any]:
    """A committed single send as ``GET /v1/messages`` shows it."""
    body = record.body
    return {
        "id": record.id,
        "local_id": body.get("local_id") or None,
        "date": record.response["date"],
        "phone": conversation.target,
        "text": body.get("text"),
        "status": "sent",
        "type": "media" if body.get("media_url") else "text",
        "broadcast_id": None,
        "conversation": {
            "id": conversation.id,
            "inbox": conversation.inbox,
            "target": conversation.target,
        },
    }
