from __future__ import annotations

import time
from typing import Any, cast

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from broadcaster.rate import Rate
from broadcaster.sandbox import FAULT_KINDS, STATE, SandboxConfig, SandboxState, create_app
from broadcaster.sandbox.state import mean_rate, peak_per_second
from broadcaster.tokens import make_token

AUTH = {"Authorization": "Bearer test-key"}
SMS = {"inbox_id": 101, "creator_id": 55, "phone_number": "14155550100", "text": "Hi"}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """A sleep that returns at once and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def sandbox(aiohttp_client: AiohttpClient, **options: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(SandboxConfig(**options)))


def state_of(client: TestClient[Any, Any]) -> SandboxState:
    assert client.app is not None
    return cast("SandboxState", client.app[STATE])


async def send(client: TestClient[Any, Any], body: object, **kwargs: Any) -> tuple[int, Any]:
    response = await client.post("/v1/message/send", json=body, headers=AUTH, **kwargs)
    assert response.headers["X-Request-Id"]
    text = await response.text()
    try:
        return response.status, await response.json(content_type=None)
    except ValueError:
        return response.status, text


class TestSend:
    async def test_success_returns_id_date_and_gallery(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, wall_clock=lambda: 1_780_000_000.0)
        status, body = await send(client, SMS)
        assert (status, body) == (
            200,
            {"id": 1, "date": "2026-05-28T20:26:40+00:00", "gallery_url": None},
        )
        status, body = await send(client, {**SMS, "media_url": "https://x.test/a.png"})
        assert body["gallery_url"] == "https://sandbox.heymarket.invalid/gallery/2"
        assert state_of(client).committed == 2

    async def test_the_documented_example_body_is_accepted(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """The example from the API reference page is accepted as it stands."""
        client = await sandbox(aiohttp_client)
        example = {
            "inbox_id": 101,
            "creator_id": 55,
            "phone_number": "14155551234",
            "text": "Hi! Your appointment is confirmed for tomorrow at 10am.",
        }
        status, body = await send(client, example)
        assert status == 200
        assert set(body) == {"id", "date", "gallery_url"}

    async def test_every_response_has_a_request_id(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client)
        first = await client.post("/v1/message/send", json=SMS)
        second = await client.get("/v1/inboxes", headers=AUTH)
        ids = {first.headers["X-Request-Id"], second.headers["X-Request-Id"]}
        assert len(ids) == 2


class TestRules:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"inbox_id": None}, "inbox_id: is required"),
            ({"creator_id": None}, "creator_id: is required"),
            ({"inbox_id": "101"}, "inbox_id: must be an integer"),
            ({"inbox_id": True}, "inbox_id: must be an integer"),
            ({"phone_number": None}, "phone_number: provide one of"),
            ({"chat_id": 5}, "chat_id: provide only one of phone_number, chat_id"),
            ({"phone_number": None, "list_id": 9}, "local_id: is required with list_id"),
            ({"text": None}, "text: provide text, media_url, template_id or survey_id"),
            ({"phone_number": "+14155550100"}, "phone_number: '+14155550100' is not E.164 digits"),
            ({"phone_number": "4155550100"}, "phone_number: '4155550100' is not E.164 digits"),
            ({"phone_number": 14155550100}, "phone_number: must be a string"),
            ({"media_url": "ftp://x/y"}, "media_url: must be a public http(s) URL"),
            ({"private": "yes"}, "private: must be a boolean"),
            ({"phone_number": None, "targets": ["14155550100", 5]}, "targets: must be an array"),
            ({"phone_number": None, "targets": ["1415"]}, "phone_number: '1415' is not E.164"),
        ],
    )
    async def test_bad_data_names_the_field(
        self, aiohttp_client: AiohttpClient, change: dict[str, object], field: str
    ) -> None:
        client = await sandbox(aiohttp_client)
        body = {name: value for name, value in {**SMS, **change}.items() if value is not None}
        status, payload = await send(client, body)
        assert status == 400
        assert payload["error"] == "bad_data"
        assert payload["message"].startswith(field)
        assert state_of(client).committed == 0

    async def test_a_list_broadcast_with_a_local_id_is_accepted(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client)
        body = {"inbox_id": 101, "creator_id": 55, "list_id": 9, "local_id": "k1", "template_id": 3}
        assert (await send(client, body))[0] == 200

    @pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
    async def test_body_must_be_a_json_object(
        self, aiohttp_client: AiohttpClient, raw: bytes
    ) -> None:
        client = await sandbox(aiohttp_client)
        response = await client.post("/v1/message/send", data=raw, headers=AUTH)
        assert response.status == 400
        assert (await response.json())["error"] == "bad_data"

    async def test_an_unknown_inbox_is_404_and_a_non_member_creator_400(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client)
        status, payload = await send(client, {**SMS, "inbox_id": 999})
        assert (status, payload["message"]) == (404, "inbox_id: no inbox 999")
        status, payload = await send(client, {**SMS, "creator_id": 57})
        assert (status, payload["message"]) == (400, "creator_id: 57 is not a member of inbox 101")

    async def test_opted_out_contact_fails(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, opted_out=frozenset({"14155550100"}))
        status, payload = await send(client, SMS)
        assert status == 400
        assert "opted out" in payload["message"]


class TestAuth:
    async def test_no_bearer_token_is_401(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client)
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
            response = await client.post("/v1/message/send", json=SMS, headers=headers)
            assert response.status == 401
        assert state_of(client).unauthorized == 3

    async def test_wrong_key_is_401_when_a_key_is_set(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, api_key="right")
        response = await client.post("/v1/message/send", json=SMS, headers=AUTH)
        assert response.status == 401
        good = await client.post(
            "/v1/message/send", json=SMS, headers={"Authorization": "Bearer right"}
        )
        assert good.status == 200

    @pytest.mark.parametrize(
        ("secret", "age", "status"),
        [("KEY", 0, 200), ("KEY", 299, 200), ("KEY", 301, 401), ("KEY", -60, 401), ("BAD", 0, 401)],
    )
    async def test_a_jwt_passes_only_if_signed_with_the_key_and_still_fresh(
        self, aiohttp_client: AiohttpClient, secret: str, age: int, status: int
    ) -> None:
        """HS256 over ``ID||KEY`` with iss and iat, good for five minutes, not from the future."""
        now = 1_780_000_000
        client = await sandbox(
            aiohttp_client, secret_id="ID", secret_key="KEY", wall_clock=lambda: float(now)
        )
        token = make_token("ID", secret, now - age)
        response = await client.post(
            "/v1/message/send", json=SMS, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == status


class TestIdempotency:
    async def test_a_repeated_local_id_returns_the_original(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client)
        first = await send(client, {**SMS, "local_id": "k1"})
        again = await send(client, {**SMS, "local_id": "k1", "creator_id": 56})
        assert first == again
        state = state_of(client)
        assert (state.committed, state.duplicates, state.conflicts) == (1, 1, 0)
        assert list(state.messages) == ["k1"]

    async def test_a_reused_local_id_with_other_content_is_a_conflict(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        """Still sent once; the conflict counter exposes clashing keys to tests."""
        client = await sandbox(aiohttp_client)
        await send(client, {**SMS, "local_id": "k1"})
        status, _ = await send(client, {**SMS, "local_id": "k1", "text": "other"})
        state = state_of(client)
        assert (status, state.committed, state.conflicts) == (200, 1, 1)

    async def test_without_local_id_every_send_is_new(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client)
        await send(client, SMS)
        await send(client, SMS)
        assert state_of(client).committed == 2
        assert len(state_of(client).unkeyed) == 2


class TestRateLimit:
    async def test_the_limit_counts_requests_in_a_rolling_window(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        clock = FakeClock()
        client = await sandbox(aiohttp_client, rate_limit=Rate(3, 60), clock=clock)
        statuses = [(await send(client, SMS))[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        clock.now += 59.9
        assert (await send(client, SMS))[0] == 429
        clock.now += 0.1
        assert (await send(client, SMS))[0] == 200
        assert state_of(client).rate_limited == 2

    async def test_rejected_requests_do_not_use_up_the_window(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        clock = FakeClock()
        client = await sandbox(aiohttp_client, rate_limit=Rate(2, 1), clock=clock)
        for _ in range(10):
            await send(client, SMS)
        clock.now += 1
        assert (await send(client, SMS))[0] == 200

    async def test_retry_after_gives_the_time_left_only_when_asked(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        clock = FakeClock()
        plain = await sandbox(aiohttp_client, rate_limit=Rate(1, 60), clock=clock)
        await send(plain, SMS)
        response = await plain.post("/v1/message/send", json=SMS, headers=AUTH)
        assert response.status == 429
        assert "Retry-After" not in response.headers
        told = await sandbox(aiohttp_client, rate_limit=Rate(1, 60), clock=clock, retry_after=True)
        await send(told, SMS)
        clock.now += 20
        response = await told.post("/v1/message/send", json=SMS, headers=AUTH)
        assert response.headers["Retry-After"] == "40"

    async def test_zero_means_no_limit(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, rate_limit=Rate(0), clock=FakeClock())
        statuses = {(await send(client, SMS))[0] for _ in range(20)}
        assert statuses == {200}

    async def test_each_key_has_its_own_window(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client, rate_limit=Rate(1, 60), clock=FakeClock())
        await send(client, SMS)
        other = await client.post(
            "/v1/message/send", json=SMS, headers={"Authorization": "Bearer other"}
        )
        assert other.status == 200


class TestFaults:
    @pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("429", 429)])
    async def test_error_faults_commit_nothing(
        self, aiohttp_client: AiohttpClient, kind: str, status: int
    ) -> None:
        client = await sandbox(aiohttp_client, faults={kind: 1.0})
        assert (await send(client, SMS))[0] == status
        state = state_of(client)
        assert (state.committed, state.faults[kind]) == (0, 1)

    @pytest.mark.parametrize(("kind", "committed"), [("drop_before", 0), ("drop_after", 1)])
    async def test_a_dropped_connection_commits_only_when_dropped_after(
        self, aiohttp_client: AiohttpClient, kind: str, committed: int
    ) -> None:
        """The client sees the same failure either way; only the sandbox knows if it committed."""
        client = await sandbox(aiohttp_client, faults={kind: 1.0})
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.post("/v1/message/send", json={**SMS, "local_id": "k"}, headers=AUTH)
        assert state_of(client).committed == committed
        assert state_of(client).faults[kind] == 1

    async def test_slow_commits_then_waits(self, aiohttp_client: AiohttpClient) -> None:
        sleeps = Sleeps()
        client = await sandbox(aiohttp_client, faults={"slow": 1.0}, slow_delay=7.5, sleep=sleeps)
        assert (await send(client, SMS))[0] == 200
        assert sleeps.delays == [7.5]
        assert state_of(client).committed == 1

    async def test_bad_json_commits_and_answers_garbage(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client, faults={"bad_json": 1.0})
        status, body = await send(client, SMS)
        assert (status, body) == (200, "<html>upstream hiccup</html>")
        assert state_of(client).committed == 1

    async def test_latency_is_added_to_every_send(self, aiohttp_client: AiohttpClient) -> None:
        sleeps = Sleeps()
        client = await sandbox(aiohttp_client, latency=0.25, sleep=sleeps)
        await send(client, SMS)
        await send(client, SMS)
        assert sleeps.delays == [0.25, 0.25]

    async def test_faults_are_reproducible_by_seed(self, aiohttp_client: AiohttpClient) -> None:
        """Same seed, same faults; a mix hits at about the asked rates."""
        faults = {"500": 0.1, "503": 0.1, "429": 0.1, "bad_json": 0.1}

        async def statuses(seed: int) -> list[tuple[int, str]]:
            client = await sandbox(aiohttp_client, faults=faults, seed=seed)
            results = []
            for i in range(200):
                status, body = await send(client, {**SMS, "local_id": f"k{i}"})
                results.append((status, str(body)[:6]))
            return results

        first, again, other = await statuses(7), await statuses(7), await statuses(8)
        assert first == again != other
        hits = sum(1 for status, body in first if status != 200 or body.startswith("<html"))
        assert 50 <= hits <= 110

    async def test_the_stats_route_counts_requests_faults_and_commits(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        client = await sandbox(aiohttp_client, faults={"500": 1.0})
        await send(client, SMS)
        stats = await (await client.get("/_sandbox/stats")).json()
        assert stats["requests"] == 1
        assert stats["faults"] == {"500": 1}
        assert stats["committed"] == 0

    @pytest.mark.parametrize(
        "faults", [{"teapot": 0.1}, {"500": 1.5}, {"500": 0.6, "503": 0.6}, {"500": -0.1}]
    )
    def test_unknown_kinds_or_impossible_fault_rates_are_refused(
        self, faults: dict[str, float]
    ) -> None:
        with pytest.raises(ValueError, match="fault"):
            SandboxConfig(faults=faults)

    def test_every_kind_is_documented(self) -> None:
        assert set(FAULT_KINDS) == {
            "500",
            "503",
            "429",
            "drop_before",
            "drop_after",
            "slow",
            "bad_json",
        }


class TestInboxes:
    async def test_inboxes_carry_member_ids(self, aiohttp_client: AiohttpClient) -> None:
        client = await sandbox(aiohttp_client)
        response = await client.get("/v1/inboxes", headers=AUTH)
        inboxes = await response.json()
        assert inboxes[0]["id"] == 101
        assert [m["id"] for m in inboxes[0]["members"]] == [55, 56]
        assert (await client.get("/v1/inboxes")).status == 401


def test_fake_clock_is_not_the_real_one() -> None:
    """Guard for the tests above: the fake clock only moves when told."""
    clock = FakeClock(5.0)
    time.sleep(0)
    assert clock() == 5.0


class TestPacingAtTheServer:
    def test_peak_is_the_busiest_rolling_second_and_mean_spans_arrivals(self) -> None:
        """No arrivals have a peak of 0; one arrival has no mean rate."""
        arrivals = [0.0, 0.1, 0.2, 1.0, 1.05, 1.1, 3.0]
        assert peak_per_second(arrivals) == 5  # 0.1, 0.2, 1.0, 1.05, 1.1
        assert peak_per_second([]) == 0
        assert mean_rate(arrivals) == 2.0
        assert mean_rate([5.0]) is None

    async def test_the_stats_report_the_peak_and_mean_rate_of_arrivals(
        self, aiohttp_client: AiohttpClient
    ) -> None:
        clock = FakeClock()
        client = await sandbox(aiohttp_client, clock=clock)
        for _ in range(3):
            await send(client, SMS)
            clock.now += 0.5
        stats = await (await client.get("/_sandbox/stats")).json()
        assert (stats["peak_per_second"], stats["mean_rate"]) == (3, 2.0)
