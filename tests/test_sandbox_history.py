"""The sandbox's ``GET /v1/messages``: a conversation's history, and ``dedupe="lists"``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from test_sandbox import AUTH, SMS, FakeClock, sandbox, send, state_of

from broadcaster.rate import Rate
from broadcaster.sandbox import SandboxConfig
from broadcaster.sandbox.state import Committed, Conversation
from broadcaster.tokens import make_token

PHONE = "14155550100"  # SMS's
OTHER = "14155550101"


async def history(
    client: TestClient[Any, Any], headers: dict[str, str] | None = None, **params: str | int
) -> tuple[int, Any]:
    query = {"phoneNumber": PHONE, "inboxID": "101", **{k: str(v) for k, v in params.items()}}
    response = await client.get(
        "/v1/messages", params=query, headers=AUTH if headers is None else headers
    )
    assert response.headers["X-Request-Id"]
    return response.status, await response.json()


def unix(date: str) -> int:
    return int(datetime.fromisoformat(date).timestamp())


class TestHistory:
    async def test_a_single_send_is_in_its_conversation_as_a_message(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client, wall_clock=lambda: 1_780_000_000.0)
        _, sent = await send(client, {**SMS, "local_id": "k1"})
        status, messages = await history(client)
        assert status == 200
        assert messages == [
            {
                "id": sent["id"],
                "local_id": "k1",
                "date": sent["date"],
                "phone": PHONE,
                "text": "Hi",
                "status": "sent",
                "type": "text",
                "broadcast_id": None,
                "conversation": {"id": 1, "inbox": 101, "target": PHONE},
            }
        ]

    async def test_messages_come_newest_first_each_in_its_own_conversation(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """A phone's conversation is per inbox; its id stays the same from message to message."""
        client = await sandbox(aiohttp_client)
        first = (await send(client, SMS))[1]["id"]
        await send(client, {**SMS, "phone_number": OTHER})
        await send(client, {**SMS, "inbox_id": 102, "creator_id": 57})
        media = (await send(client, {**SMS, "media_url": "https://x.test/a.png"}))[1]["id"]
        _, messages = await history(client)
        assert [(m["id"], m["type"], m["local_id"]) for m in messages] == [
            (media, "media", None),
            (first, "text", None),
        ]
        assert {m["conversation"]["id"] for m in messages} == {1}
        _, elsewhere = await history(client, inboxID=102)
        _, other = await history(client, phoneNumber=OTHER)
        assert [m["conversation"] for m in elsewhere] == [{"id": 3, "inbox": 102, "target": PHONE}]
        assert [m["phone"] for m in other] == [OTHER]

    async def test_at_most_fifty_the_newest(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, rate_limit=Rate(0))
        for n in range(60):
            await send(client, {**SMS, "local_id": f"k{n}"})
        _, messages = await history(client)
        assert [m["local_id"] for m in messages] == [f"k{n}" for n in range(59, 9, -1)]

    async def test_timestamp_gives_the_messages_strictly_older(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        wall = FakeClock(1_780_000_000.0)
        client = await sandbox(aiohttp_client, wall_clock=wall)
        for step in (0.0, 0.7, 0.3, 1.0):  # dated :00, :00, :01, :02
            wall.now += step
            await send(client, {**SMS, "local_id": f"at{wall.now - 1_780_000_000:g}"})
        _, messages = await history(client, timestamp=1_780_000_001)
        assert [m["local_id"] for m in messages] == ["at0.7", "at0"]
        _, none = await history(client, timestamp=1_780_000_000)
        assert none == []

    async def test_paging_by_the_oldest_date_reads_the_whole_conversation(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        wall = FakeClock(1_780_000_000.0)
        client = await sandbox(aiohttp_client, rate_limit=Rate(0), wall_clock=wall)
        for n in range(120):
            wall.now += 1
            await send(client, {**SMS, "local_id": f"k{n}"})
        sizes, read = [], []
        _, page = await history(client)
        while page:
            sizes.append(len(page))
            read += [m["local_id"] for m in page]
            _, page = await history(client, timestamp=unix(page[-1]["date"]))
        assert sizes == [50, 50, 20]
        assert read == [f"k{n}" for n in range(119, -1, -1)]

    async def test_an_inbox_that_never_wrote_to_the_phone_has_none(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client)
        await send(client, SMS)
        assert await history(client, phoneNumber=OTHER) == (200, [])
        assert await history(client, inboxID=102) == (200, [])

    async def test_group_chat_and_list_sends_are_in_no_conversation(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """Nothing looks them up; they commit all the same, and history does not trip on them."""
        client = await sandbox(aiohttp_client)
        base = {"inbox_id": 101, "creator_id": 55, "text": "Hi"}
        for target in (
            {"targets": [PHONE, OTHER]},
            {"chat_id": 12},
            {"list_id": 9, "local_id": "list-1"},
        ):
            assert (await send(client, {**base, **target}))[0] == 200
        assert await history(client) == (200, [])
        assert state_of(client).committed == 3
        assert state_of(client).conversations == {}


class TestHistoryRequests:
    async def test_without_a_token_history_is_401(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, api_key="right")
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            status, payload = await history(client, headers=headers)
            assert (status, payload["error"]) == (401, "unauthorized")
        good = await history(client, headers={"Authorization": "Bearer right"})
        assert good == (200, [])
        assert state_of(client).unauthorized == 2

    async def test_a_fresh_jwt_reads_history(self, aiohttp_client: AiohttpClient) -> None:
        now = 1_780_000_000
        client = await sandbox(
            aiohttp_client, secret_id="ID", secret_key="KEY", wall_clock=lambda: float(now)
        )
        token = make_token("ID", "KEY", now)
        assert await history(client, headers={"Authorization": f"Bearer {token}"}) == (200, [])

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"phoneNumber": ""}, "phoneNumber: is required"),
            ({"phoneNumber": "+14155550100"}, "phoneNumber: '+14155550100' is not digits"),
            ({"phoneNumber": "1415555O100"}, "phoneNumber: '1415555O100' is not digits"),
            ({"inboxID": ""}, "inboxID: is required"),
            ({"inboxID": "-101"}, "inboxID: '-101' is not an integer"),
            ({"inboxID": "1" * 5000}, "inboxID: '111"),
            ({"timestamp": "yesterday"}, "timestamp: 'yesterday' is not unix seconds"),
            ({"timestamp": "1780000000.5"}, "timestamp: '1780000000.5' is not unix seconds"),
        ],
    )
    async def test_bad_parameters_are_bad_data_naming_the_parameter(
        self, aiohttp_client: AiohttpClient, params: dict[str, str], message: str
    ) -> None:
        client = await sandbox(aiohttp_client)
        status, payload = await history(client, None, **params)
        assert (status, payload["error"]) == (400, "bad_data")
        assert payload["message"].startswith(message)
        assert state_of(client).bad_requests == 1

    async def test_a_missing_parameter_is_bad_data(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client)
        for query in ({"inboxID": "101"}, {"phoneNumber": PHONE}):
            response = await client.get("/v1/messages", params=query, headers=AUTH)
            assert response.status == 400
            assert (await response.json())["message"].endswith(": is required")

    async def test_an_unknown_inbox_is_404_as_for_a_send(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client)
        status, payload = await history(client, inboxID=999)
        assert (status, payload) == (
            404,
            {"error": "not_found", "message": "inboxID: no inbox 999"},
        )

    async def test_history_shares_the_per_key_window_with_sends(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """The API limits every request of a key; only sends count as ``requests``."""
        clock = FakeClock()
        client = await sandbox(aiohttp_client, rate_limit=Rate(3, 60), clock=clock)
        await send(client, SMS)
        assert (await history(client))[0] == 200
        assert (await history(client))[0] == 200
        assert (await send(client, SMS))[0] == 429
        assert (await history(client))[0] == 429
        other = await history(client, headers={"Authorization": "Bearer other"})
        assert other[0] == 200
        clock.now += 60
        assert (await history(client))[0] == 200
        state = state_of(client)
        assert (state.rate_limited, state.history_requests, state.requests) == (2, 5, 2)
        stats = await (await client.get("/_sandbox/stats")).json()
        assert stats["history_requests"] == 5


class TestCommittedWithoutAnAnswer:
    async def test_a_send_dropped_after_its_commit_is_in_history(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """The client lost the answer; the conversation shows the message was committed."""
        client = await sandbox(aiohttp_client, faults={"drop_after": 1.0})
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.post("/v1/message/send", json={**SMS, "local_id": "lost"}, headers=AUTH)
        status, messages = await history(client)
        assert status == 200
        assert [(m["id"], m["local_id"]) for m in messages] == [(1, "lost")]

    async def test_a_send_dropped_before_its_commit_is_not(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client, faults={"drop_before": 1.0})
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.post("/v1/message/send", json={**SMS, "local_id": "lost"}, headers=AUTH)
        assert await history(client) == (200, [])

    async def test_history_draws_no_fault(self, aiohttp_client: AiohttpClient) -> None:
        """Reading history never fails on the faults meant for sends, nor shifts their draws."""
        client = await sandbox(aiohttp_client, faults={"500": 1.0})
        assert await history(client) == (200, [])
        assert state_of(client).faults == {}


class TestDedupe:
    async def test_lists_mode_commits_a_repeated_single_send_again(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """As an API that de-duplicates only list broadcasts would: counted as ``resent``."""
        client = await sandbox(aiohttp_client, dedupe="lists")
        first = await send(client, {**SMS, "local_id": "k1"})
        again = await send(client, {**SMS, "local_id": "k1"})
        assert (first[1]["id"], again[1]["id"]) == (1, 2)
        state = state_of(client)
        assert (state.committed, state.resent, state.duplicates) == (2, 1, 0)
        assert state.messages["k1"].id == 1  # the first one of the local_id
        _, messages = await history(client)
        assert [(m["id"], m["local_id"]) for m in messages] == [(2, "k1"), (1, "k1")]
        stats = await (await client.get("/_sandbox/stats")).json()
        assert stats["resent"] == 1

    async def test_lists_mode_still_deduplicates_list_broadcasts(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client, dedupe="lists")
        body = {"inbox_id": 101, "creator_id": 55, "list_id": 9, "local_id": "b1", "text": "Hi"}
        first, again = await send(client, body), await send(client, body)
        assert first == again
        state = state_of(client)
        assert (state.committed, state.duplicates, state.resent) == (1, 1, 0)

    async def test_all_mode_answers_a_repeat_with_the_first_message(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """The default: one message, whatever the target; ``resent`` stays 0."""
        client = await sandbox(aiohttp_client)
        first = await send(client, {**SMS, "local_id": "k1"})
        again = await send(client, {**SMS, "local_id": "k1", "text": "other"})
        assert first == again
        state = state_of(client)
        assert (state.committed, state.duplicates, state.conflicts, state.resent) == (1, 1, 1, 0)
        _, messages = await history(client)
        assert [(m["id"], m["text"]) for m in messages] == [(1, "Hi")]
        assert (await (await client.get("/_sandbox/stats")).json())["resent"] == 0

    def test_an_unknown_mode_is_refused(self) -> None:
        with pytest.raises(ValueError, match="dedupe must be one of all, lists"):
            SandboxConfig(dedupe="some")  # type: ignore[arg-type]


class TestConversation:
    def test_a_wall_clock_that_steps_back_keeps_the_history_in_date_order(self) -> None:
        conversation = Conversation(1, 101, PHONE)
        for message_id, second in ((1, 100), (2, 102), (3, 101), (4, 102)):
            conversation.add(Committed(message_id, {}, {}, 0.0, second))
        assert [r.id for r in conversation.page(None, 50)] == [4, 2, 3, 1]
        assert [r.id for r in conversation.page(102, 2)] == [3, 1]
        assert [r.id for r in conversation.page(None, 2)] == [4, 2]
