"""Rows in doubt, settled by asking: was a message whose answer was lost committed after all?

An attempt that reached the API and got no clear answer (a dropped connection after sending, a
timeout, a 5xx) may have been committed. The API promises de-duplication by ``local_id`` for
list broadcasts only, so before such a single send goes again, its conversation's history
(``GET /v1/messages?phoneNumber=…&inboxID=…``, newest first, 50 a page, older pages by
``timestamp``) is searched for its ``local_id``: found, the row is ``sent`` with that message's
id and no new request; not found, it is sent again with the same ``local_id``. Where the history
cannot answer (a list broadcast, a chat_id or group send, a failed lookup, a conversation with
more newer messages than ``PAGES`` pages hold), it is sent again with the same ``local_id``, as
before lookups: at least once.

Pure of HTTP: the client's ``messages`` reads one page (``Conversations``); this module pages
and matches.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from broadcaster.isotime import aware_time
from broadcaster.outcome import Reply

PAGE = 50  # the most messages a page holds, as the API documents
PAGES = 4  # pages read back before the lookup gives up: 200 messages newer than the attempt
# A message found dated this long before the first attempt is still taken for it: the API's
# clock and this machine's may disagree. Older, it is another send of the same key (the same
# campaign and message, sent again another day), not this one.
CLOCK_SKEW = 600


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a conversation, newest first, or why it could not be read (``failure``)."""

    messages: Sequence[Mapping[str, object]] = ()
    failure: Reply | None = None
    request_id: str | None = None


@runtime_checkable
class Conversations(Protocol):
    """Reads a conversation's history: the real client does, the tests' fakes do."""

    async def messages(self, phone: str, inbox: int, before: int | None) -> Page: ...


class Paced:
    """Conversations whose every page read first waits its turn (``wait``: the pacer's): a
    lookup is a request, under the same rate limit as the sends. ``left_at``: when the last
    one left (what a 429 to it is judged by)."""

    def __init__(
        self,
        conversations: Conversations,
        wait: Callable[[], Awaitable[float]],
        left: Callable[[float], object] = lambda _: None,
    ) -> None:
        self._conversations = conversations
        self._wait = wait
        self._left = left  # told when each page's request leaves
        self.left_at = 0.0

    async def messages(self, phone: str, inbox: int, before: int | None) -> Page:
        self.left_at = await self._wait()
        self._left(self.left_at)
        return await self._conversations.messages(phone, inbox, before)


@dataclass(frozen=True, slots=True)
class Found:
    """The message was committed: its id and date, and the lookup's request id."""

    id: int
    date: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class NotFound:
    """The conversation holds no message with this ``local_id``: it was not committed."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The history cannot tell (why): the message goes again with the same ``local_id``."""

    why: str
    failure: Reply | None = None  # a failed lookup's reply (a 429 pauses everyone)


Verdict = Found | NotFound | Unknown


def settling_left(since: str | None, timeout: float, now: float) -> float:
    """The seconds until an attempt made at ``since`` (an ISO time) has had ``timeout`` to be
    committed, at unix time ``now``: before then, a lookup that finds nothing proves nothing.
    0 when it has, or when its time is unknown."""
    first = unix_time(since)
    return 0.0 if first is None else max(0.0, first + timeout - now)


async def look_up_tries(  # noqa: PLR0913 - look_up's, and how to try again
    conversations: Conversations,
    body: Mapping[str, object],
    local_id: str,
    since: str | None,
    *,
    tries: int,
    before_again: Callable[[Reply, int], Awaitable[bool]],
) -> Verdict:
    """``look_up``, tried again while its page failed for a reason worth another try (a 429,
    a 5xx, no answer), up to ``tries`` times; ``before_again`` waits after the failed try
    (pausing, backing off), and says whether to go on."""
    tried = 1
    while True:
        verdict = await look_up(conversations, body, local_id, since)
        failure = verdict.failure if isinstance(verdict, Unknown) else None
        if failure is None or failure.verdict != "retry" or tried >= tries:
            return verdict
        if not await before_again(failure, tried):
            return verdict
        tried += 1


def conversation_of(body: Mapping[str, object]) -> tuple[str, int] | None:
    """The phone and inbox of a single send, whose history the API shows; None for a list
    broadcast, a chat_id or a group send."""
    phone, inbox = body.get("phone_number"), body.get("inbox_id")
    if isinstance(phone, str) and phone and type(inbox) is int:
        return phone, inbox
    return None


async def look_up(
    conversations: Conversations,
    body: Mapping[str, object],
    local_id: str,
    since: str | None = None,
) -> Verdict:
    """Whether the message of ``body`` was committed under ``local_id`` by an attempt made
    from ``since`` on (an ISO time; None: at any time)."""
    where = conversation_of(body)
    if where is None:
        return Unknown("a list broadcast, chat_id or group send has no conversation to search")
    phone, inbox = where
    earliest = unix_time(since)
    earliest = None if earliest is None else earliest - CLOCK_SKEW
    before: int | None = None
    for _ in range(PAGES):
        page = await conversations.messages(phone, inbox, before)
        if page.failure is not None:
            return Unknown(f"the lookup failed: {page.failure.error}", page.failure)
        found = _match(page, local_id, earliest)
        if found is not None:
            return found
        before = _oldest(page.messages)
        if len(page.messages) < PAGE or _older(before, earliest):
            return NotFound()  # the last page, or the pages left are older than the attempt
        if before is None:
            return Unknown("the history's dates cannot be read, so its older pages cannot be")
    return Unknown(f"the conversation holds more than {PAGES * PAGE} newer messages")


def _match(page: Page, local_id: str, earliest: int | None) -> Found | None:
    """The page's message with this ``local_id``, dated from ``earliest`` on."""
    for message in page.messages:
        if message.get("local_id") != local_id or type(message.get("id")) is not int:
            continue
        date = message.get("date")
        dated = unix_time(date)
        if earliest is not None and dated is not None and dated < earliest:
            continue  # the same key sent before this run's attempts: another send
        # A date that cannot be read cannot say it is another send: it is taken for this one
        # (sending again would be the worse mistake).
        return Found(
            message["id"],  # type: ignore[arg-type] # checked above
            date if isinstance(date, str) else None,
            page.request_id,
        )
    return None


def _older(before: int | None, earliest: int | None) -> bool:
    """Whether the pages before ``before`` are all older than ``earliest``."""
    return before is not None and earliest is not None and before <= earliest


def _oldest(messages: Sequence[Mapping[str, object]]) -> int | None:
    """The unix second of the page's oldest message (the next page is older than it); a
    message of the same second on the page before is missed by the API's own paging, so the
    next page starts one second later."""
    seconds = [unix_time(message.get("date")) for message in messages]
    if not seconds or any(second is None for second in seconds):
        return None
    return min(s for s in seconds if s is not None) + 1


def unix_time(date: object) -> int | None:
    """An ISO time with its offset as unix seconds; None when it is not one."""
    moment = aware_time(date)
    return None if moment is None else math.floor(moment.timestamp())
