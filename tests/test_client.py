from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from broadcaster.client import INBOXES_PATH, HttpSender, classify, fetch_json, parse_retry_after
from broadcaster.credentials import ApiKey, JwtCredentials
from broadcaster.errors import ApiError, CredentialsError
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
        url, port = str(server.make_url("")), server.port
        await server.close()
        async with HttpSender(url, ApiKey("k"), timeout=5, connections=4) as s:
            reply = await s.send(SMS)
        assert reply.verdict == "retry"
        assert not reply.connected
        assert reply.error == f"cannot connect to 127.0.0.1:{port}: Connection refused"


class TestMessages:
    """One page of a conversation's history, for looking a message in doubt up."""

    async def test_a_message_committed_whose_answer_was_lost_is_on_the_page(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        server = await server_for(aiohttp_server, faults={"drop_after": 1.0})
        async with HttpSender(str(server.make_url("")), ApiKey("k"), timeout=5, connections=4) as s:
            assert (await s.send(SMS)).verdict == "retry"
            page = await s.messages("14155550100", 101, None)
            other = await s.messages("14155550199", 101, None)
            older = await s.messages("14155550100", 101, 1)
        assert page.failure is None
        assert page.request_id is not None
        assert [(m["local_id"], m["phone"]) for m in page.messages] == [("k1", "14155550100")]
        assert (other.messages, older.messages) == ([], [])

    @pytest.mark.parametrize(
        ("status", "body", "verdict", "error"),
        [
            (429, b'{"error": "rate_limited"}', "retry", "HTTP 429 rate_limited"),
            (503, b"", "retry", "HTTP 503"),
            (404, b'{"error": "not_found"}', "failed", "HTTP 404 not_found"),
            (401, b'{"error": "unauthorized"}', "unauthorized", "HTTP 401 unauthorized"),
            (200, b'{"messages": []}', "retry", "HTTP 200 with a body that is not a list"),
            (200, b"[1, 2]", "retry", "HTTP 200 with a body that is not a list"),
            (200, OK, "retry", "HTTP 200 with a body that is not a list"),
        ],
    )
    async def test_an_answer_that_is_no_page_is_its_failure(
        self,
        aiohttp_server: AiohttpServer,
        status: int,
        body: bytes,
        verdict: str,
        error: str,
    ) -> None:
        async def answer(request: web.Request) -> web.Response:
            assert request.query["phoneNumber"] == "14155550100"
            assert request.query["inboxID"] == "101"
            assert request.query["timestamp"] == "1780000000"
            assert request.headers["Authorization"] == "Bearer k"
            return web.Response(status=status, body=body, headers={"X-Request-Id": "rq"})

        app = web.Application()
        app.router.add_get("/v1/messages", answer)
        server = await aiohttp_server(app)
        async with HttpSender(str(server.make_url("")), ApiKey("k"), timeout=5, connections=4) as s:
            page = await s.messages("14155550100", 101, 1_780_000_000)
        assert page.failure is not None
        assert (page.failure.verdict, page.request_id) == (verdict, "rq")
        assert (page.failure.error or "").startswith(error)

    async def test_nobody_listening_is_a_failure_that_pauses_everyone(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        server = await server_for(aiohttp_server)
        url = str(server.make_url(""))
        await server.close()
        async with HttpSender(url, ApiKey("k"), timeout=5, connections=4) as s:
            page = await s.messages("14155550100", 101, None)
        assert page.failure is not None
        assert page.failure.pauses_everyone


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def answering(aiohttp_server: AiohttpServer, response: web.StreamResponse) -> str:
    """A server whose one route answers ``response``; its base URL."""

    async def handler(_: web.Request) -> web.StreamResponse:
        return response

    app = web.Application()
    app.router.add_get(INBOXES_PATH, handler)
    return str((await aiohttp_server(app)).make_url(""))


class TestFetchJson:
    async def test_returns_the_parsed_body_and_sends_the_credentials(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        server = await server_for(aiohttp_server, api_key="right")
        payload = await fetch_json(
            str(server.make_url("")), INBOXES_PATH, ApiKey("right"), timeout=5
        )
        assert isinstance(payload, list)
        assert [inbox["id"] for inbox in payload] == [101, 102]

    @pytest.mark.parametrize("status", [401, 403])
    async def test_a_refusal_names_where_the_credentials_came_from_not_their_value(
        self, aiohttp_server: AiohttpServer, status: int
    ) -> None:
        body = web.json_response({"error": "unauthorized", "message": "no"}, status=status)
        url = await answering(aiohttp_server, body)
        creds = ApiKey("s3cret", source="HEYMARKET_API_KEY")
        with pytest.raises(CredentialsError) as err:
            await fetch_json(url, INBOXES_PATH, creds, timeout=5)
        assert str(err.value) == (
            f"the API refused the credentials (HTTP {status} unauthorized: no): "
            "check HEYMARKET_API_KEY"
        )

    async def test_other_errors_give_the_url_status_excerpt_and_request_id(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        response = web.Response(status=500, text="x" * 5000, headers={"X-Request-Id": "r-7"})
        url = await answering(aiohttp_server, response)
        with pytest.raises(ApiError) as err:
            await fetch_json(url, INBOXES_PATH, ApiKey("k"), timeout=5)
        message = str(err.value)
        assert message.startswith(f"GET {url.rstrip('/')}/v1/inboxes: HTTP 500: 'xxx")
        assert message.endswith("...' (request id r-7)")
        assert len(message) < 300

    async def test_a_redirect_is_not_followed_and_says_where_it_points(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        """Following it would carry the credentials to wherever the redirect points."""
        moved = web.Response(status=301, headers={"Location": "https://elsewhere.example/"})
        url = await answering(aiohttp_server, moved)
        with pytest.raises(ApiError, match=r"HTTP 301 \(redirected to https://elsewhere"):
            await fetch_json(url, INBOXES_PATH, ApiKey("k"), timeout=5)

    @pytest.mark.parametrize("body", [b"", b"<html>oops</html>", b'{"id": 1', b"\xff"])
    async def test_a_2xx_that_is_not_json_is_an_error(
        self, aiohttp_server: AiohttpServer, body: bytes
    ) -> None:
        url = await answering(aiohttp_server, web.Response(body=body))
        with pytest.raises(ApiError, match="HTTP 200 with a body that is not JSON: '"):
            await fetch_json(url, INBOXES_PATH, ApiKey("k"), timeout=5)

    async def test_a_refused_connection_is_said_plainly(self) -> None:
        port = closed_port()
        with pytest.raises(ApiError) as err:
            await fetch_json(f"http://127.0.0.1:{port}", INBOXES_PATH, ApiKey("k"), timeout=5)
        assert str(err.value) == (
            f"GET http://127.0.0.1:{port}/v1/inboxes: cannot connect to 127.0.0.1:{port}: "
            "Connection refused"
        )

    async def test_a_tls_failure_says_the_tls_error_not_an_errno(
        self, aiohttp_server: AiohttpServer
    ) -> None:
        """OpenSSL's error codes are not errnos: code 1 is no "Operation not permitted"."""
        server = await server_for(aiohttp_server)
        url = f"https://127.0.0.1:{server.port}"
        with pytest.raises(ApiError) as err:
            await fetch_json(url, INBOXES_PATH, ApiKey("k"), timeout=5)
        assert str(err.value).startswith(
            f"GET {url}/v1/inboxes: cannot connect to 127.0.0.1:{server.port}: [SSL"
        )

    async def test_no_answer_in_time_is_an_error(self, aiohttp_server: AiohttpServer) -> None:
        release = asyncio.Event()

        async def stalled(_: web.Request) -> web.Response:
            await release.wait()
            return web.json_response([])

        app = web.Application()
        app.router.add_get(INBOXES_PATH, stalled)
        url = str((await aiohttp_server(app)).make_url(""))
        try:
            with pytest.raises(ApiError, match=r"no response within 0\.05s$"):
                await fetch_json(url, INBOXES_PATH, ApiKey("k"), timeout=0.05)
        finally:
            release.set()
