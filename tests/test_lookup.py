"""Looking a message in doubt up in its conversation: matching, paging, and what cannot tell."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from broadcaster.lookup import (
    CLOCK_SKEW,
    PAGE,
    PAGES,
    Found,
    NotFound,
    Page,
    Unknown,
    conversation_of,
    look_up,
)
from broadcaster.outcome import Reply

BODY = {"phone_number": "14155550100", "inbox_id": 101, "creator_id": 55, "text": "Hi"}
T0 = 1_780_000_000


def message(n: int, local_id: str | None, unix: int) -> dict[str, object]:
    date = datetime.fromtimestamp(unix, UTC).isoformat()
    return {"id": n, "local_id": local_id, "date": date, "phone": "14155550100"}


class History:
    """A conversation of ``count`` messages, one a second, newest last; pages as the API."""

    def __init__(self, count: int, failure: Reply | None = None) -> None:
        self.stored = [message(n, f"k{n}", T0 + n * 2) for n in range(count)]
        self.failure = failure
        self.asked: list[tuple[str, int, int | None]] = []

    async def messages(self, phone: str, inbox: int, before: int | None) -> Page:
        self.asked.append((phone, inbox, before))
        if self.failure is not None:
            return Page(failure=self.failure)
        older = [m for m in self.stored if before is None or _second(m) < before]
        return Page(older[::-1][:PAGE], request_id=f"r{len(self.asked)}")


def _second(m: Mapping[str, object]) -> int:
    return int(datetime.fromisoformat(str(m["date"])).timestamp())


async def test_found_on_the_first_page_with_its_id_date_and_the_lookup_request_id() -> None:
    history = History(10)
    verdict = await look_up(history, BODY, "k7")
    assert verdict == Found(7, datetime.fromtimestamp(T0 + 14, UTC).isoformat(), "r1")
    assert history.asked == [("14155550100", 101, None)]


async def test_not_found_when_a_page_short_of_full_ends_the_conversation() -> None:
    history = History(10)
    assert await look_up(history, BODY, "k-other") == NotFound()
    assert len(history.asked) == 1


async def test_older_pages_are_read_from_the_oldest_date_seen() -> None:
    """120 messages: the one wanted is on the third page."""
    history = History(120)
    verdict = await look_up(history, BODY, "k5")
    assert isinstance(verdict, Found)
    assert verdict.id == 5
    assert len(history.asked) == 3
    # The next page starts at the oldest date seen, one second on: a message of the same
    # second is not missed (the API's own paging is strictly before).
    assert history.asked[1][2] == _second(history.stored[70]) + 1


async def test_a_conversation_busier_than_the_pages_read_cannot_tell() -> None:
    history = History(PAGE * PAGES + 10)
    verdict = await look_up(history, BODY, "k0")
    assert verdict == Unknown(f"the conversation holds more than {PAGES * PAGE} newer messages")
    assert len(history.asked) == PAGES


async def test_a_failed_lookup_cannot_tell_and_carries_its_reply() -> None:
    throttled = Reply("retry", 429, error="HTTP 429 rate_limited")
    verdict = await look_up(History(3, failure=throttled), BODY, "k1")
    assert verdict == Unknown("the lookup failed: HTTP 429 rate_limited", throttled)


async def test_unreadable_dates_on_a_full_page_cannot_tell() -> None:
    history = History(PAGE)
    for m in history.stored:
        m["date"] = "yesterday"
    verdict = await look_up(history, BODY, "k-none")
    assert isinstance(verdict, Unknown)
    assert "dates cannot be read" in verdict.why


async def test_a_match_needs_an_integer_id() -> None:
    history = History(3)
    history.stored[1]["id"] = "1"
    assert await look_up(history, BODY, "k1") == NotFound()


async def test_only_single_sends_have_a_conversation() -> None:
    assert conversation_of(BODY) == ("14155550100", 101)
    for other in ({"chat_id": 9, "inbox_id": 101}, {"list_id": 3, "inbox_id": 101}):
        assert conversation_of(other) is None
        verdict = await look_up(History(3), other, "k1")
        assert isinstance(verdict, Unknown)
    assert conversation_of({"targets": ["14155550100"], "inbox_id": 101}) is None
    assert conversation_of({"phone_number": "14155550100", "inbox_id": "101"}) is None


async def test_a_message_dated_before_the_first_attempt_is_another_send() -> None:
    """The same key sent last week (the same campaign and message) is not this attempt's:
    only a message dated from the first attempt on, less the clock skew allowed, is."""
    history = History(10)  # dated T0 .. T0 + 18
    since = datetime.fromtimestamp(T0 + 18 + CLOCK_SKEW + 1, UTC).isoformat()
    assert await look_up(history, BODY, "k9", since) == NotFound()
    within = datetime.fromtimestamp(T0 + 18 + CLOCK_SKEW, UTC).isoformat()
    verdict = await look_up(history, BODY, "k9", within)
    assert isinstance(verdict, Found)
    assert verdict.id == 9


async def test_paging_stops_once_the_pages_are_older_than_the_first_attempt() -> None:
    history = History(PAGE * PAGES + 10)
    since = datetime.fromtimestamp(T0 + 2 * (PAGE * PAGES) + CLOCK_SKEW, UTC).isoformat()
    assert await look_up(history, BODY, "k0", since) == NotFound()
    assert len(history.asked) == 1


async def test_an_empty_conversation_is_not_found() -> None:
    assert await look_up(History(0), BODY, "k1", "2026-11-26T10:00:00+00:00") == NotFound()


async def test_a_match_whose_date_cannot_be_read_is_taken_for_this_one() -> None:
    """The API's date format is not documented: a date that cannot be read cannot say the
    message is another send, and sending again would be the worse mistake."""
    history = History(3)
    history.stored[1]["date"] = "2026-05-28T20:26:41"  # no offset
    verdict = await look_up(history, BODY, "k1", "2026-11-26T10:00:00+00:00")
    assert isinstance(verdict, Found)
    assert verdict.id == 1
