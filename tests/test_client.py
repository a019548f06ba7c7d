from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from broadcaster.client import HttpSender, classify, parse_retry_after
from broadcaster.credentials import ApiKey, JwtCredentials
from broadcaster.outcome import Reply
from broadcaster.sandbox import SandboxConfig, create_app

NOW = 1_780_000_000.0
SMS = {
    "inbox_id": 101,
    "creator_id": 55,
    "phone_number": "14155550100",
    "text": "Hi",
    "local_id": "k1",
}
OK = b'{"id": 9, "date": "2026-05-28T20:26:40+00:00", "gallery_url": null}'


class TestClassify:
    def test_a_readable_2xx_is_sent_with_its_ids_and_date(self) -> None:
        reply = classify(200, {"X-Request-Id": "r1"}, OK, NOW)
        assert reply == Reply("sent", 200, "r1", 9, "2026-05-28T20:26:40+00:00", None)

    @pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b'{"date": "x"}', b"[]"])
    def test_unreadable_2xx_is_retried(self, body: bytes) -> None:
        reply = classify(200, {}, body, NOW)
        assert reply.verdict == "retry"
        assert reply.error is not None
        assert reply.error.startswith("HTTP 200 with an unreadable body")

    @pytest.mark.parametrize("status", [400, 403, 404, 422, 405, 409, 302])
    def test_refusals_fail_at_once_with_the_api_text(self, status: int) -> None:
        body = b'{"error": "bad_data", "message": "phone_number: opted out"}'
        reply = classify(status, {"X-Request-Id": "r2"}, body, NOW)
        assert reply == Reply(
            "failed", status, "r2", error=f"HTTP {status} bad_data: phone_number: opted out"
        )

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    def test_timeouts_throttling_and_server_errors_are_retried(self, status: int) -> None:
        assert classify(status, {}, b"busy", NOW).verdict == "retry"

    def test_401_is_unauthorized(self) -> None:
        assert classify(401, {}, b'{"error":"unauthorized"}', NOW).verdict == "unauthorized"

    def test_retry_after_pauses_everyone_429_too(self) -> None:
        assert classify(503, {"Retry-After": "4"}, b"", NOW).pauses_everyone
        assert classify(429, {}, b"", NOW).pauses_everyone
        assert not classify(503, {}, b"", NOW).pauses_everyone

    def test_long_bodies_are_cut(self) -> None:
        reply = classify(500, {}, b"x" * 5000, NOW)
        assert reply.error is not None
        assert len(reply.error) < 300


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("7", 7.0),
            (" 0 ", 0.0),
            ("Thu, 28 May 2026 20:27:10 GMT", 30.0),
            ("Thu, 28 May 2026 20:00:00 GMT", 0.0),  # in the past: no wait
            ("soon", None),
            ("-3", None),
            (None, None),
        ],
    )
    def test_seconds_or_an_http_date_give_the_wait_and_anything_else_none(
        self, value: str | None, seconds: float | None
    ) -> None:
        """NOW is Thu, 28 May 2026 20:26:40 GMT."""
        assert parse_retry_after(value, NOW) == seconds


async def server_for(aiohttp_server: AiohttpServer, **options: Any) -> TestServer:
    return await aiohttp_server(create_app(SandboxConfig(**options)))


class TestHttpSender:
    async def test_sends_and_records_the_request_id(self, aiohttp_server: AiohttpServer) -> None:
        server = await server_for(aiohttp_server)
        async with HttpSender(str(server.make_url("")), ApiKey("k"), timeout=5, connections=4) as s:
            reply = await s.send(SMS)
        assert reply.verdict == "sent"
        assert reply.request_id is not None
        assert len(reply.request_id) == 32

    async def test_jwt_credentials_are_accepted_and_a_wrong_key_is_unauthorized(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        server = await server_for(aiohttp_server, secret_id="team", secret_key="s3cret")
        creds = JwtCredentials("team", "s3cret")
        async with HttpSender(str(server.make_url("")), creds, timeout=5, connections=4) as s:
            assert (await s.send(SMS)).verdict == "sent"
        wrong = JwtCredentials("team", "nope")
        async with HttpSender(str(server.make_url("")), wrong, timeout=5, connections=4) as s:
            assert (await s.send(SMS)).verdict == "unauthorized"

    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            ("drop_before", "the server closed the connection without a response"),
            ("drop_after", "the server closed the connection without a response"),
            ("bad_json", "HTTP 200 with an unreadable body: '<html>upstream hiccup</html>'"),
            ("503", "HTTP 503 server_error: injected 503"),
        ],
    )
    async def test_faults_become_retries(
        self, aiohttp_server: AiohttpServer, fault: str, error: str
    ) -> None:
        server = await server_for(aiohttp_server, faults={fault: 1.0})
        async with HttpSender(str(server.make_url("")), ApiKey("k"), timeout=5, connections=4) as s:
            reply = await s.send(SMS)
        assert (reply.verdict, reply.error) == ("retry", error)

    async def test_timeout_is_a_retry(self, aiohttp_server: AiohttpServer) -> None:
        server = await server_for(aiohttp_server, faults={"slow": 1.0}, slow_delay=5.0)
        async with HttpSender(
            str(server.make_url("")), ApiKey("k"), timeout=0.05, connections=4
        ) as s:
            reply = await s.send(SMS)
        assert (reply.verdict, reply.error) == ("retry", "no response within 0.05s")

    async def test_nobody_listening_is_a_retry(self, aiohttp_server: AiohttpServer) -> None:
        server = await server_for(aiohttp_server)
        url = str(server.make_url(""))
        await server.close()
        async with HttpSender(url, ApiKey("k"), timeout=5, connections=4) as s:
            reply = await s.send(SMS)
        assert reply.verdict == "retry"
        assert reply.error is not None
        assert reply.error.startswith("cannot connect")
